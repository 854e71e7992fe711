/**
 * The customer store's Lua scripts: what several onecc nodes may race on (two contacts from one new number at once,
 * a merge while a contact is attached) happens in one script. Every key starts with ARGV[1], the store's prefix,
 * whose hash tag puts them all in one Redis Cluster slot. Key layout (P = prefix):
 *   P c:<id>            hash: the profile (id, createdAt, updatedAt, name, language, preferredChannel, doNotContact,
 *                       consent (JSON), crmId; mergedInto and mergedAt once merged away)
 *   P c:<id>:ids        set of identities;   P i:<identity> → customer id
 *   P c:<id>:timeline   zset interaction → start (ms);   P c:<id>:cases  zset case → opened (ms)
 *   P c:<id>:audit      list of JSON entries;   P c:<id>:merged  set of customer ids merged into this one
 *   P k:<case>          hash: id, customer, openedAt, lastAt, closedAt, closedBy;   P k:<case>:ix  zset interactions
 *   P x:<interaction>   hash: customer, case, identity (what it came in through)
 *   P all               zset customer → created (ms)
 * Replies are arrays; an error is {'err', reason}.
 */

const AUDIT = `
local function audit(cid, entry)
  redis.call('RPUSH', P .. 'c:' .. cid .. ':audit', cjson.encode(entry))
end
`;

/**
 * Attaches an interaction to the customer one of its identities names (the first known, in the order given), or to
 * a new customer; links the identities not yet known; joins the customer's open case if it saw a contact within the
 * idle time, else opens one. Idempotent per interaction.
 * ARGV: prefix, newCustomerId, newCaseId, interaction, startedAtMs, nowMs, caseIdleMs, hintsJson, identities...
 * Reply: {customer, case, 'known' | 'created' | 'matched', conflictsJson}
 */
export const ATTACH = `
local P = ARGV[1]
${AUDIT}
local xkey = P .. 'x:' .. ARGV[4]
local known = redis.call('HMGET', xkey, 'customer', 'case')
if known[1] then return {known[1], known[2], 'known', '[]'} end
local now = tonumber(ARGV[6])
local cid = false
for i = 9, #ARGV do
  local c = redis.call('GET', P .. 'i:' .. ARGV[i])
  if c then cid = c; break end
end
local how = 'matched'
local hints = cjson.decode(ARGV[8])
if not cid then
  cid = ARGV[2]
  how = 'created'
  redis.call('HSET', P .. 'c:' .. cid, 'id', cid, 'createdAt', ARGV[6], 'updatedAt', ARGV[6], 'doNotContact', '0')
  redis.call('ZADD', P .. 'all', now, cid)
  local ids = {}
  for i = 9, #ARGV do ids[#ids + 1] = ARGV[i] end
  audit(cid, {at = now, action = 'created', by = 'onecc', interaction = ARGV[4], identities = #ids > 0 and ids or nil})
end
for k, v in pairs(hints) do redis.call('HSETNX', P .. 'c:' .. cid, k, v) end
local conflicts = {}
for i = 9, #ARGV do
  local key = P .. 'i:' .. ARGV[i]
  local owner = redis.call('GET', key)
  if not owner then
    redis.call('SET', key, cid)
    redis.call('SADD', P .. 'c:' .. cid .. ':ids', ARGV[i])
    if how == 'matched' then audit(cid, {at = now, action = 'identity-linked', by = 'onecc', identity = ARGV[i], interaction = ARGV[4]}) end
  elseif owner ~= cid then
    conflicts[#conflicts + 1] = {identity = ARGV[i], customer = owner}
  end
end
if #conflicts > 0 then audit(cid, {at = now, action = 'identity-conflict', by = 'onecc', interaction = ARGV[4], conflicts = conflicts}) end
local cases = P .. 'c:' .. cid .. ':cases'
local case = false
local last = redis.call('ZREVRANGE', cases, 0, 0)[1]
if last then
  local k = redis.call('HMGET', P .. 'k:' .. last, 'closedAt', 'lastAt')
  if not k[1] and now - tonumber(k[2]) <= tonumber(ARGV[7]) then case = last end
end
if not case then
  case = ARGV[3]
  redis.call('HSET', P .. 'k:' .. case, 'id', case, 'customer', cid, 'openedAt', ARGV[6])
  redis.call('ZADD', cases, now, case)
end
redis.call('HSET', P .. 'k:' .. case, 'lastAt', ARGV[6])
redis.call('ZADD', P .. 'k:' .. case .. ':ix', ARGV[5], ARGV[4])
redis.call('ZADD', P .. 'c:' .. cid .. ':timeline', ARGV[5], ARGV[4])
redis.call('HSET', xkey, 'customer', cid, 'case', case, 'identity', ARGV[9] or '')
redis.call('ZADD', P .. 'active', now, cid)
return {cid, case, how, cjson.encode(conflicts)}
`;

