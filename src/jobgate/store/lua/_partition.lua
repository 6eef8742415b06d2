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

-- {field, value, ...}: `text` in fields log, log1, ... of at most
-- LOG_CHUNK_BYTES, never cut inside a UTF-8 character (each field is read
-- as text on its own); nil if that takes more than LOG_CHUNKS fields.
local function log_chunks(text)
  local out, at, n = {}, 1, 0
  local ascii = not string.find(text, '[\128-\255]')
  while at <= #text do
    local stop = math.min(at + LOG_CHUNK_BYTES - 1, #text)
    while not ascii and stop < #text and stop > at do  -- back off a continuation byte
      local b = string.byte(text, stop + 1)
      if b < 128 or b >= 192 then break end
      stop = stop - 1
    end
    n = n + 1
    if n > LOG_CHUNKS then return nil end
    out[2 * n - 1], out[2 * n] = n == 1 and 'log' or 'log' .. (n - 1), string.sub(text, at, stop)
    at = stop + 1
  end
  return out
end

-- A JSON string: most event types need no escaping (and ids never do).
local function json_str(s)
  if string.find(s, '[%c"\\]') then return cjson.encode(s) end
  return '"' .. s .. '"'
end

-- The log of a job ending now with the state event `event` (JSON), as the
-- record keeps it ({field, value, ...}), or nil when it stays a stream. The
-- terminal event is never written to the stream: it gets the id XADD would
-- give it (the server's millisecond, after the last entry's id).
local function compacted_log(job_key, ev_key, now, event)
  local entries = redis.call('XRANGE', ev_key, '-', '+', 'COUNT', LOG_MAX_EVENTS)
  if #entries >= LOG_MAX_EVENTS then return nil end
  local ms, seq = math.floor(now / 1000), 0
  local parts = {}
  for n, entry in ipairs(entries) do
    local etype, data, f = 'event', 'null', entry[2]
    for i = 1, #f, 2 do
      if f[i] == 'type' then etype = f[i + 1] elseif f[i] == 'data' then data = f[i + 1] end
    end
    parts[n] = '"' .. entry[1] .. '",' .. json_str(etype) .. ',' .. data
  end
  local last = entries[#entries]
  if last then
    local lms, lseq = string.match(last[1], '^(%d+)-(%d+)$')
    if tonumber(lms) >= ms then ms, seq = tonumber(lms), tonumber(lseq) + 1 end
  end
  parts[#parts + 1] = string.format('"%.0f-%.0f","state",', ms, seq) .. event
  local log = '[' .. table.concat(parts, ',') .. ']'
  if #log > LOG_MAX_BYTES then return nil end
  local listpack = redis.call('OBJECT', 'ENCODING', job_key) == 'listpack'
  return listpack and log_chunks(log) or {'log', log}
end

-- Move a job to a terminal state: the one place that releases everything it
-- held. The job enters the archive outbox in this same step; its result TTL
-- (counted from completion) is set only once the archiver has copied it to
-- history (archived.lua), so Valkey never drops a job that is not archived.
-- The payload (the request) stays until then too: history keeps it. Its
-- event log, now complete, moves into its record (compacted_log).
local function end_job(job_key, ev_key, id, state, message, ttl, now, maxlen)
  local info = redis.call('HMGET', job_key, 'owner', 'attempt', 'error', 'state')
  check_move(info[4], state)
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
  local fields = {'state', state, 'message', message, 'completed', now, 'updated', now}
  local log = compacted_log(job_key, ev_key, now, cjson.encode(data))
  if log then
    for _, v in ipairs(log) do fields[#fields + 1] = v end
    redis.call('HSET', job_key, unpack(fields))
    redis.call('DEL', ev_key)
    redis.call('SPUBLISH', notify_key, id .. ' s')
  else
    redis.call('HSET', job_key, unpack(fields))
    emit(ev_key, notify_key, id, maxlen, 'state', data)
  end
  redis.call('ZADD', outbox_key, now, id)
end
