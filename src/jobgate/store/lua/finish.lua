-- End an attempt: completed, failed, or back to waiting out a retry's backoff.
-- Accepted only from the lease holder (fencing).
-- KEYS: the partition's 10, job events
-- ARGV: id lease ending body_json ttl maxlen retry_delay_us message
-- `ending` is a job.Ending; its state comes from ENDING_STATE.
-- Returns 1, or 0 when the lease is no longer held.
local job_key, ev_key = KEYS[FIRST_JOB_KEY], KEYS[FIRST_JOB_KEY + 1]
local id, body, message = ARGV[1], ARGV[4], ARGV[8]
local ttl, maxlen = tonumber(ARGV[5]), ARGV[6]
local state = ENDING_STATE[ARGV[3]]
if not holds_lease(job_key, ARGV[2]) then return 0 end
check_move(ST.PROCESSING, state)
local now = now_us()
if state == ST.PENDING then
  local delay = tonumber(ARGV[7])
  redis.call('HSET', job_key, 'state', state, 'message', message, 'updated', now, 'last_error', body)
  redis.call('HDEL', job_key, 'lease', 'lease_until')
  redis.call('ZREM', leases_key, id)
  redis.call('ZADD', delayed_key, now + delay, id)
  local data = {status = state, attempt = tonumber(redis.call('HGET', job_key, 'attempt')),
    message = message}
  add_error(data, state, body, message)  -- what went wrong; not failed, so no `error` text
  emit(ev_key, notify_key, id, maxlen, 'state', data)
  redis.call('SPUBLISH', work_key, string.format('d %.0f %s', delay, id))
  return 1
end
if state == ST.COMPLETED then
  redis.call('HSET', job_key, 'result', body, 'progress', 1)
else
  redis.call('HSET', job_key, 'error', body)
end
end_job(job_key, ev_key, id, state, message, ttl, now, maxlen)
return 1
