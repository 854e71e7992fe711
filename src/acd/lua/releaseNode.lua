--[[
  releaseNode: a node closing cleanly gives up its id (a restart takes it at once) but not its lease: if it does not
  come back before the lease ends, the other nodes take over its tasks as after a crash.

  KEYS[1] instance holding each node id (hash)   ARGV[1] node id   ARGV[2] instance token
  Returns 1 released, 0 not held by this instance.
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
