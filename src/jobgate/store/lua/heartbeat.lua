-- Renew the leases a worker holds; report the ones it lost (cancelled, or
-- reclaimed after a lapse) so it stops their handlers.
-- ARGV: ns lease_ms id1 lease1 id2 lease2 ...   Returns: lost ids
local ns = ARGV[1]
local expiry = now_us() + tonumber(ARGV[2]) * 1000
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local jk = job_key(ns, id)
  if holds_lease(jk, ARGV[i + 1]) then
    redis.call('HSET', jk, 'lease_until', expiry)
    redis.call('ZADD', ns .. ':leases', expiry, id)
  else
    table.insert(lost, id)
  end
end
return lost
