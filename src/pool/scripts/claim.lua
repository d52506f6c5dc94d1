-- claim: offers the call to the first of the ordered candidates eligible now (speaks the language
-- and is available: in idle:<lang> with idle-since <= now; heartbeat within the TTL).
-- Idempotent: an existing offer id returns that offer, whatever its state.
-- The offer records the node that makes it (in node_offers:<node> while live).
-- KEYS[1] = {p}:deadlines. ARGV: base, offer id, call id, lang, now, deadline, ttl, node,
-- candidates...
-- Returns {interp, call, lang, created, deadline} of the offer, or false when nobody is eligible.
local oid, call, lang = ARGV[2], ARGV[3], ARGV[4]
local now, ttl, node = tonumber(ARGV[5]), tonumber(ARGV[7]), ARGV[8]
local ok = k_offer(oid)

local function reply()
  return redis.call('HMGET', ok, 'interp', 'call', 'lang', 'created', 'deadline')
end

if redis.call('EXISTS', ok) == 1 then
  return reply()
end
for i = 9, #ARGV do
  local id = ARGV[i]
  local idle_since = redis.call('ZSCORE', k_idle(lang), id)
  if idle_since and tonumber(idle_since) <= now then
    local k = k_interp(id)
    local seen = num(redis.call('HGET', k, 'last_seen'))
    if seen > 0 and seen + ttl >= now and redis.call('HGET', k, 'status') == 'available' then
      make_unavailable(id, 'offered')
      redis.call('HSET', k, 'offer', oid, 'call', call)
      redis.call('HSET', ok, 'interp', id, 'call', call, 'lang', lang, 'created', ARGV[5],
        'deadline', ARGV[6], 'state', 'pending', 'node', node)
      redis.call('SADD', k_node_offers(node), oid)
      redis.call('ZADD', k_deadlines(), ARGV[6], oid)
      return reply()
    end
  end
end
return false
