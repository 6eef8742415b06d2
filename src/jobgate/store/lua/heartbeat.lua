-- Renew the leases a worker holds in one partition; report the ones it lost
-- (cancelled, or reclaimed after a lapse) so it stops their handlers.
-- KEYS: leases job1 job2 ...    ARGV: lease_ms id1 lease1 id2 lease2 ...
-- Returns: lost ids
local leases_key = KEYS[1]
local expiry = now_us() + tonumber(ARGV[1]) * 1000
local lost = {}
for i = 2, #ARGV, 2 do
  local id, job_key = ARGV[i], KEYS[i / 2 + 1]
  if holds_lease(job_key, ARGV[i + 1]) then
    redis.call('HSET', job_key, 'lease_until', expiry)
    redis.call('ZADD', leases_key, expiry, id)
  else
    table.insert(lost, id)
  end
end
return lost
