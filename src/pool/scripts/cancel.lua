-- cancel: withdraws a pending offer (interpreter back to available). Any other offer is left as
-- it is and its state returned, so a repeat returns 'cancelled' again.
-- KEYS[1] = {p}:deadlines. ARGV: base, offer id, now, keep_ms. Returns the state, or 'unknown'.
local oid, now, keep_ms = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local o = redis.call('HMGET', k_offer(oid), 'interp', 'state')
if not o[1] then
  return 'unknown'
end
if o[2] ~= 'pending' then
  return o[2]
end
free_from(oid, o[1])
end_offer(oid, 'cancelled', now, keep_ms)
return 'cancelled'
