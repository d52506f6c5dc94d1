-- call_end: ends a call's record (the first end and its reason stay).
-- KEYS[1] = {p}:nodes. ARGV: base, call, now, why, keep_ms.
-- Returns the record's hash fields, or false when the call is not recorded.
local call, now, why, keep_ms = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
if redis.call('EXISTS', k_call(call)) == 0 then
  return false
end
end_call(call, now, why, keep_ms)
return redis.call('HGETALL', k_call(call))
