-- A worker shutting down returns the jobs it could not finish in its grace
-- period, so another worker starts them now rather than after the lease.
-- The hand-back does not use up an attempt.
-- KEYS: the partition's 10, then (job, events) per job
-- ARGV: maxlen id1 lease1 id2 lease2 ...   Returns: number handed back
local maxlen = ARGV[1]
local now = now_us()
local n = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local job_key, ev_key = KEYS[FIRST_JOB_KEY + i - 2], KEYS[FIRST_JOB_KEY + i - 1]
  if holds_lease(job_key, ARGV[i + 1]) then
    check_move(ST.PROCESSING, ST.PENDING)
    local attempt = redis.call('HINCRBY', job_key, 'attempt', -1)
    redis.call('HSET', job_key, 'state', ST.PENDING, 'message', MSG.handed_back, 'updated', now)
    redis.call('HDEL', job_key, 'lease', 'lease_until')
    redis.call('ZREM', leases_key, id)
    requeue_front(job_key, id, redis.call('HGET', job_key, 'priority'))
    emit(ev_key, notify_key, id, maxlen, 'state',
      {status = ST.PENDING, attempt = attempt, message = MSG.handed_back})
    n = n + 1
  end
end
return n
