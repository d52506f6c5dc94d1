-- heartbeat: presence; last_seen only moves forward.
-- KEYS[1] = {p}:ids. ARGV: base, id, now. Returns {'ok', hash fields...} or {'unknown'}.
local id, now = ARGV[2], tonumber(ARGV[3])
local k = k_interp(id)
if redis.call('EXISTS', k) == 0 then
  return {'unknown'}
end
if now > num(redis.call('HGET', k, 'last_seen')) then
  redis.call('HSET', k, 'last_seen', ARGV[3])
end
return ok_with_state(id)
