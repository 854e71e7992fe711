--[[
  commitChange: writes one ACD change atomically if every record is still at the revision it was based on.

  KEYS[1] agents (hash id -> record JSON)      KEYS[2] agent revisions (hash id -> rev)
  KEYS[3] tasks (hash id -> record JSON)       KEYS[4] task revisions (hash id -> rev)
  KEYS[5] change log (stream)                  KEYS[6] change sequence (string counter)
  KEYS[7..] one ended-task key per retired task, in the order the tasks come in ARGV
  ARGV[1] the change as published (JSON)       ARGV[2] approximate maximum length of the log
  ARGV[3] seconds an ended task is kept        ARGV[4] number of agents   ARGV[5] number of tasks
  then per agent: id, base rev, new rev, JSON; per task: id, base rev, new rev, JSON, "1" if it ends else "0".
  A record is written only where the stored revision equals its base ("" = absent). Revisions are unique, so
  "stored revision = new revision" means this very change was committed before (a resend after a reconnect).

  Returns {1} written; {2} already written;
  {0, agentJSON..., taskJSON...} nothing written: the stored records ("" where absent), in ARGV order.
  Error reply "CAPACITY <agent> <channel>" if an agent record would hold less than 0 or more than capacity.
  Publishes: XADD to KEYS[5] with fields s (sequence number) and p (ARGV[1]).
]]
local nAgents = tonumber(ARGV[4])
local nTasks = tonumber(ARGV[5])
local AGENT_ARGS, TASK_ARGS = 4, 5
local conflict = false
local already = true

local i = 6
for _ = 1, nAgents do
  local stored = redis.call('HGET', KEYS[2], ARGV[i]) or ''
  if stored ~= ARGV[i + 1] then
    conflict = true
    if stored ~= ARGV[i + 2] then already = false end
  else
    already = false
  end
  i = i + AGENT_ARGS
end
local ended = 7
for _ = 1, nTasks do
  local stored = redis.call('HGET', KEYS[4], ARGV[i]) or ''
  if stored ~= ARGV[i + 1] then
    conflict = true
    local same
    if ARGV[i + 4] == '1' then same = redis.call('GET', KEYS[ended]) == ARGV[i + 3] else same = stored == ARGV[i + 2] end
    if not same then already = false end
  else
    already = false
  end
  if ARGV[i + 4] == '1' then ended = ended + 1 end
  i = i + TASK_ARGS
end

if conflict then
  if already then return {2} end
  local reply = {0}
  i = 6
  for _ = 1, nAgents do
    reply[#reply + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or ''
    i = i + AGENT_ARGS
  end
  for _ = 1, nTasks do
    reply[#reply + 1] = redis.call('HGET', KEYS[3], ARGV[i]) or ''
    i = i + TASK_ARGS
  end
  return reply
end

-- The engine never drafts an agent out of bounds; this is the last line of defence for the invariant.
local channels = {'voice', 'video', 'chat', 'email'}
i = 6
for _ = 1, nAgents do
  local agent = cjson.decode(ARGV[i + 3])
  for _, c in ipairs(channels) do
    local held = agent.reserved[c] + agent.busy[c]
    if agent.reserved[c] < 0 or agent.busy[c] < 0 or held > agent.capacity[c] then
      return redis.error_reply('CAPACITY ' .. ARGV[i] .. ' ' .. c)
    end
  end
  i = i + AGENT_ARGS
end

i = 6
for _ = 1, nAgents do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 3])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
  i = i + AGENT_ARGS
end
ended = 7
for _ = 1, nTasks do
  if ARGV[i + 4] == '1' then
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('HDEL', KEYS[4], ARGV[i])
    redis.call('SET', KEYS[ended], ARGV[i + 3], 'EX', ARGV[3])
    ended = ended + 1
  else
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 3])
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2])
  end
  i = i + TASK_ARGS
end
local seq = redis.call('INCR', KEYS[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', 's', seq, 'p', ARGV[1])
return {1}
