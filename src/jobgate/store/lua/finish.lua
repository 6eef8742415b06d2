-- End an attempt: completed, failed, cancelled, or back to waiting for a retry.
-- Accepted only from the lease holder (fencing).
-- ARGV: ns id lease outcome body_json ttl maxlen retry_delay_us message
-- Returns 1, or 0 when the lease is no longer held.
local ns, id, outcome, body = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local ttl, maxlen, message = tonumber(ARGV[6]), ARGV[7], ARGV[9]
local jk = job_key(ns, id)
if not holds_lease(jk, ARGV[3]) then return 0 end
local now = now_us()
if outcome == 'retry' then
  redis.call('HSET', jk, 'state', 'pending', 'message', message, 'updated', now, 'last_error', body)
  redis.call('HDEL', jk, 'lease', 'lease_until')
  redis.call('ZREM', ns .. ':leases', id)
  redis.call('ZADD', ns .. ':delayed', now + tonumber(ARGV[8]), id)
  emit(ns, id, maxlen, 'state', {status = 'pending',
    attempt = tonumber(redis.call('HGET', jk, 'attempt')), message = message,
    error = cjson.decode(body)})
  return 1
end
if outcome == 'completed' then
  redis.call('HSET', jk, 'result', body, 'progress', 1)
elseif outcome == 'failed' then
  redis.call('HSET', jk, 'error', body)
end
end_job(ns, id, outcome, message, ttl, now, maxlen)
return 1
