-- A handler's progress or event, accepted only from the lease holder.
-- ARGV: ns id lease type data_json maxlen progress message step_json
-- Returns the new event id, or 0 when the lease is no longer held.
local ns, id = ARGV[1], ARGV[2]
local jk = job_key(ns, id)
if not holds_lease(jk, ARGV[3]) then return 0 end
if ARGV[7] ~= '' then
  redis.call('HSET', jk, 'progress', ARGV[7], 'message', ARGV[8], 'updated', now_us())
  if ARGV[9] ~= '' then redis.call('HSET', jk, 'step', ARGV[9]) end
end
local eid = redis.call('XADD', ev_key(ns, id), 'MAXLEN', '~', ARGV[6], '*',
  'type', ARGV[4], 'data', ARGV[5])
local changed = ARGV[7] ~= '' and ' s' or ' e'  -- progress changes the status
redis.call('PUBLISH', ns .. ':notify', id .. changed)
return eid
