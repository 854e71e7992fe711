--[[
  renewLease: extends a node's lease if this process still holds its id. A node declared dead meanwhile (its tasks
  adopted, its entry removed) gets the id back; one whose id another process took after the lease ran out does not:
  two processes never both hold one node id.

  KEYS[1] node leases (sorted set)   KEYS[2] instance holding each node id (hash)
  ARGV[1] node id   ARGV[2] instance token   ARGV[3] new lease end
  Returns 1 renewed, 0 held by another process.
]]
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
