-- A worker shutting down returns the jobs it could not finish in its grace
-- period, so another worker starts them now rather than after the lease.
-- The hand-back does not use up an attempt.
-- ARGV: ns maxlen id1 lease1 id2 lease2 ...   Returns: number handed back
local ns, maxlen = ARGV[1], ARGV[2]
local now = now_us()
local n = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local jk = job_key(ns, id)
  if holds_lease(jk, ARGV[i + 1]) then
    local attempt = redis.call('HINCRBY', jk, 'attempt', -1)
    local msg = 'worker shutting down; requeued'
    redis.call('HSET', jk, 'state', 'pending', 'message', msg, 'updated', now)
    redis.call('HDEL', jk, 'lease', 'lease_until')
    redis.call('ZREM', ns .. ':leases', id)
    redis.call('LPUSH', ns .. ':queue:' .. redis.call('HGET', jk, 'priority'), id)
    redis.call('LPUSH', ns .. ':wake', '1')
    emit(ns, id, maxlen, 'state', {status = 'pending', attempt = attempt, message = msg})
    n = n + 1
  end
end
return n
