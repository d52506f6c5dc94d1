-- call_open: records a live call held by a node. Idempotent: a known call is left as it is.
-- KEYS[1] = {p}:nodes. ARGV: base, call, node, now, token sha256. Returns 'opened' or 'exists'.
local call, node = ARGV[2], ARGV[3]
local k = k_call(call)
if redis.call('EXISTS', k) == 1 then
  return 'exists'
end
redis.call('HSET', k, 'node', node, 'created', ARGV[4], 'token', ARGV[5], 'state', 'live')
redis.call('SADD', k_node_calls(node), call)
return 'opened'
