-- Create a job, queue it, register it with its owner: one atomic step.
-- ARGV: ns id kind owner priority payload max_attempts timeout_s max_active
--       idem_key idem_ttl maxlen estimate_s
local ns, id, kind, owner, prio = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idem = ARGV[10]
if idem ~= '' then
  local prev = redis.call('GET', idem)
  if prev and redis.call('EXISTS', job_key(ns, prev)) == 1 then return {'dup', prev} end
end
local active = ns .. ':active:' .. owner
if redis.call('SCARD', active) >= tonumber(ARGV[9]) then return {'full', ''} end
local now = now_us()
redis.call('HSET', job_key(ns, id), 'id', id, 'kind', kind, 'owner', owner,
  'state', 'pending', 'priority', prio, 'payload', ARGV[6], 'attempt', 0,
  'max_attempts', ARGV[7], 'timeout_s', ARGV[8], 'created', now, 'updated', now,
  'progress', 0, 'message', 'queued', 'estimate_s', ARGV[13])
redis.call('RPUSH', ns .. ':queue:' .. prio, id)
redis.call('SADD', active, id)
redis.call('ZADD', ns .. ':owner:' .. owner, now, id)
if idem ~= '' then redis.call('SET', idem, id, 'EX', ARGV[11]) end
-- No PUBLISH: nobody can be waiting on a job that did not exist a moment ago.
redis.call('XADD', ev_key(ns, id), 'MAXLEN', '~', ARGV[12], '*', 'type', 'state',
  'data', cjson.encode({status = 'pending', attempt = 0, message = 'queued'}))
redis.call('LPUSH', ns .. ':wake', '1')
redis.call('LTRIM', ns .. ':wake', 0, 63)
return {'ok', string.format('%.0f', now)}
