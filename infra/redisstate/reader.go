package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// JobCounts are the counts of Bull's getJobCounts(): the length of each list
// and the size of each sorted set.
type JobCounts struct {
	Wait, Active, Completed, Failed, Delayed, Paused int64
}

// JobCounts reads the job counts in one round trip, in a MULTI transaction
// as Bull does, so that a job moving between two keys is counted once.
func (s *Store) JobCounts(ctx context.Context) (JobCounts, error) {
	var wait, active, completed, failed, delayed, paused *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		wait = p.LLen(ctx, bullKey(listWait))
		active = p.LLen(ctx, bullKey(listActive))
		completed = p.ZCard(ctx, bullKey(setCompleted))
		failed = p.ZCard(ctx, bullKey(setFailed))
		delayed = p.ZCard(ctx, bullKey(setDelayed))
		paused = p.LLen(ctx, bullKey(listPaused))
		return nil
	})
	if err != nil {
		return JobCounts{}, fmt.Errorf("reading job counts: %w", err)
	}
	return JobCounts{
		Wait: wait.Val(), Active: active.Val(), Completed: completed.Val(),
		Failed: failed.Val(), Delayed: delayed.Val(), Paused: paused.Val(),
	}, nil
}

// Job types, as Bull names them.
const (
	TypeWaiting   = "waiting"
	TypeActive    = "active"
	TypeCompleted = "completed"
	TypeFailed    = "failed"
	TypeDelayed   = "delayed"
	TypePaused    = "paused"
)

// JobTypes lists every job type, in the order Bull lists them by default.
func JobTypes() []string {
	return []string{TypeWaiting, TypeActive, TypeCompleted, TypeFailed, TypeDelayed, TypePaused}
}

// bullState is one list or sorted set of the queue and the state of the
// jobs it holds.
type bullState struct {
	name  string // the key's suffix
	state string // the state Bull's job.getState() reports for its jobs
	list  bool   // a list (LRANGE, LLEN), else a sorted set (ZREVRANGE, ZCARD)
}

// bullStates returns the keys that hold jobs of the given types, each once,
// in order. "waiting" reads the wait and the paused lists, as Bull's
// getWaiting() does. Unknown types are ignored.
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
		case TypeWaiting:
			add(bullState{listWait, TypeWaiting, true})
			add(bullState{listPaused, TypePaused, true})
		case TypePaused:
			add(bullState{listPaused, TypePaused, true})
		case TypeActive:
			add(bullState{listActive, TypeActive, true})
		case TypeCompleted:
			add(bullState{setCompleted, TypeCompleted, false})
		case TypeFailed:
			add(bullState{setFailed, TypeFailed, false})
		case TypeDelayed:
			add(bullState{setDelayed, TypeDelayed, false})
		}
	}
	return out
}

// JobInfo is one job as GET /queue/jobs shows it: the fields of Bull's
// job.toJSON() that matter here. Times are Unix milliseconds, as Bull keeps
// them; a field the job hash lacks is null.
type JobInfo struct {
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

// Jobs lists the jobs of the given types, newest first, as Bull's
// queue.getJobs(types, start, end) means them: the range [start, end],
// both ends included, applies to each key on its own (lists from their
// newest job, sorted sets from the highest finishedOn), and the keys' jobs
// follow one another in the order of the types. It also returns how many
// jobs the keys hold. Ranges and counts come in one round trip, the job
// hashes in a second.
//
// A job whose hash is gone (trimmed while it was read, or never written for
// a job that only waits) is shown with its id, its state and null fields,
// where Bull would return null.
func (s *Store) Jobs(ctx context.Context, types []string, start, end int64) (int64, []JobInfo, error) {
	total, jobs, err := s.rangeJobs(ctx, bullStates(types), start, end)
	if err != nil || len(jobs) == 0 {
		return total, jobs, err
	}
	hashes := make([]*redis.MapStringStringCmd, len(jobs))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range jobs {
			hashes[i] = p.HGetAll(ctx, bullKey(jobs[i].ID))
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("reading job hashes: %w", err)
	}
	for i := range jobs {
		jobs[i].fill(hashes[i].Val())
	}
	return total, jobs, nil
}

// rangeJobs reads the ids in [start, end] of every key of states, and how
// many jobs the keys hold, in one MULTI transaction.
func (s *Store) rangeJobs(ctx context.Context, states []bullState, start, end int64) (int64, []JobInfo, error) {
	ids := make([]*redis.StringSliceCmd, len(states))
	counts := make([]*redis.IntCmd, len(states))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range states {
			key := bullKey(st.name)
			if st.list {
				// Lists hold the newest job at their right end.
				ids[i], counts[i] = p.LRange(ctx, key, -end-1, -start-1), p.LLen(ctx, key)
			} else {
				ids[i], counts[i] = p.ZRevRange(ctx, key, start, end), p.ZCard(ctx, key)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("listing jobs: %w", err)
	}
	var total int64
	jobs := []JobInfo{}
	for i, st := range states {
		total += counts[i].Val()
		got := ids[i].Val()
		if st.list {
			// LRANGE -end-1 -start-1 clamps like any LRANGE, so it never
			// returns a job outside [start, end] counted from the newest.
			got = reversed(got)
		}
		for _, id := range got {
			jobs = append(jobs, JobInfo{ID: id, State: st.state})
		}
	}
	return total, jobs, nil
}

// reversed returns ids in reverse order.
func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

// fill sets the fields of j from its job hash h. A number that does not
// parse is shown as null (Bull's parseInt would make it NaN): one odd hash
// must not hide the others.
func (j *JobInfo) fill(h map[string]string) {
	j.Name = BullJobName
	if v := h[fieldName]; v != "" {
		j.Name = v
	}
	j.Timestamp = hashInt(h, fieldTimestamp)
	j.ProcessedOn = hashInt(h, fieldProcessedOn)
	j.FinishedOn = hashInt(h, fieldFinishedOn)
	if n := hashInt(h, fieldAttemptsMade); n != nil {
		j.AttemptsMade = *n
	}
	if v, ok := h[fieldFailedReason]; ok {
		j.FailedReason = &v
	}
	j.Data = jobData(h[fieldData])
}

// hashInt decodes an integer field: nil when absent or malformed.
func hashInt(h map[string]string, name string) *int64 {
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
