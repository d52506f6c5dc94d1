-- force_release: an administrator frees an interpreter whatever holds them: their live offer is
-- taken back (pending -> cancelled, accepted -> released), they are available at once, and an
-- 'admin_release' audit event names who did it.
-- KEYS[1] = {p}:ids. ARGV: base, interp, now, keep_ms, by.
-- Returns {'unknown'}, {'not_held', status} or {'released', status before, offer, offer state
-- before, call, node} ('' = none).
local id, now, keep_ms, by = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local k = k_interp(id)
if redis.call('EXISTS', k) == 0 then
  return {'unknown'}
end
local s = redis.call('HMGET', k, 'status', 'offer', 'call')
if not engaged(s[1]) then
  return {'not_held', s[1] or 'offline'}
end
local oid, call = s[2] or '', s[3] or ''
local was, node, lang = '', '', ''
if oid ~= '' then
  local o = redis.call('HMGET', k_offer(oid), 'node', 'lang')
  node, lang = o[1] or '', o[2] or ''
  local taken = take_back(oid, now, keep_ms)
  if taken then
    was = taken[6]
  end
end
-- Whatever the offer said, the interpreter is free now.
make_available(id, now)
audit('admin_release', now, call, id, lang, oid, 'by ' .. by .. '; was ' .. s[1])
return {'released', s[1], oid, was, call, node}
