-- Sets a field only on a job that still exists: HSET alone would create a
-- hash with no TTL if the job had just expired.
-- KEYS: job    ARGV: field value    Returns: HSET's answer, or -1
local job_key = KEYS[1]
if redis.call('EXISTS', job_key) == 1 then
  return redis.call('HSET', job_key, ARGV[1], ARGV[2])
end
return -1
