-- Take up to n jobs from one partition for one worker, highest priority
-- first, each with a fresh lease; before that, reclaim the named jobs whose
-- lease lapsed (lost worker) and queue the named retries now due.
-- A script may touch only the jobs whose keys it was given: the caller names
-- its candidates (from the previous call's answer, or a work notice), and
-- the answer names the next ones. With no candidates it only looks (a peek).
-- KEYS: the partition's 10, then (job, events) per candidate
-- ARGV: n lease_ms worker maxlen ttl want already candidate_id...
-- (`already`: jobs the caller claimed elsewhere in this round)
-- Returns: {now, reclaimed, gave_up, next_at_us|'', claimed count,
--           [id, lease, attempt, kind, owner, payload, max_attempts, timeout_s, created,
--            suspect]...,
--           [candidate kind ('1'-'3': queue, 'l': lease lapsed, 'd': retry due), id]...}
local n, worker, maxlen = tonumber(ARGV[1]), ARGV[3], ARGV[4]
local ttl, want, already = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local lease_us = tonumber(ARGV[2]) * 1000
local FIRST_CANDIDATE = 8
local now = now_us()

local declared = {}  -- candidate id -> index of its record key in KEYS
for i = FIRST_CANDIDATE, #ARGV do
  declared[ARGV[i]] = FIRST_JOB_KEY + 2 * (i - FIRST_CANDIDATE)
end

local function reclaim(job_key, ev_key, id)
  redis.call('ZREM', leases_key, id)
  local st = redis.call('HMGET', job_key, 'state', 'attempt', 'max_attempts', 'priority')
  if st[1] ~= ST.PROCESSING then return 0, 0 end
  local attempt, max_attempts = tonumber(st[2]), tonumber(st[3])
  if may_retry(attempt, max_attempts) then
    check_move(ST.PROCESSING, ST.PENDING)
    redis.call('HSET', job_key, 'state', ST.PENDING, 'message', MSG.lost_retrying,
      'updated', now, 'suspect', 1)
    redis.call('HDEL', job_key, 'lease', 'lease_until')
    requeue_front(job_key, id, st[4])
    emit(ev_key, notify_key, id, maxlen, 'state',
      {status = ST.PENDING, attempt = attempt, message = MSG.lost_retrying})
    return 1, 0
  end
  redis.call('HSET', job_key, 'error', cjson.encode({code = WORKER_LOST,
    message = string.format(MSG.lost_error, attempt, max_attempts)}))
  end_job(job_key, ev_key, id, ST.FAILED, MSG.lost_gave_up, ttl, now, maxlen)
  return 0, 1
end

local reclaimed, gave_up = 0, 0
for i = FIRST_CANDIDATE, #ARGV do
  local id = ARGV[i]
  local job_key, ev_key = KEYS[declared[id]], KEYS[declared[id] + 1]
  local expiry = redis.call('ZSCORE', leases_key, id)
  if expiry and tonumber(expiry) <= now then
    local r, g = reclaim(job_key, ev_key, id)
    reclaimed, gave_up = reclaimed + r, gave_up + g
  end
  local due = redis.call('ZSCORE', delayed_key, id)
  if due and tonumber(due) <= now then
    redis.call('ZREM', delayed_key, id)
    local prio = redis.call('HGET', job_key, 'priority')
    if prio then redis.call('RPUSH', queue_keys[PRIORITY_AT[prio]], id) end
  end
end

local claimed, got = {}, 0
local function take(job_key, ev_key, id, st)
  check_move(ST.PENDING, ST.PROCESSING)
  local attempt = redis.call('HINCRBY', job_key, 'attempt', 1)
  local lease = worker .. ':' .. redis.call('HINCRBY', job_key, 'fence', 1)
  local expiry = now + lease_us
  local msg = string.format(MSG.running, attempt, tonumber(st[5]))
  redis.call('HSET', job_key, 'state', ST.PROCESSING, 'lease', lease, 'lease_until', expiry,
    'started', now, 'updated', now, 'progress', 0, 'message', msg)
  redis.call('HDEL', job_key, 'step')
  redis.call('ZADD', leases_key, expiry, id)
  emit(ev_key, notify_key, id, maxlen, 'state',
    {status = ST.PROCESSING, attempt = attempt, message = msg})
  for _, v in ipairs({id, lease, attempt, st[2], st[3], st[4], st[5], st[6], st[7],
                      st[8] or '0'}) do
    table.insert(claimed, v)
  end
  got = got + 1
end

-- Strict priority: a lower queue is looked at only once every higher one is
-- empty; a head we were not given stops the claim (the answer names it).
local blocked = n <= 0
for _, q_key in ipairs(queue_keys) do
  while not blocked and got < n do
    local id = redis.call('LINDEX', q_key, 0)
    if not id then break end
    local at = declared[id]
    if not at then blocked = true; break end
    local job_key, ev_key = KEYS[at], KEYS[at + 1]
    local st = redis.call('HMGET', job_key, 'state', 'kind', 'owner', 'payload', 'max_attempts',
      'timeout_s', 'created', 'suspect')
    if st[1] == ST.PENDING and st[8] == '1' and got + already > 0 then
      -- a job whose worker died may be what killed it: it runs in a batch of its
      -- own, so the jobs claimed with it do not die with it again
      blocked = true
    else
      redis.call('LPOP', q_key)  -- a stale id (cancelled, expired) just goes
      if st[1] == ST.PENDING then
        take(job_key, ev_key, id, st)
        if st[8] == '1' then blocked = true end
      end
    end
  end
  if blocked or got >= n then break end
end

-- Every worker hears that leases here end in lease_us unless renewed: it
-- comes back then, so a dead worker's job is reclaimed about a lease after.
if got > 0 then redis.call('SPUBLISH', work_key, 'l ' .. ARGV[2] * 1000) end

-- When something here next falls due by itself (a retry's backoff, a lease's
-- end): the caller looks again then, and an idle partition costs no visits.
local next_at = nil
local timed_keys = {delayed_key, leases_key}
for _, set_key in ipairs(timed_keys) do
  local first = redis.call('ZRANGE', set_key, 0, 0, 'WITHSCORES')[2]
  if first and (not next_at or tonumber(first) < next_at) then next_at = tonumber(first) end
end
local out = {string.format('%.0f', now), reclaimed, gave_up,
  next_at and string.format('%.0f', next_at) or '', got}
for _, v in ipairs(claimed) do table.insert(out, v) end
local room = want
for qi, q_key in ipairs(queue_keys) do
  if room <= 0 then break end
  for _, id in ipairs(redis.call('LRANGE', q_key, 0, room - 1)) do
    table.insert(out, tostring(qi)); table.insert(out, id)
    room = room - 1
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', leases_key, '-inf', now, 'LIMIT', 0, want)) do
  table.insert(out, 'l'); table.insert(out, id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed_key, '-inf', now, 'LIMIT', 0, want)) do
  table.insert(out, 'd'); table.insert(out, id)
end
return out
