--[[
  joinNode: a node's first lease, granted only if no other live process holds the node id and every live node runs
  the same routing configuration.

  KEYS[1] node leases (sorted set node -> lease end, ms)   KEYS[2] instance holding each node id (hash)
  KEYS[3] routing configuration of each node (hash node -> JSON object of key -> canonical JSON)
  ARGV[1] node id   ARGV[2] instance token (unique to this process)   ARGV[3] lease end   ARGV[4] now
  ARGV[5] this node's configuration (same form as KEYS[3]'s values)

  Returns {'ok'}; {'held', instance, lease end} when another process's lease on the id is live;
  {'config', other node, key...} naming the keys whose values differ from a live node's.
]]
local node, instance, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local lease = redis.call('ZSCORE', KEYS[1], node)
local holder = redis.call('HGET', KEYS[2], node)
if lease and tonumber(lease) > now and holder and holder ~= instance then return {'held', holder, lease} end

local mine = cjson.decode(ARGV[5])
for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[4], '+inf')) do
  local theirs = other ~= node and redis.call('HGET', KEYS[3], other)
  if theirs then
    local their = cjson.decode(theirs)
    local differ = {}
    for key, value in pairs(mine) do if their[key] ~= value then differ[#differ + 1] = key end end
    for key in pairs(their) do if mine[key] == nil then differ[#differ + 1] = key end end
    if #differ > 0 then
      table.sort(differ)
      return {'config', other, unpack(differ)}
    end
  end
end

redis.call('ZADD', KEYS[1], ARGV[3], node)
redis.call('HSET', KEYS[2], node, instance)
redis.call('HSET', KEYS[3], node, ARGV[5])
return {'ok'}
