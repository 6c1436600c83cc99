package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// sampleJobsEnd is the last index of each state's jobs GET
// /diagnostics/queue lists (51 per state, as the original's getJobs(…, 0,
// 50)).
const sampleJobsEnd = 50

// diagnosticsAnswer is the answer of GET /diagnostics/queue, the
// original's debug snapshot: this instance's view of the run, the run
// state as persisted, the Bull counts and a sample of jobs.
type diagnosticsAnswer struct {
	MemoryPhase         events.Phase `json:"memoryPhase"`
	HasActiveGeneration bool         `json:"hasActiveGeneration"`
	Aborting            bool         `json:"aborting"`
	// Persisted is the run state in the JetStream KV bucket (the
	// original's process_state document), null before the first run.
	Persisted  *persistedState   `json:"persisted"`
	Counts     diagnosticsCounts `json:"counts"`
	SampleJobs []sampleJob       `json:"sampleJobs"`
}

// persistedState holds the entries of the state bucket; each is null
// when absent.
type persistedState struct {
	Run        *events.Run        `json:"run"`
	Generation *events.Generation `json:"generation"`
	Queue      *events.QueueState `json:"queue"`
}

// diagnosticsCounts are Bull's job counts; paused counts the jobs in the
// paused list.
type diagnosticsCounts struct {
	Waiting   int64 `json:"waiting"`
	Active    int64 `json:"active"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Delayed   int64 `json:"delayed"`
	Paused    int64 `json:"paused"`
}

// sampleJob is one job of the sample.
type sampleJob struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	State        string  `json:"state"`
	AttemptsMade int64   `json:"attemptsMade"`
	FailedReason *string `json:"failedReason"`
	FinishedOn   *int64  `json:"finishedOn"`
}

// getQueueDiagnostics handles GET /diagnostics/queue (not under /pedidos,
// as in the original). It reads the Bull view as GET /pedidos/queue/status
// and /queue/jobs do, so it answers 503 while POST /queue/close holds
// their connection closed.
func (s *server) getQueueDiagnostics(c echo.Context) error {
	ctx := c.Request().Context()
	run, gen, queue := s.cache.entries()
	a := diagnosticsAnswer{
		MemoryPhase: events.PhaseIdle,
		Aborting:    s.aborting.Load() > 0,
		SampleJobs:  []sampleJob{},
	}
	if run != nil {
		a.MemoryPhase, a.HasActiveGeneration = run.Phase, run.Phase.Active()
	}
	if run != nil || gen != nil || queue != nil {
		a.Persisted = &persistedState{Run: run, Generation: gen, Queue: queue}
	}
	var err error
	if a.Counts, a.SampleJobs, err = s.sampleQueue(ctx); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// sampleQueue reads the job counts and the first jobs of each state.
func (s *server) sampleQueue(ctx context.Context) (diagnosticsCounts, []sampleJob, error) {
	view, err := s.stores.queue.get()
	if err != nil {
		return diagnosticsCounts{}, nil, err
	}
	n, err := view.JobCounts(ctx)
	if err != nil {
		return diagnosticsCounts{}, nil, queueError("reading job counts", err)
	}
	counts := diagnosticsCounts{Waiting: n.Wait, Active: n.Active, Completed: n.Completed, Failed: n.Failed,
		Delayed: n.Delayed, Paused: n.Paused}
	types := []string{redisstate.TypeWaiting, redisstate.TypeActive, redisstate.TypeFailed, redisstate.TypeCompleted,
		redisstate.TypeDelayed}
	_, jobs, err := view.Jobs(ctx, types, 0, sampleJobsEnd)
	if err != nil {
		return diagnosticsCounts{}, nil, queueError("reading jobs", err)
	}
	sample := make([]sampleJob, 0, len(jobs))
	for _, j := range jobs {
		sample = append(sample, sampleJob{ID: j.ID, Name: j.Name, State: j.State, AttemptsMade: j.AttemptsMade,
			FailedReason: j.FailedReason, FinishedOn: j.FinishedOn})
	}
	return counts, sample, nil
}
