package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// Control's share of the Bull 4 view of the queue (see events/bull.go): the
// generator adds jobs, processors move them through active to completed or
// failed, and control moves them between lists when the run says so.

// releaseScript moves the NORMAL jobs, held in paused until the VIP drain,
// to wait: a rename when wait is empty, as it is once every VIP order is
// done; otherwise one by one behind what waits. KEYS: wait, paused.
const releaseScript = `
local n = redis.call('LLEN', KEYS[2])
if n == 0 then return 0 end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('RENAME', KEYS[2], KEYS[1])
  return n
end
for _ = 1, n do redis.call('RPOPLPUSH', KEYS[2], KEYS[1]) end
return n
`

// requeueScript puts the jobs left in active back at the right end of wait,
// oldest last so that it is taken first. KEYS: active, wait.
const requeueScript = `
local n = redis.call('LLEN', KEYS[1])
for _ = 1, n do redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') end
return n
`

// cleanSetScript removes the oldest ARGV[2] jobs of a sorted set and their
// hashes. KEYS: the set. ARGV: key prefix, limit.
const cleanSetScript = `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
if #ids > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1) end
return #ids
`

// cleanWaitScript removes up to ARGV[2] of the oldest waiting jobs, from
// wait then paused, with their hashes, and returns how many were VIP and
// NORMAL orders. KEYS: wait, paused. ARGV: key prefix, limit.
const cleanWaitScript = `
local limit, vip, normal = tonumber(ARGV[2]), 0, 0
for _, list in ipairs(KEYS) do
  while vip + normal < limit do
    local id = redis.call('RPOP', list)
    if not id then break end
    local data = redis.call('HGET', ARGV[1] .. id, 'data') or ''
    if string.find(data, '"priority":"VIP"', 1, true) then vip = vip + 1 else normal = normal + 1 end
    redis.call('DEL', ARGV[1] .. id)
  end
end
return {vip, normal}
`

// jobs runs control's moves on the Bull view.
type jobs struct {
	rdb                                *redis.Client
	release, requeue, cleanSet, cleanW *redis.Script
}

func newJobs(rdb *redis.Client) *jobs {
	return &jobs{
		rdb:      rdb,
		release:  redis.NewScript(releaseScript),
		requeue:  redis.NewScript(requeueScript),
		cleanSet: redis.NewScript(cleanSetScript),
		cleanW:   redis.NewScript(cleanWaitScript),
	}
}

func key(name string) string { return events.BullKey(name) }

// releaseNormal moves the NORMAL jobs from paused to wait: the VIP drain.
func (j *jobs) releaseNormal(ctx context.Context) error {
	return j.release.Run(ctx, j.rdb, []string{key(events.BullWait), key(events.BullPaused)}).Err()
}

// settle tidies the view when a run ends. After DONE nothing waits or is
// active, so whatever is left there is stale and dropped; after ERROR or
// ABORTED the jobs left in active go back to wait, as their orders did.
func (j *jobs) settle(ctx context.Context, done bool) error {
	if done {
		return j.rdb.Del(ctx, key(events.BullActive), key(events.BullWait), key(events.BullPaused)).Err()
	}
	return j.requeue.Run(ctx, j.rdb, []string{key(events.BullActive), key(events.BullWait)}).Err()
}

// setPaused marks the queue paused for Bull tools, or not.
func (j *jobs) setPaused(ctx context.Context, paused bool) error {
	if paused {
		return j.rdb.Set(ctx, key(events.BullMetaPaused), 1, 0).Err()
	}
	return j.rdb.Del(ctx, key(events.BullMetaPaused)).Err()
}

// removePending takes every waiting and active job out of the view and
// returns how many there were, and the lists that still name their job
// hashes, for emptyTrash. The lists are renamed away at once, so nothing sees
// them again; deleting a million job hashes takes longer.
func (j *jobs) removePending(ctx context.Context) (int64, []string, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	var trash []string
	var total int64
	for _, list := range []string{events.BullWait, events.BullPaused, events.BullActive} {
		n, err := j.rdb.LLen(ctx, key(list)).Result()
		if err != nil {
			return total, trash, fmt.Errorf("counting %s jobs: %w", list, err)
		}
		if n == 0 {
			continue
		}
		to := "pedidos:trash:" + stamp + ":" + list
		if err := j.rdb.Rename(ctx, key(list), to).Err(); err != nil {
			return total, trash, fmt.Errorf("moving %s jobs away: %w", list, err)
		}
		trash = append(trash, to)
		total += n
	}
	return total, trash, nil
}

// emptyTrash deletes the job hashes named in trash lists, then the lists.
func (j *jobs) emptyTrash(ctx context.Context, lists ...string) error {
	const chunk = 5000
	for _, list := range lists {
		for {
			ids, err := j.rdb.LPopCount(ctx, list, chunk).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return fmt.Errorf("emptying %s: %w", list, err)
			}
			if len(ids) == 0 {
				break
			}
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = key(id)
			}
			if err := j.rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("deleting job hashes: %w", err)
			}
		}
	}
	return nil
}

// sweep empties trash lists a previous control left behind.
func (j *jobs) sweep(ctx context.Context) error {
	var lists []string
	iter := j.rdb.Scan(ctx, 0, "pedidos:trash:*", 100).Iterator()
	for iter.Next(ctx) {
		lists = append(lists, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("looking for trash: %w", err)
	}
	return j.emptyTrash(ctx, lists...)
}

// cleanSetJobs removes up to limit of the oldest jobs of a sorted set.
func (j *jobs) cleanSetJobs(ctx context.Context, set string, limit int64) (int64, error) {
	n, err := j.cleanSet.Run(ctx, j.rdb, []string{key(set)}, key(""), limit).Int64()
	if err != nil {
		return 0, fmt.Errorf("cleaning %s jobs: %w", set, err)
	}
	return n, nil
}

// cleanWait removes up to limit of the oldest waiting jobs and returns how
// many were VIP and NORMAL orders.
func (j *jobs) cleanWait(ctx context.Context, limit int64) (events.ByPriority, error) {
	res, err := j.cleanW.Run(ctx, j.rdb, []string{key(events.BullWait), key(events.BullPaused)}, key(""), limit).Int64Slice()
	if err != nil || len(res) != 2 {
		return events.ByPriority{}, fmt.Errorf("cleaning waiting jobs: %w", err)
	}
	return events.ByPriority{VIP: res[0], Normal: res[1]}, nil
}

// wipe deletes every key of the view and every run counter.
func (j *jobs) wipe(ctx context.Context) (int64, error) {
	var deleted int64
	for _, pattern := range []string{events.BullKey("*"), "pedidos:*"} {
		iter := j.rdb.Scan(ctx, 0, pattern, 5000).Iterator()
		batch := make([]string, 0, 5000)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			n, err := j.rdb.Unlink(ctx, batch...).Result()
			deleted += n
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return deleted, fmt.Errorf("deleting %s: %w", pattern, err)
				}
			}
		}
		if err := iter.Err(); err != nil {
			return deleted, fmt.Errorf("scanning %s: %w", pattern, err)
		}
		if err := flush(); err != nil {
			return deleted, fmt.Errorf("deleting %s: %w", pattern, err)
		}
	}
	return deleted, nil
}
