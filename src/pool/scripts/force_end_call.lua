-- force_end_call: an administrator ends a call: its record is ended ('admin_end_call') and every
-- live offer its node made for it is taken back (interpreters available at once), each audited
-- with who did it.
-- KEYS[1] = {p}:nodes. ARGV: base, call, now, keep_ms, by.
-- Returns {'unknown'} or {'ended', node, state before ('live'/'ended'), then interp, offer, offer
-- state before, ... for each interpreter freed}.
local call, now, keep_ms, by = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local r = redis.call('HMGET', k_call(call), 'node', 'state')
if not r[1] then
  return {'unknown'}
end
local node = r[1]
local out = {'ended', node, r[2]}
for _, oid in ipairs(redis.call('SMEMBERS', k_node_offers(node))) do
  if redis.call('HGET', k_offer(oid), 'call') == call then
    local o = take_back(oid, now, keep_ms)
    if o then
      audit('admin_release', now, call, o[1], o[3], oid, 'by ' .. by .. '; call ended')
      for _, v in ipairs({o[1], oid, o[6]}) do
        out[#out + 1] = v
      end
    end
  end
end
if end_call(call, now, 'admin_end_call', keep_ms) then
  audit('admin_end_call', now, call, nil, nil, nil, 'by ' .. by)
end
return out
