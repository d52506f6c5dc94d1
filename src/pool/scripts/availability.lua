-- availability: the interpreter sets available / paused / offline (also refreshes presence).
-- KEYS[1] = {p}:ids. ARGV: base, id, to, now. Returns {'ok', hash fields...}, {'unknown'} or {'engaged'}.
local id, to, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local k = k_interp(id)
if redis.call('EXISTS', k) == 0 then
  return {'unknown'}
end
local status = redis.call('HGET', k, 'status')
if engaged(status) then
  return {'engaged'}
end
if now > num(redis.call('HGET', k, 'last_seen')) then
  redis.call('HSET', k, 'last_seen', ARGV[4])
end
if to == 'available' then
  local idle_since = num(redis.call('HGET', k, 'idle_since'))
  if status ~= 'available' and now > idle_since then
    idle_since = now
  end
  make_available(id, idle_since)
  redis.call('HSET', k, 'missed', 0)
else
  make_unavailable(id, to)
end
return ok_with_state(id)
