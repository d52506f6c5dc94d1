-- sweep: expires pending offers whose deadline is <= now, oldest deadline first, at most `batch`
-- of them per call. The interpreter goes back to available, or is paused after max_missed
-- consecutive expiries (0 = never paused).
-- KEYS[1] = {p}:deadlines. ARGV: base, now, max_missed, keep_ms, batch.
-- Returns a flat list: offer id, interp, call, lang, created, deadline, paused ('1'/'0'), ...
local now, max_missed = tonumber(ARGV[2]), tonumber(ARGV[3])
local keep_ms, batch = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
local due = redis.call('ZRANGEBYSCORE', k_deadlines(), '-inf', now, 'LIMIT', 0, batch)
for _, oid in ipairs(due) do
  local o = redis.call('HMGET', k_offer(oid), 'interp', 'call', 'lang', 'created', 'deadline',
    'state')
  if o[6] == 'pending' then
    local id = o[1]
    local k = k_interp(id)
    local paused = '0'
    if free_from(oid, id) then
      local missed = redis.call('HINCRBY', k, 'missed', 1)
      if max_missed > 0 and missed >= max_missed then
        make_unavailable(id, 'paused')
        paused = '1'
      end
    end
    end_offer(oid, 'expired', now, keep_ms)
    for _, v in ipairs({oid, o[1], o[2], o[3], o[4], o[5], paused}) do
      out[#out + 1] = v
    end
  else
    -- Not pending (cannot happen while the scripts keep their invariants): just forget it.
    redis.call('ZREM', k_deadlines(), oid)
  end
end
return out
