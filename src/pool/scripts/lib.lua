-- Shared prelude of every pool script (prepended by redis.rs). Key names mirror src/pool/keys.rs;
-- ARGV[1] is the tagged base "{prefix}:". Only names and small helpers: no transition lives here.
local base = ARGV[1]

local function k_ids() return base .. 'ids' end
local function k_interp(id) return base .. 'interp:' .. id end
local function k_speakers(lang) return base .. 'lang:' .. lang end
local function k_idle(lang) return base .. 'idle:' .. lang end
local function k_offer(oid) return base .. 'offer:' .. oid end
local function k_deadlines() return base .. 'deadlines' end
local function k_events() return base .. 'events' end
local function k_nodes() return base .. 'nodes' end
local function k_node_offers(node) return base .. 'node_offers:' .. node end
local function k_node_calls(node) return base .. 'node_calls:' .. node end
local function k_call(call) return base .. 'call:' .. call end

-- Approximate length of the events stream; mirrors EVENTS_KEPT in keys.rs (a test checks).
local EVENTS_KEPT = 100000

local function num(v)
  return tonumber(v) or 0
end

-- A whole number as decimal text: Redis may turn a Lua number argument into exponent notation,
-- which the Rust side would not read as an integer.
local function int(n)
  return string.format('%d', n)
end

-- The interpreter's languages, from the comma-separated `langs` field.
local function langs_of(id)
  local out = {}
  local csv = redis.call('HGET', k_interp(id), 'langs')
  if csv then
    for l in string.gmatch(csv, '[^,]+') do
      out[#out + 1] = l
    end
  end
  return out
end

-- Status `available` (idle since `idle_since`, in the future during wrap-up): in the idle sets.
local function make_available(id, idle_since)
  redis.call('HSET', k_interp(id), 'status', 'available', 'idle_since', int(idle_since))
  redis.call('HDEL', k_interp(id), 'offer', 'call')
  for _, l in ipairs(langs_of(id)) do
    redis.call('ZADD', k_idle(l), int(idle_since), id)
  end
end

-- Any other status: out of the idle sets.
local function make_unavailable(id, status)
  redis.call('HSET', k_interp(id), 'status', status)
  for _, l in ipairs(langs_of(id)) do
    redis.call('ZREM', k_idle(l), id)
  end
end

-- Frees the interpreter of `oid` if that offer is still theirs; keeps the idle-since time.
local function free_from(oid, interp)
  local k = k_interp(interp)
  if redis.call('HGET', k, 'offer') == oid then
    make_available(interp, num(redis.call('HGET', k, 'idle_since')))
    return true
  end
  return false
end

-- Marks an offer ended in `state` at `now`; its key is forgotten `keep_ms` later.
local function end_offer(oid, state, now, keep_ms)
  local node = redis.call('HGET', k_offer(oid), 'node')
  if node then
    redis.call('SREM', k_node_offers(node), oid)
  end
  redis.call('HSET', k_offer(oid), 'state', state, 'ended', int(now))
  redis.call('PEXPIRE', k_offer(oid), keep_ms)
  redis.call('ZREM', k_deadlines(), oid)
end

-- {'ok', field, value, ...} of the interpreter's hash (the answer of a presence change).
local function ok_with_state(id)
  local r = redis.call('HGETALL', k_interp(id))
  table.insert(r, 1, 'ok')
  return r
end

local function engaged(status)
  return status == 'offered' or status == 'busy'
end

-- Appends an audit event with the fields redis_codec::event_fields writes (nil or '' = absent).
local function audit(kind, at, call, interp, lang, oid, detail)
  local f = {'kind', kind, 'at', int(at), 'detail', detail or ''}
  for _, kv in ipairs({{'call_id', call}, {'interpreter_id', interp}, {'language', lang},
      {'offer_id', oid}}) do
    if kv[2] and kv[2] ~= '' then
      f[#f + 1] = kv[1]
      f[#f + 1] = kv[2]
    end
  end
  redis.call('XADD', k_events(), 'MAXLEN', '~', EVENTS_KEPT, '*', unpack(f))
end

-- Ends a live offer taken back from whoever held it: pending -> cancelled, accepted -> released;
-- its interpreter (if still theirs) is available at once, idle since `now` after an accepted
-- call. Returns the offer's fields {interp, call, lang, created, deadline, state before}, or nil
-- when it was not live.
local function take_back(oid, now, keep_ms)
  local o = redis.call('HMGET', k_offer(oid), 'interp', 'call', 'lang', 'created', 'deadline',
    'state')
  local was = o[6]
  if not o[1] or (was ~= 'pending' and was ~= 'accepted') then
    return nil
  end
  local k = k_interp(o[1])
  if redis.call('HGET', k, 'offer') == oid then
    local idle_since = num(redis.call('HGET', k, 'idle_since'))
    if was == 'accepted' then
      idle_since = now
    end
    make_available(o[1], idle_since)
  end
  if was == 'pending' then
    end_offer(oid, 'cancelled', now, keep_ms)
  else
    end_offer(oid, 'released', now, keep_ms)
  end
  return o
end

-- Ends a call's record (first end wins) and drops it from its node's live calls.
local function end_call(call, now, why, keep_ms)
  local k = k_call(call)
  local r = redis.call('HMGET', k, 'node', 'state')
  if r[2] ~= 'live' then
    return false
  end
  redis.call('HSET', k, 'state', 'ended', 'ended', int(now), 'why', why)
  redis.call('PEXPIRE', k, keep_ms)
  redis.call('SREM', k_node_calls(r[1]), call)
  return true
end