/**
 * Merges customer `from` into `into`: identities, timeline, cases and audit move; the profile keeps into's values and
 * takes from's where into has none; do-not-contact and withdrawn consents win over the other's. `from` remains as a
 * tombstone naming `into`. Refused (reply {'err', reason}) for one customer, an unknown or already merged one, or two
 * different CRM ids.
 * ARGV: prefix, from, into, nowMs, by, reason
 * Reply: {'ok', movedIdentitiesJson, movedInteractions}
 */
export const MERGE = `
local P = ARGV[1]
${AUDIT}
local from, into, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if from == into then return {'err', 'a customer cannot be merged into itself'} end
local F, I = P .. 'c:' .. from, P .. 'c:' .. into
for _, c in ipairs({from, into}) do
  if redis.call('EXISTS', P .. 'c:' .. c) == 0 then return {'err', 'no customer ' .. c} end
  local gone = redis.call('HGET', P .. 'c:' .. c, 'mergedInto')
  if gone then return {'err', 'customer ' .. c .. ' was merged into ' .. gone .. ' already'} end
end
local fcrm, icrm = redis.call('HGET', F, 'crmId'), redis.call('HGET', I, 'crmId')
if fcrm and icrm and fcrm ~= icrm then
  return {'err', 'conflict: the customers have different CRM ids (' .. fcrm .. ', ' .. icrm .. '); split or correct one first'}
end
local ids = redis.call('SMEMBERS', F .. ':ids')
for _, id in ipairs(ids) do
  redis.call('SET', P .. 'i:' .. id, into)
  redis.call('SADD', I .. ':ids', id)
end
local ixs = redis.call('ZRANGE', F .. ':timeline', 0, -1)
for _, ix in ipairs(ixs) do redis.call('HSET', P .. 'x:' .. ix, 'customer', into) end
redis.call('ZUNIONSTORE', I .. ':timeline', 2, I .. ':timeline', F .. ':timeline', 'AGGREGATE', 'MIN')
local cases = redis.call('ZRANGE', F .. ':cases', 0, -1, 'WITHSCORES')
for i = 1, #cases, 2 do
  redis.call('HSET', P .. 'k:' .. cases[i], 'customer', into)
  redis.call('ZADD', I .. ':cases', cases[i + 1], cases[i])
end
for _, field in ipairs({'name', 'language', 'preferredChannel', 'crmId', 'timezone', 'notifications', 'attributes', 'contacts'}) do
  local v = redis.call('HGET', F, field)
  if v then redis.call('HSETNX', I, field, v) end
end
if redis.call('HGET', F, 'doNotContact') == '1' then redis.call('HSET', I, 'doNotContact', '1') end
local fc, ic = redis.call('HGET', F, 'consent'), redis.call('HGET', I, 'consent')
if fc then
  local a, b = cjson.decode(fc), ic and cjson.decode(ic) or {}
  for k, v in pairs(a) do
    if b[k] == nil or v == false then b[k] = v end
  end
  redis.call('HSET', I, 'consent', cjson.encode(b))
end
for _, entry in ipairs(redis.call('LRANGE', F .. ':audit', 0, -1)) do redis.call('RPUSH', I .. ':audit', entry) end
for _, m in ipairs(redis.call('SMEMBERS', F .. ':merged')) do
  redis.call('SADD', I .. ':merged', m)
  redis.call('HSET', P .. 'c:' .. m, 'mergedInto', into)
end
redis.call('SADD', I .. ':merged', from)
redis.call('DEL', F .. ':ids', F .. ':timeline', F .. ':cases', F .. ':audit', F .. ':merged')
local createdAt = redis.call('HGET', F, 'createdAt')
redis.call('DEL', F)
redis.call('HSET', F, 'id', from, 'createdAt', createdAt, 'mergedInto', into, 'mergedAt', ARGV[4])
redis.call('ZREM', P .. 'all', from)
redis.call('ZREM', P .. 'active', from)
redis.call('ZADD', P .. 'active', now, into)
redis.call('HSET', I, 'updatedAt', ARGV[4])
audit(into, {at = now, action = 'merged', by = ARGV[5], reason = ARGV[6], from = from, identities = #ids > 0 and ids or nil, interactions = #ixs})
return {'ok', cjson.encode(ids), #ixs}
`;

/**
 * Splits identities (and the interactions that came in through them, plus any named) off a customer into a new one;
 * the moved interactions form a new case; cases left empty are removed. The new customer keeps do-not-contact and
 * consent as they were (a split never loosens them). Refused for an unknown or merged customer, an identity that is
 * not the customer's, or a split that would leave the customer with no identity.
 * ARGV: prefix, from, newCustomerId, newCaseId, nowMs, by, reason, identityCount, identities..., interactions...
 * Reply: {'ok', newCustomerId, movedInteractionsJson}
 */
