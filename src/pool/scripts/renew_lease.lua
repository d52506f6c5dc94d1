-- renew_lease: the node's lease runs until now + ttl. A node that held none (its first renewal,
-- or swept as lost meanwhile) takes one and hears 'started'.
-- KEYS[1] = {p}:nodes. ARGV: base, node, now, ttl_ms. Returns 'renewed' or 'started'.
local node, now, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local had = redis.call('ZSCORE', k_nodes(), node)
redis.call('ZADD', k_nodes(), int(now + ttl), node)
if had then
  return 'renewed'
end
return 'started'
