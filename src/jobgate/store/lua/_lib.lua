-- Shared prelude: store/scripts.py puts in each script the definitions here
-- it uses (a top-level `local` each, with the comment above it), after the
-- rules generated from job.py. Times are integer microseconds from the
-- server's clock (TIME), so every process agrees on leases whatever its own
-- clock says. Every key comes from KEYS (a test checks it): a name held in a
-- variable ends in `_key`, a list of them in `_keys`.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function check_move(from, to)
  if not may_move(from, to) then
    error('jobgate: ' .. tostring(from) .. ' -> ' .. tostring(to) .. ' is not a transition')
  end
end

-- Append one event to the job's log and wake its waiters in every API
-- process (sharded pub/sub: only the partition's shard carries it).
local function emit(ev_key, notify_key, id, maxlen, etype, data)
  local eid = redis.call('XADD', ev_key, 'MAXLEN', '~', maxlen, '*',
    'type', etype, 'data', cjson.encode(data))
  redis.call('SPUBLISH', notify_key, id .. ' s')
  return eid
end

-- The fencing check every worker write goes through.
local function holds_lease(job_key, lease)
  local st = redis.call('HMGET', job_key, 'state', 'lease')
  return st[1] == ST.PROCESSING and st[2] == lease
end
