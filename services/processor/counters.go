package processor

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// tally counts the orders of one batch that reached a final state, per run.
// A batch holds one priority and one processedAt, whatever its runs.
type tally struct {
	priority events.Priority
	at       time.Time // the batch's processedAt
	done     time.Time // when MongoDB acknowledged the batch write
	runs     map[string]*runTally
}

type runTally struct{ processed, failed int64 }

func newTally(p events.Priority, at time.Time) *tally {
	return &tally{priority: p, at: at, runs: map[string]*runTally{}}
}

// add counts one order of runID written now, failed or processed.
func (t *tally) add(runID string, failed bool) {
	r := t.runs[runID]
	if r == nil {
		r = &runTally{}
		t.runs[runID] = r
	}
	if failed {
		r.failed++
	} else {
		r.processed++
	}
}

// counterScript adds a batch to a run's counters and widens its processing
// window, atomically. KEYS[1]: the run hash. ARGV: processed field, failed
// field, first field, last field, done field, processed count, failed count,
// processedAt (ms), write acknowledged at (ms).
const counterScript = `
if tonumber(ARGV[6]) > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[6]) end
if tonumber(ARGV[7]) > 0 then redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[7]) end
local at = tonumber(ARGV[8])
local first = tonumber(redis.call('HGET', KEYS[1], ARGV[3]))
if not first or at < first then redis.call('HSET', KEYS[1], ARGV[3], ARGV[8]) end
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[4]))
if not last or at > last then redis.call('HSET', KEYS[1], ARGV[4], ARGV[8]) end
local done = tonumber(redis.call('HGET', KEYS[1], ARGV[5]))
if not done or tonumber(ARGV[9]) > done then redis.call('HSET', KEYS[1], ARGV[5], ARGV[9]) end
return 1
`

// counters keeps the per-run counters in Redis.
type counters struct {
	rdb    *redis.Client
	script *redis.Script
}

func newCounters(rdb *redis.Client) *counters {
	return &counters{rdb: rdb, script: redis.NewScript(counterScript)}
}

// add applies a batch's tally, retrying briefly: a Redis blip must not cost
// a count.
func (c *counters) add(ctx context.Context, t *tally) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("updating run counters: %w", ctx.Err())
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		if err = c.apply(ctx, t); err == nil {
			return nil
		}
	}
	return fmt.Errorf("updating run counters: %w", err)
}

func (c *counters) apply(ctx context.Context, t *tally) error {
	p := t.priority
	for runID, r := range t.runs {
		err := c.script.Run(ctx, c.rdb, []string{events.RunCountersKey(runID)},
			events.FieldProcessed(p), events.FieldFailed(p), events.FieldFirst(p), events.FieldLast(p), events.FieldDone(p),
			r.processed, r.failed, t.at.UnixMilli(), t.done.UnixMilli()).Err()
		if err != nil {
			return err
		}
		// Applied: a retry must not count it twice.
		delete(t.runs, runID)
	}
	return nil
}
