package processor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// activateScript moves up to ARGV[1] jobs from the right end of wait (the
// oldest, as Bull takes them) to active, and returns how many it moved.
// KEYS: wait, active.
const activateScript = `
local ids = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not ids then return 0 end
for i = 1, #ids, 1000 do
  redis.call('LPUSH', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
end
return #ids
`

// finishScript records a written batch in the Bull view: it takes the
// batch's count off active, puts jobs to retry back at the right end of wait,
// and adds completed and failed jobs to their sets (newest kept, older jobs
// and their hashes trimmed).
// KEYS: active, wait, completed, failed.
// ARGV: key prefix, active count, keep completed, keep failed, processedOn,
// finishedOn, job name, then five values per job: state ("c" completed, "f"
// failed, "r" retry), id, attempts, data, failed reason.
const finishScript = `
local prefix, taken = ARGV[1], tonumber(ARGV[2])
local keep = {c = tonumber(ARGV[3]), f = tonumber(ARGV[4])}
local sets = {c = KEYS[3], f = KEYS[4]}
local processedOn, finishedOn, name = ARGV[5], ARGV[6], ARGV[7]
if taken > 0 then redis.call('RPOP', KEYS[1], taken) end
local jobs = {c = {}, f = {}}
for i = 8, #ARGV, 5 do
  local state = ARGV[i]
  if state == 'r' then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
  else
    table.insert(jobs[state], i)
  end
end
for state, list in pairs(jobs) do
  local first = #list - keep[state] + 1
  for n, i in ipairs(list) do
    local key = prefix .. ARGV[i + 1]
    if n < first then
      redis.call('DEL', key)
    else
      if redis.call('HSETNX', key, 'data', ARGV[i + 3]) == 1 then
        redis.call('HSET', key, 'name', name, 'timestamp', processedOn, 'delay', '0')
      end
      redis.call('HSET', key, 'processedOn', processedOn, 'finishedOn', finishedOn, 'attemptsMade', ARGV[i + 2])
      if state == 'f' then redis.call('HSET', key, 'failedReason', ARGV[i + 4]) end
      redis.call('ZADD', sets[state], finishedOn, ARGV[i + 1])
    end
  end
  local over = redis.call('ZCARD', sets[state]) - keep[state]
  if over > 0 then
    local old = redis.call('ZRANGE', sets[state], 0, over - 1)
    for _, id in ipairs(old) do redis.call('DEL', prefix .. id) end
    redis.call('ZREMRANGEBYRANK', sets[state], 0, over - 1)
  end
end
return 1
`

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

// activate moves n jobs from wait to active, as a batch of n was fetched.
// It returns how many it moved, which finish takes off active again.
func (j *jobs) activate(ctx context.Context, n int) (int, error) {
	if j == nil || n == 0 {
		return 0, nil
	}
	moved, err := j.activateJobs.Run(ctx, j.rdb, []string{events.BullKey(events.BullWait), events.BullKey(events.BullActive)}, n).Int()
	if err != nil {
		return 0, fmt.Errorf("moving %d jobs to active: %w", n, err)
	}
	return moved, nil
}

// finish records the outcome of a written batch.
func (j *jobs) finish(ctx context.Context, items []item, activated int, processedOn, finishedOn time.Time) error {
	if j == nil {
		return nil
	}
	args := make([]any, 0, 7+5*len(items))
	args = append(args, events.BullKey(""), activated, j.keepCompleted, j.keepFailed,
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
		args = append(args, state, it.order.ID, strconv.Itoa(it.attempts), it.msg.Data(), it.reason)
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
