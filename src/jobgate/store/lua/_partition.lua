-- For the scripts that move jobs between a partition's structures: KEYS 1-10
-- are the partition's own keys, in this order in each of them; the keys of
-- the jobs named in ARGV follow as (record, events) pairs from KEYS[11].
local leases_key, delayed_key, dead_key, active_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local notify_key, work_key, outbox_key = KEYS[5], KEYS[6], KEYS[7]
local queue_keys = {KEYS[8], KEYS[9], KEYS[10]}  -- in PRIORITIES order
local FIRST_JOB_KEY = 11
local PRIORITY_AT = {}
for i, p in ipairs(PRIORITIES) do PRIORITY_AT[p] = i end

-- A job waits again (lost worker, hand-back): back to the head of its queue,
-- and a word to idle workers.
local function requeue_front(job_key, id, priority)
  redis.call('LPUSH', queue_keys[PRIORITY_AT[priority]], id)
  redis.call('SPUBLISH', work_key, 'q ' .. priority .. ' ' .. id)
end

-- Move a job to a terminal state: the one place that releases everything it
-- held. The job enters the archive outbox in this same step; its result TTL
-- (counted from completion) is set only once the archiver has copied it to
-- history (archived.lua), so Valkey never drops a job that is not archived.
-- The payload (the request) stays until then too: history keeps it.
local function end_job(job_key, ev_key, id, state, message, ttl, now, maxlen)
  local info = redis.call('HMGET', job_key, 'owner', 'attempt', 'error', 'state')
  check_move(info[4], state)
  redis.call('HSET', job_key, 'state', state, 'message', message, 'completed', now, 'updated', now)
  redis.call('HDEL', job_key, 'lease', 'lease_until', 'suspect')
  redis.call('ZREM', leases_key, id)
  redis.call('ZREM', delayed_key, id)
  redis.call('ZREM', active_key, redis.sha1hex(info[1]) .. ':' .. id)
  local data = {status = state, attempt = tonumber(info[2]), message = message}
  if state == ST.FAILED then
    redis.call('ZADD', dead_key, now, id)
    redis.call('ZREMRANGEBYSCORE', dead_key, '-inf', now - ttl * 1000000)
    if info[3] then data['error'] = cjson.decode(info[3]) end
  end
  emit(ev_key, notify_key, id, maxlen, 'state', data)
  redis.call('ZADD', outbox_key, now, id)
end
