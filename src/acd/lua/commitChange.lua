--[[
  commitChange: applies one ACD change atomically: task records checked against the revision they were based on,
  agent operations applied to the agents as stored (see agent-op.ts, which this mirrors), all or nothing.

  KEYS[1] agents (hash id -> record JSON)      KEYS[2] tasks (hash id -> record JSON)
  KEYS[3] task revisions (hash id -> rev)      KEYS[4] change log (stream)      KEYS[5] change sequence (counter)
  KEYS[6..] one ended-task key per retired task, in the order the tasks come in ARGV
  ARGV[1] the change as published, agents by position (JSON)     ARGV[2] approximate maximum length of the log
  ARGV[3] seconds an ended task is kept        ARGV[4] number of agent ops   ARGV[5] number of tasks
  ARGV[6] cross-channel rules (JSON)
  then per agent: id, op JSON; per task: id, base rev, new rev, record JSON, "1" if it ends else "0".

  A task is written only where the stored revision equals its base ("" = absent). Revisions are unique, so stored
  revision = new revision for every task means this change was committed before (a resend after a reconnect).

  Returns {1, agentJSON...} written (agents as they now are); {2} already written;
  {0, agentJSON..., taskJSON...} nothing written (a task moved on, or an agent op's precondition failed): the
  stored records ("" where absent), in ARGV order.
  Publishes: XADD to KEYS[4] with fields s (sequence number), p (ARGV[1]) and a1..aN (the agents' new records).
]]
local nAgents = tonumber(ARGV[4])
local nTasks = tonumber(ARGV[5])
local AGENT_ARGS, TASK_ARGS = 2, 5
local FIRST_TASK = 7 + nAgents * AGENT_ARGS
local channels = {'voice', 'video', 'chat', 'email'}

local function stored_records()
  local reply = {0}
  local i = 7
  for _ = 1, nAgents do
    reply[#reply + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or ''
    i = i + AGENT_ARGS
  end
  for _ = 1, nTasks do
    reply[#reply + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or ''
    i = i + TASK_ARGS
  end
  return reply
end

-- Tasks: compare-and-set on revisions.
local conflict, already = false, nTasks > 0
local i, ended = FIRST_TASK, 6
for _ = 1, nTasks do
  local stored = redis.call('HGET', KEYS[3], ARGV[i]) or ''
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
  return stored_records()
end

-- Agents: apply each operation to the stored record.
local rules = cjson.decode(ARGV[6])
local function held(agent, c) return agent.reserved[c] + agent.busy[c] end
local function ready(agent, now) return agent.presence == 'ready' and agent.wrapUpUntil <= now end
local function has_free_slot(agent, c)
  if held(agent, c) >= agent.capacity[c] then return false end
  for _, rule in ipairs(rules) do
    local on = false
    for _, w in ipairs(rule.whileOn) do if held(agent, w) > 0 then on = true end end
    if on and held(agent, c) >= rule.limits[c] then return false end
  end
  return true
end

local results = {}
i = 7
for a = 1, nAgents do
  local op = cjson.decode(ARGV[i + 1])
  local json = redis.call('HGET', KEYS[1], ARGV[i])
  local agent
  if json then agent = cjson.decode(json) elseif op.create then agent = op.create else return stored_records() end
  local now = op.now
  local was_ready = ready(agent, now)
  if op.requireNoBusy then
    for _, c in ipairs(channels) do if agent.busy[c] > 0 then return stored_records() end end
  end
  if op.offer and (not was_ready or not has_free_slot(agent, op.offer)) then return stored_records() end
  if op.set then for k, v in pairs(op.set) do agent[k] = v end end
  for _, c in ipairs(channels) do
    if op.reserved and op.reserved[c] then agent.reserved[c] = agent.reserved[c] + op.reserved[c] end
    if op.busy and op.busy[c] then agent.busy[c] = agent.busy[c] + op.busy[c] end
    if agent.reserved[c] < 0 or agent.busy[c] < 0 or held(agent, c) > agent.capacity[c] then return stored_records() end
  end
  if op.wrapUpAtLeast and op.wrapUpAtLeast > agent.wrapUpUntil then agent.wrapUpUntil = op.wrapUpAtLeast end
  local free = true
  for _, c in ipairs(channels) do if held(agent, c) > 0 then free = false end end
  if (op.idleIfBecomesReady and not was_ready and ready(agent, now)) or (op.idleIfFree and free) then agent.idleSince = now end
  agent.v = agent.v + 1
  agent.rev = op.rev
  results[a] = cjson.encode(agent)
  i = i + AGENT_ARGS
end

-- All checks passed: write.
i = 7
for a = 1, nAgents do
  redis.call('HSET', KEYS[1], ARGV[i], results[a])
  i = i + AGENT_ARGS
end
ended = 6
for _ = 1, nTasks do
  if ARGV[i + 4] == '1' then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('SET', KEYS[ended], ARGV[i + 3], 'EX', ARGV[3])
    ended = ended + 1
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 3])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  end
  i = i + TASK_ARGS
end
local seq = redis.call('INCR', KEYS[5])
local entry = {'s', seq, 'p', ARGV[1]}
for a = 1, nAgents do
  entry[#entry + 1] = 'a' .. a
  entry[#entry + 1] = results[a]
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
local reply = {1}
for a = 1, nAgents do reply[#reply + 1] = results[a] end
return reply
