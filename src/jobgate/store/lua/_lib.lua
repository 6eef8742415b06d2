-- Shared prelude, prepended to every script by store/scripts.py.
-- Times are integer microseconds from the server's clock (TIME), so every
-- process agrees on leases whatever its own clock says.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function job_key(ns, id) return ns .. ':job:{' .. id .. '}' end
local function ev_key(ns, id) return ns .. ':ev:{' .. id .. '}' end

-- Append one event to the job's log and wake the waiters of every API process.
-- The message is '<id> s' when the job's status changed (long-poll waiters
-- care), '<id> e' for an event that leaves the status as it was (only
-- event-stream readers care).
local function emit(ns, id, maxlen, etype, data)
  local eid = redis.call('XADD', ev_key(ns, id), 'MAXLEN', '~', maxlen, '*',
    'type', etype, 'data', cjson.encode(data))
  redis.call('PUBLISH', ns .. ':notify', id .. ' s')
  return eid
end

-- The archive outbox (Keys.outbox): terminal jobs not yet copied to history.
local function outbox_key(ns) return ns .. ':outbox' end

-- Move a job to a terminal state: one place that releases everything it held.
-- The job enters the archive outbox in this same step; its result TTL
-- (counted from completion) is set only once the archiver has copied it to
-- history (archived.lua), so Valkey never drops a job that is not archived.
local function end_job(ns, id, state, message, ttl, now, maxlen)
  local jk = job_key(ns, id)
  local info = redis.call('HMGET', jk, 'owner', 'attempt', 'error')
  redis.call('HSET', jk, 'state', state, 'message', message, 'completed', now, 'updated', now)
  redis.call('HDEL', jk, 'lease', 'lease_until')
  -- The payload (the request) stays until archived: history keeps it.
  -- archived.lua then drops it, except a failed job's, kept for the result
  -- TTL so an operator can retry it as a new job (api/admin.py).
  redis.call('ZREM', ns .. ':leases', id)
  redis.call('ZREM', ns .. ':delayed', id)
  redis.call('SREM', ns .. ':active:' .. info[1], id)
  local data = {status = state, attempt = tonumber(info[2]), message = message}
  if state == 'failed' then
    redis.call('ZADD', ns .. ':dead', now, id)
    redis.call('ZREMRANGEBYSCORE', ns .. ':dead', '-inf', now - ttl * 1000000)
    if info[3] then data['error'] = cjson.decode(info[3]) end
  end
  emit(ns, id, maxlen, 'state', data)
  redis.call('ZADD', outbox_key(ns), now, id)
end

-- The fencing check every worker write goes through.
local function holds_lease(jk, lease)
  local st = redis.call('HMGET', jk, 'state', 'lease')
  return st[1] == 'processing' and st[2] == lease
end
