package processor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// takeFunction is the Lua both scripts use to take given jobs out of a
// list. Jobs enter a list at its left end and leave it near its right end,
// in about the order they entered. Usually a batch's jobs are exactly the
// list's oldest: one RPOP takes them. Otherwise the list's tail is read, a
// window twice the batch wide, widened until every job is found or maxScan
// entries were read, and written back without them. Either way the cost is
// about the batch, not the list. It returns the jobs taken, oldest first.
const takeFunction = `
local function take(list, ids, maxScan)
  local want, need = {}, 0
  for _, id in ipairs(ids) do
    if not want[id] then want[id] = true; need = need + 1 end
  end
  if need == 0 then return {} end
  local popped = redis.call('RPOP', list, need)
  if not popped then return {} end
  local all = #popped == need
  for _, id in ipairs(popped) do
    if not want[id] then all = false; break end
  end
  if all then return popped end
  local back = {}
  for i = #popped, 1, -1 do back[#back + 1] = popped[i] end
  for i = 1, #back, 1000 do
    redis.call('RPUSH', list, unpack(back, i, math.min(i + 999, #back)))
  end
  local len = redis.call('LLEN', list)
  local size = math.min(len, 2 * need)
  local tail
  while true do
    tail = redis.call('LRANGE', list, -size, -1)
    local found = 0
    for _, id in ipairs(tail) do if want[id] then found = found + 1 end end
    if found >= need or size >= len or size >= maxScan then break end
    size = math.min(len, maxScan, size * 2)
  end
  local kept, found = {}, {}
  for _, id in ipairs(tail) do
    if want[id] then
      want[id] = nil
      found[#found + 1] = id
    else
      kept[#kept + 1] = id
    end
  end
  if #found == 0 then return found end
  local taken = {}
  for i = #found, 1, -1 do taken[#taken + 1] = found[i] end
  redis.call('LTRIM', list, 0, -(#tail + 1))
  for i = 1, #kept, 1000 do
    redis.call('RPUSH', list, unpack(kept, i, math.min(i + 999, #kept)))
  end
  return taken
end
`

// activateScript moves a fetched batch's jobs from wait to active.
// KEYS: wait, active. ARGV: max scan, then the job ids.
const activateScript = takeFunction + `
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local taken = take(KEYS[1], ids, tonumber(ARGV[1]))
for i = 1, #taken, 1000 do
  redis.call('LPUSH', KEYS[2], unpack(taken, i, math.min(i + 999, #taken)))
end
return #taken
`

// finishScript records a written batch in the Bull view: its jobs leave
// active; jobs to retry go back to the right end of wait, next in line and
// in their order;
// completed and failed jobs join their sets (the newest kept, older ones and
// their hashes trimmed). Redis commands are batched where they can be: the
// script's cost is mostly one HSET per kept job.
// KEYS: active, wait, completed, failed.
// ARGV: key prefix, max scan, keep completed, keep failed, processedOn,
// finishedOn, job name, then five values per job: state ("c" completed, "f"
// failed, "r" retry), id, attempts, data, failed reason.
const finishScript = takeFunction + `
local prefix, maxScan = ARGV[1], tonumber(ARGV[2])
local keep = {c = tonumber(ARGV[3]), f = tonumber(ARGV[4])}
local sets = {c = KEYS[3], f = KEYS[4]}
local processedOn, finishedOn, name = ARGV[5], ARGV[6], ARGV[7]
local ids, jobs = {}, {c = {}, f = {}}
for i = 8, #ARGV, 5 do ids[#ids + 1] = ARGV[i + 1] end
take(KEYS[1], ids, maxScan)
local function del(keys)
  for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
end
local again = {}
for i = #ARGV - 4, 8, -5 do
  if ARGV[i] == 'r' then again[#again + 1] = ARGV[i + 1] end
end
for i = 1, #again, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(again, i, math.min(i + 999, #again)))
end
for i = 8, #ARGV, 5 do
  local state = ARGV[i]
  if state ~= 'r' then table.insert(jobs[state], i) end
end
for state, list in pairs(jobs) do
  local first = #list - keep[state] + 1
  local gone, members = {}, {}
  for n, i in ipairs(list) do
    local id = ARGV[i + 1]
    local key = prefix .. id
    if n < first then
      gone[#gone + 1] = key
    else
      if state == 'f' then
        if redis.call('HSETNX', key, 'data', ARGV[i + 3]) == 1 then
          redis.call('HSET', key, 'name', name, 'timestamp', processedOn, 'delay', '0')
        end
        redis.call('HSET', key, 'processedOn', processedOn, 'finishedOn', finishedOn,
          'attemptsMade', ARGV[i + 2], 'failedReason', ARGV[i + 4])
      else
        redis.call('HSET', key, 'processedOn', processedOn, 'finishedOn', finishedOn, 'attemptsMade', ARGV[i + 2])
      end
      members[#members + 1] = finishedOn
      members[#members + 1] = id
    end
  end
  del(gone)
  for i = 1, #members, 1000 do
    redis.call('ZADD', sets[state], unpack(members, i, math.min(i + 999, #members)))
  end
  local over = redis.call('ZCARD', sets[state]) - keep[state]
  if over > 0 then
    local old = redis.call('ZRANGE', sets[state], 0, over - 1)
    for n, id in ipairs(old) do old[n] = prefix .. id end
    del(old)
    redis.call('ZREMRANGEBYRANK', sets[state], 0, over - 1)
  end
end
return 1
`

