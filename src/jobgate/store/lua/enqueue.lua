-- Create a job, queue it, count it against its owner's cap: one atomic step,
-- in the owner's partition.
-- KEYS: job owner_index active queue work notify [idem]
-- ARGV: max_active idem_ttl | id kind owner priority payload max_attempts
--       timeout_s estimate_s stale_id active_prefix
-- Answers the job's creation time (µs), or {'dup', id} or {'full', ''}.
-- `active_prefix` is '<sha1(owner) in hex>:' (Keys.active_prefix), hashed by
-- the caller: hashing here cost about 4 µs a submit. end_job hashes the owner
-- it reads from the record; the two agree (tests/engine/test_lane.py).
-- Safe to run twice with the same id (a resend after a dropped connection):
-- the owner index is written first, with NX, and a second run stops there.
-- An idempotency key naming `stale_id` (a job whose record expired, as the
-- caller found) is taken over; naming another job, that job is the answer.
-- No event is logged: every job begins `pending` (JobStore.events_after
-- supplies that first event). Nobody can be waiting on the job itself yet;
-- '<id> n <owner>' on the partition's notify channel tells the owner's
-- per-user feeds (WebSocket `subscribe all`, GET /events) of the new job.
local job_key, owner_key, active_key, queue_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local work_key, notify_key, idem_key = KEYS[5], KEYS[6], KEYS[7]
local id, owner, prio = ARGV[3], ARGV[5], ARGV[6]
if idem_key then
  local prev = redis.call('GET', idem_key)
  if prev and prev ~= ARGV[11] then return {'dup', prev} end
end
local now = now_us()
if redis.call('ZADD', owner_key, 'NX', now, id) == 0 then return {'dup', id} end
local mine = ARGV[12]  -- the owner's range in active_key: from mine to just past its ':'
if redis.call('ZLEXCOUNT', active_key, '[' .. mine, '(' .. string.sub(mine, 1, -2) .. ';')
    >= tonumber(ARGV[1]) then
  redis.call('ZREM', owner_key, id)
  return {'full', ''}
end
redis.call('HSET', job_key, 'id', id, 'kind', ARGV[4], 'owner', owner,
  'state', ST.PENDING, 'priority', prio, 'payload', ARGV[7], 'attempt', 0,
  'max_attempts', ARGV[8], 'timeout_s', ARGV[9], 'created', now, 'updated', now,
  'progress', 0, 'message', MSG.queued, 'estimate_s', ARGV[10])
redis.call('RPUSH', queue_key, id)
redis.call('ZADD', active_key, 0, mine .. id)
if idem_key then redis.call('SET', idem_key, id, 'EX', ARGV[2]) end
redis.call('SPUBLISH', work_key, 'q ' .. prio .. ' ' .. id)
redis.call('SPUBLISH', notify_key, id .. ' n ' .. owner)
return now
