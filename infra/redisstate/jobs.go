package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// Job is an order as the Bull view sees it: its id, its priority, and, for
// the jobs that get a job hash, its data (the order as published) and when
// it was created.
type Job struct {
	ID        string
	Priority  events.Priority
	Data      []byte
	CreatedAt time.Time
}

// timestamp is Bull's job timestamp: when the order was created, in Unix
// milliseconds.
func (j *Job) timestamp() int64 { return j.CreatedAt.UnixMilli() }

// Settled is a job whose order reached a final state.
type Settled struct {
	Job
	// Attempts is how many deliveries it took.
	Attempts int
	// Reason says why it failed; empty for a completed job.
	Reason string
}

const (
	// addSlice is how many jobs one transaction adds: each transaction
	// stays short, so that Redis serves the processors in between.
	addSlice = 1000
	// markerTTL keeps a slice's marker long after any run ends.
	markerTTL = 24 * time.Hour
)

// AddJobs adds the jobs of chunk c of run runID to the view: the VIP ones to
// wait, the NORMAL ones to paused (their consumer is paused until the VIP
// drain). The newest Options.WaitingJobs of each priority get a job hash.
//
// Jobs are added a slice at a time, each slice in one MULTI/EXEC that also
// sets a marker for it, and a slice whose marker exists is skipped: a
// generator that publishes a chunk again after a restart adds nothing twice.
// While the view is being rebuilt nothing is added: the rebuild reads the
// orders from JetStream.
func (s *Store) AddJobs(ctx context.Context, runID string, c int, jobs []Job) error {
	if s.viewOff() {
		return nil
	}
	hashed := s.newest(jobs)
	for start := 0; start < len(jobs); start += addSlice {
		end := min(start+addSlice, len(jobs))
		marker := markerPrefix + runID + ":" + strconv.Itoa(c) + ":" + strconv.Itoa(start)
		err := s.write(ctx, func() error { return s.addSlice(ctx, marker, jobs[start:end], hashed[start:end]) })
		if err != nil {
			return fmt.Errorf("adding jobs %d to %d of chunk %d of run %s: %w", start, end, c, runID, err)
		}
	}
	return nil
}

// newest marks the jobs that get a job hash: the last WaitingJobs of each
// priority.
func (s *Store) newest(jobs []Job) []bool {
	hashed := make([]bool, len(jobs))
	var vip, normal int
	for i := len(jobs) - 1; i >= 0 && (vip < s.opts.WaitingJobs || normal < s.opts.WaitingJobs); i-- {
		n := &normal
		if jobs[i].Priority == events.PriorityVIP {
			n = &vip
		}
		if *n < s.opts.WaitingJobs {
			hashed[i] = true
			*n++
		}
	}
	return hashed
}

func (s *Store) addSlice(ctx context.Context, marker string, jobs []Job, hashed []bool) error {
	pipe := s.rdb.Pipeline()
	view, added := pipe.Exists(ctx, keyView), pipe.Exists(ctx, marker)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if view.Val() == 0 || added.Val() == 1 {
		return nil // being rebuilt, or added before
	}
	vip := make([]any, 0, len(jobs))
	normal := make([]any, 0, len(jobs))
	pipe = s.rdb.TxPipeline()
	for i := range jobs {
		j := &jobs[i]
		if j.Priority == events.PriorityVIP {
			vip = append(vip, j.ID)
		} else {
			normal = append(normal, j.ID)
		}
		if hashed[i] {
			key := bullKey(j.ID)
			pipe.HSet(ctx, key, fieldName, BullJobName, fieldData, j.Data, fieldTimestamp, j.timestamp(), fieldDelay, 0)
			pipe.Expire(ctx, key, s.opts.WaitingTTL)
		}
	}
	if len(vip) > 0 {
		pipe.RPush(ctx, bullKey(listWait), vip...)
	}
	if len(normal) > 0 {
		pipe.RPush(ctx, bullKey(listPaused), normal...)
	}
	pipe.Set(ctx, marker, 1, markerTTL)
	_, err := pipe.Exec(ctx)
	return err
}

