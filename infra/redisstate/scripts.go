package redisstate

import "github.com/redis/go-redis/v9"

// takeFunction is the Lua the scripts share to take the n jobs of a batch,
// from its oldest job to its newest, out of a list. Jobs enter a list at its right end
// and leave from its left in about the order they entered, so a batch's jobs
// are usually the list's n oldest (or, when handed back, its n newest): then
// exactly those leave, with one LTRIM, recognised by the batch's oldest and
// newest jobs standing at the ends of that range. Otherwise the n oldest
// leave in their place, so that the list stays exact in count. The cost is
// a few commands, however long the list: no scan, no prepend (a prepend
// copies the whole list on miniredis).
const takeFunction = `
local function take(list, oldest, newest, n)
  if n == 0 then return 'none' end
  local len = redis.call('LLEN', list)
  if len >= n then
    -- The batch's own jobs are at an end of the list when its oldest and
    -- its newest are: ids are unique, and jobs keep their order.
    if redis.call('LINDEX', list, 0) == oldest and redis.call('LINDEX', list, n - 1) == newest then
      redis.call('LTRIM', list, n, -1)
      return 'head'
    end
    if redis.call('LINDEX', list, -n) == oldest and redis.call('LINDEX', list, -1) == newest then
      redis.call('LTRIM', list, 0, -n - 1)
      return 'tail'
    end
  end
  redis.call('LPOP', list, n)
  return 'count'
end

local function push(list, ids, first, last)
  for i = first, last, 1000 do
    redis.call('RPUSH', list, unpack(ids, i, math.min(i + 999, last)))
  end
end
`

// activateScript moves a fetched batch's jobs from wait to active, unless
// the view is being rebuilt (no view marker): the rebuild accounts for them.
// KEYS: view marker, wait, active. ARGV: the job ids.
var activateScript = redis.NewScript(takeFunction + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'off' end
local n = #ARGV
local how = take(KEYS[2], ARGV[1], ARGV[n], n)
push(KEYS[3], ARGV, 1, n)
return how
`)

// finishScript records a settled batch: its jobs leave active; jobs to
// retry go back to wait with a job hash that expires; completed and failed
// jobs join their sets with their job hashes, and the oldest beyond the
// kept numbers leave with theirs.
//
// KEYS: view marker, active, wait, completed, failed.
// ARGV: key prefix, keep completed, keep failed, processedOn, finishedOn,
// job name, waiting TTL (s), then the counts nIDs, nRetry, nCompleted,
// nFailed, the batch's oldest and newest job ids, then nRetry triples (id,
// timestamp, data), nCompleted quadruples (id, timestamp, attempts, data),
// nFailed quintuples (id, timestamp, attempts, data, reason).
var finishScript = redis.NewScript(takeFunction + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'off' end
local prefix, name = ARGV[1], ARGV[6]
local processedOn, finishedOn, ttl = ARGV[4], ARGV[5], tonumber(ARGV[7])
local nIDs, nRetry = tonumber(ARGV[8]), tonumber(ARGV[9])
local nDone = {tonumber(ARGV[10]), tonumber(ARGV[11])}
local keep = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local how = take(KEYS[2], ARGV[12], ARGV[13], nIDs)
local i = 14

local again = {}
for _ = 1, nRetry do
  local key = prefix .. ARGV[i]
  again[#again + 1] = ARGV[i]
  redis.call('DEL', key)
  redis.call('HSET', key, 'name', name, 'data', ARGV[i + 2], 'timestamp', ARGV[i + 1], 'delay', '0')
  redis.call('EXPIRE', key, ttl)
  i = i + 3
end
push(KEYS[3], again, 1, #again)

local function del(keys)
  for j = 1, #keys, 1000 do redis.call('DEL', unpack(keys, j, math.min(j + 999, #keys))) end
end
for s = 1, 2 do
  local set, failed = KEYS[3 + s], s == 2
  local members = {}
  for _ = 1, nDone[s] do
    local id = ARGV[i]
    local key = prefix .. id
    redis.call('DEL', key)
    if failed then
      redis.call('HSET', key, 'name', name, 'data', ARGV[i + 3], 'timestamp', ARGV[i + 1], 'delay', '0',
        'processedOn', processedOn, 'finishedOn', finishedOn, 'attemptsMade', ARGV[i + 2], 'failedReason', ARGV[i + 4])
      i = i + 5
    else
      redis.call('HSET', key, 'name', name, 'data', ARGV[i + 3], 'timestamp', ARGV[i + 1], 'delay', '0',
        'processedOn', processedOn, 'finishedOn', finishedOn, 'attemptsMade', ARGV[i + 2])
      i = i + 4
    end
    members[#members + 1] = finishedOn
    members[#members + 1] = id
  end
  for j = 1, #members, 1000 do
    redis.call('ZADD', set, unpack(members, j, math.min(j + 999, #members)))
  end
  local over = redis.call('ZCARD', set) - keep[s]
  if over > 0 then
    local old = redis.call('ZRANGE', set, 0, over - 1)
    for n, id in ipairs(old) do old[n] = prefix .. id end
    del(old)
    redis.call('ZREMRANGEBYRANK', set, 0, over - 1)
  end
end
return how
`)

// releaseScript moves the NORMAL jobs held in paused until the VIP drain to
// wait: a rename when wait is empty, as it is once every VIP order is done;
// otherwise up to ARGV[1] of them, oldest first, behind what waits. It
// returns how many are left in paused. KEYS: paused, wait.
var releaseScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return 0 end
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 0
end
local ids = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
for i = 1, #ids, 1000 do redis.call('RPUSH', KEYS[2], unpack(ids, i, math.min(i + 999, #ids))) end
return n - #ids
`)

// requeueScript puts the jobs left in active back in wait, behind what
// waits: after a run that stopped early their orders are still in
// JetStream. KEYS: active, wait.
var requeueScript = redis.NewScript(`
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for i = 1, #ids, 1000 do redis.call('RPUSH', KEYS[2], unpack(ids, i, math.min(i + 999, #ids))) end
redis.call('DEL', KEYS[1])
return #ids
`)

// cleanSetScript removes the oldest ARGV[2] jobs of a sorted set and their
// hashes. KEYS: the set. ARGV: key prefix, limit.
var cleanSetScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for i, id in ipairs(ids) do ids[i] = ARGV[1] .. id end
for i = 1, #ids, 1000 do redis.call('DEL', unpack(ids, i, math.min(i + 999, #ids))) end
if #ids > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1) end
return #ids
`)

// popOldestScript removes up to ARGV[2] of the oldest jobs of the lists
// KEYS, each list in turn (wait then paused, or active), with their hashes,
// and returns how many. ARGV: key prefix, limit.
var popOldestScript = redis.NewScript(`
local left = tonumber(ARGV[2])
for _, list in ipairs(KEYS) do
  if left <= 0 then break end
  local ids = redis.call('LPOP', list, left)
  if ids then
    left = left - #ids
    for i, id in ipairs(ids) do ids[i] = ARGV[1] .. id end
    for i = 1, #ids, 1000 do redis.call('DEL', unpack(ids, i, math.min(i + 999, #ids))) end
  end
end
return tonumber(ARGV[2]) - left
`)
