-- Take up to n jobs for one worker, highest priority first, each with a fresh
-- lease. Before that, move due retries back to their queue and reclaim jobs
-- whose worker stopped renewing its lease (lost worker).
-- ARGV: ns n lease_ms worker maxlen ttl
-- Returns: {now, reclaimed, failed_lost, [id, lease, attempt, kind, owner, payload,
--           max_attempts, timeout_s, created]...}
local ns, n, worker, maxlen, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local lease_us = tonumber(ARGV[3]) * 1000
local now = now_us()

local due = redis.call('ZRANGEBYSCORE', ns .. ':delayed', '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', ns .. ':delayed', id)
  local prio = redis.call('HGET', job_key(ns, id), 'priority')
  if prio then redis.call('RPUSH', ns .. ':queue:' .. prio, id) end
end

local reclaimed, gave_up = 0, 0
local lost = redis.call('ZRANGEBYSCORE', ns .. ':leases', '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(lost) do
  local jk = job_key(ns, id)
  redis.call('ZREM', ns .. ':leases', id)
  local st = redis.call('HMGET', jk, 'state', 'attempt', 'max_attempts', 'priority')
  if st[1] == 'processing' then
    if tonumber(st[2]) >= tonumber(st[3]) then
      redis.call('HSET', jk, 'error', cjson.encode({code = 'worker_lost',
        message = 'worker lost during attempt ' .. st[2] .. ' of ' .. st[3] .. '; no attempts left'}))
      end_job(ns, id, 'failed', 'worker lost; no attempts left', ttl, now, maxlen)
      gave_up = gave_up + 1
    else
      redis.call('HSET', jk, 'state', 'pending', 'message', 'worker lost; retrying', 'updated', now,
        'suspect', 1)
      redis.call('HDEL', jk, 'lease', 'lease_until')
      redis.call('LPUSH', ns .. ':queue:' .. st[4], id)
      emit(ns, id, maxlen, 'state', {status = 'pending', attempt = tonumber(st[2]),
        message = 'worker lost; retrying'})
      reclaimed = reclaimed + 1
    end
  end
end

local out = {string.format('%.0f', now), reclaimed, gave_up}
local got = 0
for _, prio in ipairs({'high', 'normal', 'low'}) do
  local q = ns .. ':queue:' .. prio
  while got < n do
    local id = redis.call('LPOP', q)
    if not id then break end
    local jk = job_key(ns, id)
    local st = redis.call('HMGET', jk, 'state', 'kind', 'owner', 'payload', 'max_attempts',
      'timeout_s', 'created', 'suspect')
    if st[1] == 'pending' and st[8] == '1' and got > 0 then
      -- a job whose worker died may be what killed it: it runs in a batch of its
      -- own, so the jobs claimed with it do not die with it again
      redis.call('LPUSH', q, id)
      n = got
    elseif st[1] == 'pending' then
      local attempt = redis.call('HINCRBY', jk, 'attempt', 1)
      local lease = worker .. ':' .. redis.call('HINCRBY', jk, 'fence', 1)
      local expiry = now + lease_us
      local msg = 'running (attempt ' .. attempt .. ' of ' .. st[5] .. ')'
      redis.call('HSET', jk, 'state', 'processing', 'lease', lease, 'lease_until', expiry,
        'started', now, 'updated', now, 'progress', 0, 'message', msg)
      redis.call('HDEL', jk, 'step')
      redis.call('ZADD', ns .. ':leases', expiry, id)
      emit(ns, id, maxlen, 'state', {status = 'processing', attempt = attempt, message = msg})
      for _, v in ipairs({id, lease, attempt, st[2], st[3], st[4], st[5], st[6], st[7]}) do
        table.insert(out, v)
      end
      got = got + 1
      if st[8] == '1' then n = got end
    end
  end
end
-- The queues are empty: the wake tokens left are stale (one per job enqueued).
if got < n then redis.call('DEL', ns .. ':wake') end
return out