// maxScan bounds how much of a list one batch reads looking for its jobs:
// far more than the orders in flight on every processor together. A job
// further in is left where it is.
const maxScan = 1 << 16

// jobs keeps the Bull 4 view of the queue (see events/bull.go) as orders
// move through a processor. A nil *jobs does nothing: the view is off.
type jobs struct {
	rdb                     *redis.Client
	activateJobs, finishJob *redis.Script
	keepCompleted           int
	keepFailed              int
}

func newJobs(rdb *redis.Client, keepCompleted, keepFailed int) *jobs {
	return &jobs{
		rdb:           rdb,
		activateJobs:  redis.NewScript(activateScript),
		finishJob:     redis.NewScript(finishScript),
		keepCompleted: keepCompleted,
		keepFailed:    keepFailed,
	}
}

// activate moves a fetched batch's jobs from wait to active.
func (j *jobs) activate(ctx context.Context, items []item) error {
	if j == nil {
		return nil
	}
	args := make([]any, 0, 1+len(items))
	args = append(args, maxScan)
	for i := range items {
		if items[i].order.ID != "" {
			args = append(args, items[i].order.ID)
		}
	}
	if len(args) == 1 {
		return nil
	}
	err := j.activateJobs.Run(ctx, j.rdb, []string{events.BullKey(events.BullWait), events.BullKey(events.BullActive)}, args...).Err()
	if err != nil {
		return fmt.Errorf("moving %d jobs to active: %w", len(args)-1, err)
	}
	return nil
}

// finish records the outcome of a written batch.
func (j *jobs) finish(ctx context.Context, items []item, processedOn, finishedOn time.Time) error {
	if j == nil {
		return nil
	}
	args := make([]any, 0, 7+5*len(items))
	args = append(args, events.BullKey(""), maxScan, j.keepCompleted, j.keepFailed,
		processedOn.UnixMilli(), finishedOn.UnixMilli(), events.BullJobName)
	for i := range items {
		it := &items[i]
		if it.order.ID == "" {
			continue // nothing to name the job by
		}
		state := "c"
		switch {
		case it.outcome == retry:
			state = "r"
		case it.reason != "":
			state = "f"
		}
		// Only a failed job may lack its hash (an order published without
		// one): its data goes along; a completed job's would be dead weight.
		var data []byte
		if state == "f" {
			data = it.msg.Data()
		}
		args = append(args, state, it.order.ID, strconv.Itoa(it.attempts), data, it.reason)
	}
	keys := []string{
		events.BullKey(events.BullActive), events.BullKey(events.BullWait),
		events.BullKey(events.BullCompleted), events.BullKey(events.BullFailed),
	}
	if err := j.finishJob.Run(ctx, j.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("recording %d finished jobs: %w", len(items), err)
	}
	return nil
}
