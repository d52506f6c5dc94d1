-- remove: deletes an interpreter and its state; refused while offered or busy.
-- KEYS[1] = {p}:ids. ARGV: base, id. Returns 'removed', 'unknown' or 'engaged'.
local id = ARGV[2]
local k = k_interp(id)
if redis.call('EXISTS', k) == 0 then
  return 'unknown'
end
if engaged(redis.call('HGET', k, 'status')) then
  return 'engaged'
end
for _, l in ipairs(langs_of(id)) do
  redis.call('SREM', k_speakers(l), id)
  redis.call('ZREM', k_idle(l), id)
end
redis.call('DEL', k)
redis.call('SREM', k_ids(), id)
return 'removed'
