-- upsert: inserts or replaces a profile, keeping live state; an empty token keeps the stored one.
-- KEYS[1] = {p}:ids. ARGV: base, id, profile JSON, token ('' = keep), languages (comma-separated).
local id, profile, token, csv = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = k_interp(id)

local new_langs = {}
for l in string.gmatch(csv, '[^,]+') do
  new_langs[l] = true
end
for _, l in ipairs(langs_of(id)) do
  if not new_langs[l] then
    redis.call('SREM', k_speakers(l), id)
    redis.call('ZREM', k_idle(l), id)
  end
end

if redis.call('EXISTS', k) == 0 then
  redis.call('HSET', k, 'status', 'offline', 'last_seen', 0, 'idle_since', 0, 'missed', 0,
    'calls_today', 0, 'calls_day', 0)
end
redis.call('HSET', k, 'profile', profile, 'langs', csv)
if token ~= '' then
  redis.call('HSET', k, 'token', token)
end
redis.call('SADD', k_ids(), id)

local status = redis.call('HGET', k, 'status')
local idle_since = num(redis.call('HGET', k, 'idle_since'))
for l in pairs(new_langs) do
  redis.call('SADD', k_speakers(l), id)
  if status == 'available' then
    redis.call('ZADD', k_idle(l), int(idle_since), id)
  end
end
return 'ok'
