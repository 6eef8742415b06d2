-- Take or renew the archiver lease (one archiver drains the outbox at a time;
-- a killed one's lease lapses and another takes over). ms = 0 releases it.
-- KEYS: lease   ARGV: token, ms    Returns 1 when the caller holds it.
local holder = redis.call('GET', KEYS[1])
if tonumber(ARGV[2]) == 0 then
  if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
