-- sweep_lost: frees what nodes whose lease expired (expiry <= now) held, exactly once: their live
-- offers are taken back (pending -> cancelled, accepted -> released, interpreter available at
-- once) and their live calls ended, each with a 'node_lost' audit event; then the node's lease
-- and lists are deleted, so a repeat finds nothing. At most `batch` nodes per call.
-- KEYS[1] = {p}:nodes. ARGV: base, now, keep_ms, batch.
-- Returns a flat list of 'offer', node, offer id, interp, call, lang, created, deadline, state
-- before ('pending'/'accepted') and 'call', node, call id entries, and the number of nodes
-- swept last.
local now, keep_ms, batch = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local lost = redis.call('ZRANGEBYSCORE', k_nodes(), '-inf', now, 'LIMIT', 0, batch)
for _, node in ipairs(lost) do
  local why = 'node ' .. node .. ' lost its lease; '
  for _, oid in ipairs(redis.call('SMEMBERS', k_node_offers(node))) do
    local o = take_back(oid, now, keep_ms)
    if o then
      audit('node_lost', now, o[2], o[1], o[3], oid, why .. o[6] .. ' offer ended')
      for _, v in ipairs({'offer', node, oid, o[1], o[2], o[3], o[4], o[5], o[6]}) do
        out[#out + 1] = v
      end
    end
  end
  redis.call('DEL', k_node_offers(node))
  for _, call in ipairs(redis.call('SMEMBERS', k_node_calls(node))) do
    if end_call(call, now, 'node_lost', keep_ms) then
      audit('node_lost', now, call, nil, nil, nil, why .. 'call ended')
      for _, v in ipairs({'call', node, call}) do
        out[#out + 1] = v
      end
    end
  end
  redis.call('DEL', k_node_calls(node))
  redis.call('ZREM', k_nodes(), node)
end
out[#out + 1] = tostring(#lost)
return out
