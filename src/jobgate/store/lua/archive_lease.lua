-- Take or renew the archiver lease (one archiver drains the outbox at a time;
-- a killed one's lease lapses and another takes over). ms = 0 releases it.
-- KEYS: lease   ARGV: token, ms    Returns 1 when the caller holds it.
local lease_key = KEYS[1]
local holder = redis.call('GET', lease_key)
if tonumber(ARGV[2]) == 0 then
  if holder == ARGV[1] then redis.call('DEL', lease_key) end
  return 0
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', lease_key, ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', lease_key, ARGV[1], 'PX', ARGV[2])
return 1
