-- A client cancels its job. Pending: cancelled at once. Running: cancelled at
-- once too, and the lease goes with it, so the worker's next heartbeat finds
-- the job lost and stops the handler, and none of its writes land.
-- KEYS: the partition's 10 (see _partition.lua), job events
-- ARGV: id owner ttl maxlen message    Returns: 'missing' | the state it found
local job_key, ev_key = KEYS[FIRST_JOB_KEY], KEYS[FIRST_JOB_KEY + 1]
local id = ARGV[1]
local st = redis.call('HMGET', job_key, 'state', 'owner')
if not st[1] or st[2] ~= ARGV[2] then return 'missing' end
if not may_move(st[1], ST.CANCELLED) then return st[1] end
end_job(job_key, ev_key, id, ST.CANCELLED, ARGV[5], tonumber(ARGV[3]), now_us(), ARGV[4])
return st[1]
