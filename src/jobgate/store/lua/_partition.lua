-- For the scripts that move jobs between a partition's structures: KEYS 1-10
-- are the partition's own keys, in this order in each of them; the keys of
-- the jobs named in ARGV follow as (record, events) pairs from KEYS[11].
local leases_key, delayed_key, dead_key, active_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local notify_key, work_key, outbox_key = KEYS[5], KEYS[6], KEYS[7]
local queue_keys = {KEYS[8], KEYS[9], KEYS[10]}  -- in PRIORITIES order
local FIRST_JOB_KEY = 11
local PRIORITY_AT = {}
for i, p in ipairs(PRIORITIES) do PRIORITY_AT[p] = i end

-- A job waits again (lost worker, hand-back): back to the head of its queue,
-- and a word to idle workers.
local function requeue_front(job_key, id, priority)
  redis.call('LPUSH', queue_keys[PRIORITY_AT[priority]], id)
  redis.call('SPUBLISH', work_key, 'q ' .. priority .. ' ' .. id)
end

-- Why a job failed or was cancelled, in the shape /status and /result give
-- it (api/views.error_text: `error` for people, `error_code` and
-- `error_detail` for programs), added to its state event's `data`. `err_json`
-- is the record's `{code, message}`. A test checks the two agree. A retry's
-- `pending` gets the code and detail of what went wrong, but no `error` text:
-- the job has not failed (old clients stop at any `error`).
local function text_or(v, default)
  if type(v) == 'string' and v ~= '' then return v end
  return default
end
local function add_error(data, state, err_json, message)
  local err = err_json and cjson.decode(err_json)
  if type(err) ~= 'table' then err = {} end
  local code, detail
  if state == ST.CANCELLED then
    code, detail = 'cancelled', text_or(message, 'cancelled')
    data['error'] = 'Job cancelled: ' .. detail
  else
    code = text_or(err.code, 'failed')
    detail = text_or(err.message, text_or(message, 'the job failed'))
    if state == ST.FAILED then data['error'] = 'Job failed: ' .. detail end
  end
  data['error_code'], data['error_detail'] = code, detail
end

-- A finished job's log leaves its stream for its record (store/eventlog.py
-- says why and how; these are its constants, and a test checks them): a
-- flat JSON array of id, type, data, in fields of at most LOG_CHUNK_BYTES
-- while the hash is a listpack, each cut between two characters.
local LOG_CHUNKS, LOG_CHUNK_BYTES, LOG_MAX_BYTES, LOG_MAX_EVENTS = 8, 64, 4096, 64

local function log_chunks(text)
  local out, at = {}, 1
  while at <= #text do
    local stop = math.min(at + LOG_CHUNK_BYTES - 1, #text)
    while stop < #text and stop > at do  -- back off a UTF-8 continuation byte
      local b = string.byte(text, stop + 1)
      if b < 128 or b >= 192 then break end
      stop = stop - 1
    end
    table.insert(out, string.sub(text, at, stop))
    at = stop + 1
  end
  return out
end

local function compact_log(job_key, ev_key)
  if redis.call('XLEN', ev_key) > LOG_MAX_EVENTS then return end
  local parts = {}
  for _, entry in ipairs(redis.call('XRANGE', ev_key, '-', '+')) do
    local etype, data, f = 'event', 'null', entry[2]
    for i = 1, #f, 2 do
      if f[i] == 'type' then etype = f[i + 1] elseif f[i] == 'data' then data = f[i + 1] end
    end
    table.insert(parts, cjson.encode(entry[1]) .. ',' .. cjson.encode(etype) .. ',' .. data)
  end
  if #parts == 0 then return end
  local log = '[' .. table.concat(parts, ',') .. ']'
  if #log > LOG_MAX_BYTES then return end
  local chunks = {log}
  if redis.call('OBJECT', 'ENCODING', job_key) == 'listpack' then
    chunks = log_chunks(log)
    if #chunks > LOG_CHUNKS then chunks = {log} end
  end
  local args = {}
  for i, chunk in ipairs(chunks) do
    table.insert(args, i == 1 and 'log' or 'log' .. (i - 1))
    table.insert(args, chunk)
  end
  redis.call('HSET', job_key, unpack(args))
  redis.call('DEL', ev_key)
end

-- Move a job to a terminal state: the one place that releases everything it
-- held. The job enters the archive outbox in this same step; its result TTL
-- (counted from completion) is set only once the archiver has copied it to
-- history (archived.lua), so Valkey never drops a job that is not archived.
-- The payload (the request) stays until then too: history keeps it. Its
-- event log, now complete, moves into its record (compact_log).
local function end_job(job_key, ev_key, id, state, message, ttl, now, maxlen)
  local info = redis.call('HMGET', job_key, 'owner', 'attempt', 'error', 'state')
  check_move(info[4], state)
  redis.call('HSET', job_key, 'state', state, 'message', message, 'completed', now, 'updated', now)
  redis.call('HDEL', job_key, 'lease', 'lease_until', 'suspect')
  redis.call('ZREM', leases_key, id)
  redis.call('ZREM', delayed_key, id)
  redis.call('ZREM', active_key, redis.sha1hex(info[1]) .. ':' .. id)
  local data = {status = state, attempt = tonumber(info[2]), message = message}
  if state == ST.FAILED then
    redis.call('ZADD', dead_key, now, id)
    redis.call('ZREMRANGEBYSCORE', dead_key, '-inf', now - ttl * 1000000)
  end
  if state ~= ST.COMPLETED then add_error(data, state, info[3], message) end
  emit(ev_key, notify_key, id, maxlen, 'state', data)
  redis.call('ZADD', outbox_key, now, id)
  compact_log(job_key, ev_key)
end
