package api

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// This file reads the Bull 4 state of the queue (see events/bull.go) the
// way the bull npm library does, so that the api and Bull tooling pointed
// at the same Redis agree.

// jobCounts are the counts of Bull's getJobCounts(): the length of each
// list and the size of each sorted set.
type jobCounts struct {
	Wait, Active, Completed, Failed, Delayed, Paused int64
}

// readJobCounts reads the job counts in one round trip, in a MULTI
// transaction as Bull does, so that a job moving between two keys is
// counted once.
func readJobCounts(ctx context.Context, rdb redis.Cmdable) (jobCounts, error) {
	var wait, active, completed, failed, delayed, paused *redis.IntCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		wait = p.LLen(ctx, events.BullKey(events.BullWait))
		active = p.LLen(ctx, events.BullKey(events.BullActive))
		completed = p.ZCard(ctx, events.BullKey(events.BullCompleted))
		failed = p.ZCard(ctx, events.BullKey(events.BullFailed))
		delayed = p.ZCard(ctx, events.BullKey(events.BullDelayed))
		paused = p.LLen(ctx, events.BullKey(events.BullPaused))
		return nil
	})
	if err != nil {
		return jobCounts{}, err
	}
	return jobCounts{
		Wait: wait.Val(), Active: active.Val(), Completed: completed.Val(),
		Failed: failed.Val(), Delayed: delayed.Val(), Paused: paused.Val(),
	}, nil
}

// Job types of GET /queue/jobs, as Bull names them.
const (
	typeWaiting   = "waiting"
	typeActive    = "active"
	typeCompleted = "completed"
	typeFailed    = "failed"
	typeDelayed   = "delayed"
	typePaused    = "paused"
)

// jobTypes lists every job type, in the order Bull lists them by default.
func jobTypes() []string {
	return []string{typeWaiting, typeActive, typeCompleted, typeFailed, typeDelayed, typePaused}
}

// bullState is one list or sorted set of the queue and the state of the
// jobs it holds.
type bullState struct {
	name  string // the key's suffix: events.BullWait, …
	state string // the state Bull's job.getState() reports for its jobs
	list  bool   // a list (LRANGE, LLEN), else a sorted set (ZREVRANGE, ZCARD)
}

// bullStates returns the keys that hold jobs of the given types, each once,
// in order. "waiting" reads the wait and the paused lists, as Bull's
// getWaiting() does.
func bullStates(types []string) []bullState {
	var out []bullState
	add := func(s bullState) {
		for _, o := range out {
			if o.name == s.name {
				return
			}
		}
		out = append(out, s)
	}
	for _, t := range types {
		switch t {
		case typeWaiting:
			add(bullState{events.BullWait, typeWaiting, true})
			add(bullState{events.BullPaused, typePaused, true})
		case typePaused:
			add(bullState{events.BullPaused, typePaused, true})
		case typeActive:
			add(bullState{events.BullActive, typeActive, true})
		case typeCompleted:
			add(bullState{events.BullCompleted, typeCompleted, false})
		case typeFailed:
			add(bullState{events.BullFailed, typeFailed, false})
		case typeDelayed:
			add(bullState{events.BullDelayed, typeDelayed, false})
		}
	}
	return out
}

// jobEntry is one job as GET /queue/jobs shows it: the fields of Bull's
// job.toJSON() that matter here. Times are Unix milliseconds, as Bull
// keeps them; a field the job hash lacks is null.
type jobEntry struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	State        string          `json:"state"`
	Timestamp    *int64          `json:"timestamp"`
	ProcessedOn  *int64          `json:"processedOn"`
	FinishedOn   *int64          `json:"finishedOn"`
	AttemptsMade int64           `json:"attemptsMade"`
	FailedReason *string         `json:"failedReason"`
	Data         json.RawMessage `json:"data"`
}

// readJobs lists jobs as Bull's queue.getJobs(types, start, end) does with
// its default order (asc false): the range [start, end], both ends
// included, applies to each key on its own, lists read from the left
// (newest first: jobs are pushed on the left), sorted sets from the
// highest score (newest finishedOn first), and the keys' jobs follow one
// another in the order of states. It also returns how many jobs the keys
// hold. Ranges and counts come in one round trip, the job hashes in a
// second.
//
// Unlike Bull, which returns null for a job whose hash is gone (trimmed
// while it was read, or never written for a job that only waits), it shows
// the job with its id, state and null fields.
func readJobs(ctx context.Context, rdb redis.Cmdable, states []bullState, start, end int64) (int64, []jobEntry, error) {
	total, jobs, err := rangeJobs(ctx, rdb, states, start, end)
	if err != nil || len(jobs) == 0 {
		return total, jobs, err
	}
	hashes := make([]*redis.MapStringStringCmd, len(jobs))
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range jobs {
			hashes[i] = p.HGetAll(ctx, events.BullKey(jobs[i].ID))
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	for i := range jobs {
		jobs[i].fill(hashes[i].Val())
	}
	return total, jobs, nil
}

// rangeJobs reads the ids in [start, end] of every key of states, and how
// many jobs the keys hold, in one MULTI transaction.
func rangeJobs(ctx context.Context, rdb redis.Cmdable, states []bullState, start, end int64) (int64, []jobEntry, error) {
	ids := make([]*redis.StringSliceCmd, len(states))
	counts := make([]*redis.IntCmd, len(states))
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range states {
			key := events.BullKey(st.name)
			if st.list {
				ids[i], counts[i] = p.LRange(ctx, key, start, end), p.LLen(ctx, key)
			} else {
				ids[i], counts[i] = p.ZRevRange(ctx, key, start, end), p.ZCard(ctx, key)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	var total int64
	jobs := []jobEntry{}
	for i, st := range states {
		total += counts[i].Val()
		for _, id := range ids[i].Val() {
			jobs = append(jobs, jobEntry{ID: id, State: st.state})
		}
	}
	return total, jobs, nil
}

// fill sets the fields of j from its job hash h. A number that does not
// parse is shown as null (Bull's parseInt would make it NaN): one odd hash
// must not hide the others.
func (j *jobEntry) fill(h map[string]string) {
	j.Name = events.BullJobName
	if v := h[events.BullFieldName]; v != "" {
		j.Name = v
	}
	j.Timestamp = intField(h, events.BullFieldTimestamp)
	j.ProcessedOn = intField(h, events.BullFieldProcessedOn)
	j.FinishedOn = intField(h, events.BullFieldFinishedOn)
	if n := intField(h, events.BullFieldAttemptsMade); n != nil {
		j.AttemptsMade = *n
	}
	if v, ok := h[events.BullFieldFailedReason]; ok {
		j.FailedReason = &v
	}
	j.Data = jobData(h[events.BullFieldData])
}

// intField decodes an integer field: nil when absent or malformed.
func intField(h map[string]string, name string) *int64 {
	n, err := strconv.ParseInt(h[name], 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// jobData is a job's data as JSON: the order as published, null when the
// job has none, and a string when it is not JSON.
func jobData(s string) json.RawMessage {
	switch {
	case s == "":
		return json.RawMessage("null")
	case json.Valid([]byte(s)):
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
