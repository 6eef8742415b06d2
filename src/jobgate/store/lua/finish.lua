-- End attempts in one partition: each completed, failed, or back to waiting
-- out a retry's backoff, and each accepted only from its lease holder
-- (fencing). One call ends every job a worker's flush has in the partition:
-- the script's set-up is paid once, not once a job.
-- KEYS: the partition's 10, then each job's record and events
-- ARGV: ttl maxlen, then six per job: id lease ending body_json retry_delay_us message
-- `ending` is a job.Ending; its state comes from ENDING_STATE.
-- Returns, per job in order, 1, or 0 when its lease is no longer held.
local ttl, maxlen = tonumber(ARGV[1]), ARGV[2]
local now = now_us()

local function finish(job_key, ev_key, id, lease, ending, body, delay, message)
  local state = ENDING_STATE[ending]
  if not holds_lease(job_key, lease) then return 0 end
  check_move(ST.PROCESSING, state)
  if state == ST.PENDING then
    redis.call('HSET', job_key, 'state', state, 'message', message, 'updated', now,
      'last_error', body)
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
end

local out = {}
for n = 1, (#ARGV - 2) / 6 do
  local a, k = 2 + 6 * (n - 1), FIRST_JOB_KEY + 2 * (n - 1)
  out[n] = finish(KEYS[k], KEYS[k + 1], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4],
    tonumber(ARGV[a + 5]), ARGV[a + 6])
end
return out