export const SPLIT = `
local P = ARGV[1]
${AUDIT}
local from, to, newCase, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local F, T = P .. 'c:' .. from, P .. 'c:' .. to
if redis.call('EXISTS', F) == 0 then return {'err', 'no customer ' .. from} end
local gone = redis.call('HGET', F, 'mergedInto')
if gone then return {'err', 'customer ' .. from .. ' was merged into ' .. gone} end
local count = tonumber(ARGV[8])
local moving = {}
for i = 9, 8 + count do
  if redis.call('SISMEMBER', F .. ':ids', ARGV[i]) == 0 then return {'err', ARGV[i] .. ' is not an identity of customer ' .. from} end
  moving[ARGV[i]] = true
end
if count >= redis.call('SCARD', F .. ':ids') then return {'err', 'a split must leave customer ' .. from .. ' at least one identity'} end
local named = {}
for i = 9 + count, #ARGV do
  if not redis.call('ZSCORE', F .. ':timeline', ARGV[i]) then return {'err', 'interaction ' .. ARGV[i] .. ' is not on customer ' .. from .. '\\'s timeline'} end
  named[ARGV[i]] = true
end
redis.call('HSET', T, 'id', to, 'createdAt', ARGV[5], 'updatedAt', ARGV[5], 'doNotContact', redis.call('HGET', F, 'doNotContact') or '0')
local consent = redis.call('HGET', F, 'consent')
if consent then redis.call('HSET', T, 'consent', consent) end
redis.call('ZADD', P .. 'all', now, to)
redis.call('ZADD', P .. 'active', now, to)
local ids = {}
for i = 9, 8 + count do
  redis.call('SREM', F .. ':ids', ARGV[i])
  redis.call('SADD', T .. ':ids', ARGV[i])
  redis.call('SET', P .. 'i:' .. ARGV[i], to)
  ids[#ids + 1] = ARGV[i]
end
local moved = {}
local timeline = redis.call('ZRANGE', F .. ':timeline', 0, -1, 'WITHSCORES')
for i = 1, #timeline, 2 do
  local ix, at = timeline[i], timeline[i + 1]
  local x = redis.call('HMGET', P .. 'x:' .. ix, 'identity', 'case')
  if named[ix] or (x[1] and moving[x[1]]) then
    moved[#moved + 1] = ix
    redis.call('ZREM', F .. ':timeline', ix)
    redis.call('ZADD', T .. ':timeline', at, ix)
    if x[2] then
      redis.call('ZREM', P .. 'k:' .. x[2] .. ':ix', ix)
      if redis.call('ZCARD', P .. 'k:' .. x[2] .. ':ix') == 0 then
        redis.call('DEL', P .. 'k:' .. x[2])
        redis.call('ZREM', F .. ':cases', x[2])
      end
    end
    if #moved == 1 then
      redis.call('HSET', P .. 'k:' .. newCase, 'id', newCase, 'customer', to, 'openedAt', at, 'lastAt', at)
      redis.call('ZADD', T .. ':cases', at, newCase)
    end
    redis.call('ZADD', P .. 'k:' .. newCase .. ':ix', at, ix)
    redis.call('HSET', P .. 'x:' .. ix, 'customer', to, 'case', newCase)
  end
end
redis.call('HSET', F, 'updatedAt', ARGV[5])
audit(from, {at = now, action = 'split', by = ARGV[6], reason = ARGV[7], to = to, identities = ids, interactions = #moved > 0 and moved or nil})
audit(to, {at = now, action = 'split-from', by = ARGV[6], reason = ARGV[7], from = from, identities = ids, interactions = #moved > 0 and moved or nil})
return {'ok', to, cjson.encode(moved)}
`;

/**
 * Links an identity to a customer by hand. Refused when it is another customer's (merge them instead).
 * ARGV: prefix, customer, identity, nowMs, by
 * Reply: {'ok'} or {'err', reason}
 */
export const LINK = `
local P = ARGV[1]
${AUDIT}
local C = P .. 'c:' .. ARGV[2]
if redis.call('EXISTS', C) == 0 then return {'err', 'no customer ' .. ARGV[2]} end
local gone = redis.call('HGET', C, 'mergedInto')
if gone then return {'err', 'customer ' .. ARGV[2] .. ' was merged into ' .. gone} end
local owner = redis.call('GET', P .. 'i:' .. ARGV[3])
if owner == ARGV[2] then return {'ok'} end
if owner then return {'err', ARGV[3] .. ' belongs to customer ' .. owner .. ' (merge the two customers instead)'} end
redis.call('SET', P .. 'i:' .. ARGV[3], ARGV[2])
redis.call('SADD', C .. ':ids', ARGV[3])
redis.call('HSET', C, 'updatedAt', ARGV[4])
audit(ARGV[2], {at = tonumber(ARGV[4]), action = 'identity-linked', by = ARGV[5], identity = ARGV[3]})
return {'ok'}
`;
