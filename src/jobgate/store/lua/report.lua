-- A handler's progress or event, accepted only from the lease holder.
-- KEYS: job events notify
-- ARGV: id lease type data_json maxlen progress message step_json
-- Returns the new event id, or 0 when the lease is no longer held.
local job_key, ev_key, notify_key = KEYS[1], KEYS[2], KEYS[3]
if not holds_lease(job_key, ARGV[2]) then return 0 end
if ARGV[6] ~= '' then
  redis.call('HSET', job_key, 'progress', ARGV[6], 'message', ARGV[7], 'updated', now_us())
  if ARGV[8] ~= '' then redis.call('HSET', job_key, 'step', ARGV[8]) end
end
local eid = redis.call('XADD', ev_key, 'MAXLEN', '~', ARGV[5], '*',
  'type', ARGV[3], 'data', ARGV[4])
local changed = ARGV[6] ~= '' and ' s' or ' e'  -- progress changes the status
redis.call('SPUBLISH', notify_key, ARGV[1] .. changed)
return eid
