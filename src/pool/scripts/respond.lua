-- respond: accept (-> busy, counted in calls_today) or decline (-> available) by the offered
-- interpreter. A pending offer answered at or after its deadline is refused and left for sweep.
-- A repeat of the same answer returns it again.
-- KEYS[1] = {p}:deadlines. ARGV: base, offer id, by, accept (1/0), now, keep_ms, day_ms.
-- Returns {'ok', state} or {'unknown'} / {'not_yours'} / {'too_late'} / {'ended', state}.
local oid, by, accept = ARGV[2], ARGV[3], ARGV[4] == '1'
local now, keep_ms, day_ms = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local o = redis.call('HMGET', k_offer(oid), 'interp', 'state', 'deadline')
if not o[1] then
  return {'unknown'}
end
if o[1] ~= by then
  return {'not_yours'}
end
local state = o[2]
if state == 'pending' then
  if now >= num(o[3]) then
    return {'too_late'}
  end
  local k = k_interp(by)
  if accept then
    make_unavailable(by, 'busy')
    local day = math.floor(now / day_ms)
    if num(redis.call('HGET', k, 'calls_day')) ~= day then
      redis.call('HSET', k, 'calls_day', int(day), 'calls_today', 0)
    end
    redis.call('HINCRBY', k, 'calls_today', 1)
    redis.call('HSET', k, 'missed', 0)
    redis.call('HSET', k_offer(oid), 'state', 'accepted', 'accepted', int(now))
    redis.call('ZREM', k_deadlines(), oid)
    return {'ok', 'accepted'}
  end
  free_from(oid, by)
  redis.call('HSET', k, 'missed', 0)
  end_offer(oid, 'declined', now, keep_ms)
  return {'ok', 'declined'}
end
if state == 'accepted' and accept then
  return {'ok', 'accepted'}
end
if state == 'declined' and not accept then
  return {'ok', 'declined'}
end
if state == 'expired' then
  return {'too_late'}
end
return {'ended', state}
