-- Create a job, queue it, register it with its owner: one atomic step.
-- ARGV: ns max_active idem_ttl | id kind owner priority payload max_attempts
--       timeout_s idem_key estimate_s notify_channel
-- Safe to run twice with the same id (a resend after a dropped connection):
-- the owner index is written first, with NX, and a second run stops there.
-- No event is logged: every job begins `pending` (JobStore.events_after
-- supplies that first event). Nobody can be waiting on the job itself yet;
-- the one PUBLISH, '<id> n <owner>' on the notify channel (ARGV[13],
-- Keys.notify), tells the owner's per-user feeds (WebSocket `subscribe all`,
-- GET /events) in every API process that the owner has a new job.
local ns, id, owner, prio = ARGV[1], ARGV[4], ARGV[6], ARGV[7]
local idem = ARGV[11]
if idem ~= '' then
  local prev = redis.call('GET', idem)
  if prev and redis.call('EXISTS', job_key(ns, prev)) == 1 then return {'dup', prev} end
end
local now = now_us()
local index = ns .. ':owner:' .. owner
if redis.call('ZADD', index, 'NX', now, id) == 0 then return {'dup', id} end
local active = ns .. ':active:' .. owner
if redis.call('SCARD', active) >= tonumber(ARGV[2]) then
  redis.call('ZREM', index, id)
  return {'full', ''}
end
redis.call('HSET', job_key(ns, id), 'id', id, 'kind', ARGV[5], 'owner', owner,
  'state', 'pending', 'priority', prio, 'payload', ARGV[8], 'attempt', 0,
  'max_attempts', ARGV[9], 'timeout_s', ARGV[10], 'created', now, 'updated', now,
  'progress', 0, 'message', 'queued', 'estimate_s', ARGV[12])
redis.call('RPUSH', ns .. ':queue:' .. prio, id)
redis.call('SADD', active, id)
if idem ~= '' then redis.call('SET', idem, id, 'EX', ARGV[3]) end
-- A wake token per job; the claim that empties the queues clears them.
redis.call('LPUSH', ns .. ':wake', '1')
redis.call('PUBLISH', ARGV[13], id .. ' n ' .. owner)
return {'ok', string.format('%.0f', now)}
