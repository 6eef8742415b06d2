-- A client cancels its job. Pending: cancelled at once. Running: cancelled at
-- once too, and the lease goes with it, so the worker's next heartbeat finds
-- the job lost and stops the handler, and none of its writes land.
-- ARGV: ns id owner ttl maxlen message    Returns: 'missing' | the state it found
local ns, id = ARGV[1], ARGV[2]
local st = redis.call('HMGET', job_key(ns, id), 'state', 'owner')
if not st[1] or st[2] ~= ARGV[3] then return 'missing' end
if st[1] ~= 'pending' and st[1] ~= 'processing' then return st[1] end
end_job(ns, id, 'cancelled', ARGV[6], tonumber(ARGV[4]), now_us(), ARGV[5])
return st[1]
