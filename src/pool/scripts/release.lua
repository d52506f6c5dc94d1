-- release: ends the call of an accepted (or still pending) offer: the interpreter goes to wrap-up
-- until now + wrap_up_ms. An ended offer is left as it is and its state returned.
-- KEYS[1] = {p}:deadlines. ARGV: base, offer id, now, wrap_up_ms, keep_ms.
-- Returns the state, or 'unknown'.
local oid, now = ARGV[2], tonumber(ARGV[3])
local wrap_up_ms, keep_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local o = redis.call('HMGET', k_offer(oid), 'interp', 'state')
if not o[1] then
  return 'unknown'
end
if o[2] ~= 'pending' and o[2] ~= 'accepted' then
  return o[2]
end
if redis.call('HGET', k_interp(o[1]), 'offer') == oid then
  make_available(o[1], now + wrap_up_ms)
end
end_offer(oid, 'released', now, keep_ms)
return 'released'
