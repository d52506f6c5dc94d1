-- engagements: every interpreter offered or busy, with its offer and the node's lease (read only).
-- KEYS[1] = {p}:ids. ARGV: base.
-- Returns a flat list of interp, status, offer, offer state, call, lang, node, since (accepted or
-- created), lease expiry; '' = none.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', k_ids())) do
  local s = redis.call('HMGET', k_interp(id), 'status', 'offer', 'call')
  if engaged(s[1]) then
    local oid = s[2] or ''
    local o = {}
    if oid ~= '' then
      o = redis.call('HMGET', k_offer(oid), 'state', 'lang', 'node', 'created', 'accepted')
    end
    local node = o[3] or ''
    local lease = ''
    if node ~= '' then
      lease = redis.call('ZSCORE', k_nodes(), node) or ''
    end
    for _, v in ipairs({id, s[1], oid, o[1] or '', s[3] or '', o[2] or '', node, o[5] or o[4] or '',
        lease}) do
      out[#out + 1] = v
    end
  end
end
return out
