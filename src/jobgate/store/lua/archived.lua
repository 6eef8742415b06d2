-- The archiver copied these jobs (of one partition) into history: start each
-- one's result TTL, counted from its completion (PEXPIREAT completed + ttl; a
-- time already past deletes at once), drop the request payload (history has
-- it; a failed job's stays for an operator's retry), and take the job off the
-- outbox. An id no longer in the outbox was done before (another archiver, a
-- retried batch): left alone, so this script is idempotent.
-- KEYS: outbox, then (job, events) per job   ARGV: ttl_s, the job ids
-- Returns the number of jobs taken off the outbox.
local outbox_key = KEYS[1]
local ttl, done = tonumber(ARGV[1]), 0
for i = 2, #ARGV do
  local id, job_key, ev_key = ARGV[i], KEYS[2 * i - 2], KEYS[2 * i - 1]
  if redis.call('ZREM', outbox_key, id) == 1 then
    local st = redis.call('HMGET', job_key, 'state', 'completed')
    local terminal = st[1] == ST.COMPLETED or st[1] == ST.FAILED or st[1] == ST.CANCELLED
    if terminal and st[2] then
      local at_ms = math.floor(tonumber(st[2]) / 1000) + ttl * 1000
      redis.call('PEXPIREAT', job_key, at_ms)
      redis.call('PEXPIREAT', ev_key, at_ms)
      if st[1] ~= ST.FAILED then redis.call('HDEL', job_key, 'payload') end
    end
    done = done + 1
  end
end
return done