// Activate moves the jobs of a batch a processor fetched from wait to
// active.
func (s *Store) Activate(ctx context.Context, ids []string) error {
	if s.viewOff() || len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	keys := []string{keyView, bullKey(listWait), bullKey(listActive)}
	err := s.write(ctx, func() error { return activateScript.Run(ctx, s.rdb, keys, args...).Err() })
	if err != nil {
		return fmt.Errorf("moving %d jobs to active: %w", len(ids), err)
	}
	return nil
}

// Batch is the outcome of a batch a processor activated: every job of it
// leaves active, to the completed or failed set or back to wait.
type Batch struct {
	// IDs are the jobs of the batch, as activated.
	IDs []string
	// ProcessedOn is when the batch was taken in hand, FinishedOn when
	// MongoDB acknowledged its write.
	ProcessedOn, FinishedOn time.Time
	// Completed and Failed are the jobs whose orders are now stored as
	// processed or failed, in batch order; only the newest that the view
	// keeps are written.
	Completed, Failed []Settled
	// Retry are the jobs whose orders go back to JetStream.
	Retry []Job
}

// keptEvery is how often a processor replaces the whole set of kept
// completed jobs: a batch that alone holds as many completed jobs as the
// view keeps would otherwise rewrite every kept job hash, and delete as
// many, each time.
const keptEvery = 500 * time.Millisecond

// Finish records the outcome of a batch.
func (s *Store) Finish(ctx context.Context, b *Batch) error {
	if s.viewOff() || len(b.IDs) == 0 {
		return nil
	}
	completed := b.Completed[max(0, len(b.Completed)-s.opts.KeepCompleted):]
	if len(completed) > 0 && len(completed) == s.opts.KeepCompleted {
		if !s.replaceKept() {
			completed = nil // the kept jobs stay those of a batch moments older
		}
	}
	failed := b.Failed[max(0, len(b.Failed)-s.opts.KeepFailed):]
	args := make([]any, 0, 13+3*len(b.Retry)+4*len(completed)+5*len(failed))
	args = append(args, bullKeyPrefix, s.opts.KeepCompleted, s.opts.KeepFailed,
		b.ProcessedOn.UnixMilli(), b.FinishedOn.UnixMilli(), BullJobName, int64(s.opts.WaitingTTL/time.Second),
		len(b.IDs), len(b.Retry), len(completed), len(failed), b.IDs[0], b.IDs[len(b.IDs)-1])
	for i := range b.Retry {
		j := &b.Retry[i]
		args = append(args, j.ID, j.timestamp(), j.Data)
	}
	for i := range completed {
		j := &completed[i]
		args = append(args, j.ID, j.timestamp(), j.Attempts, j.Data)
	}
	for i := range failed {
		j := &failed[i]
		args = append(args, j.ID, j.timestamp(), j.Attempts, j.Data, j.Reason)
	}
	keys := []string{keyView, bullKey(listActive), bullKey(listWait), bullKey(setCompleted), bullKey(setFailed)}
	err := s.write(ctx, func() error { return finishScript.Run(ctx, s.rdb, keys, args...).Err() })
	if err != nil {
		return fmt.Errorf("recording %d settled jobs: %w", len(b.IDs), err)
	}
	return nil
}

// replaceKept reports whether the whole set of kept completed jobs may be
// replaced now, at most once every keptEvery.
func (s *Store) replaceKept() bool {
	s.keptMu.Lock()
	defer s.keptMu.Unlock()
	if now := time.Now(); now.Sub(s.keptAt) >= keptEvery {
		s.keptAt = now
		return true
	}
	return false
}

// HandBack returns the jobs of an activated batch to wait, untouched: their
// orders go back to JetStream.
func (s *Store) HandBack(ctx context.Context, jobs []Job) error {
	if s.viewOff() || len(jobs) == 0 {
		return nil
	}
	ids := make([]string, len(jobs))
	for i := range jobs {
		ids[i] = jobs[i].ID
	}
	now := time.Now()
	return s.Finish(ctx, &Batch{IDs: ids, ProcessedOn: now, FinishedOn: now, Retry: jobs})
}
