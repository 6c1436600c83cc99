package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// pingTimeout bounds each readiness check.
const pingTimeout = 2 * time.Second

// Values of the status fields of the probes.
const (
	statusOK          = "ok"
	statusUnavailable = "unavailable"
)

// readiness is the answer of GET /pedidos/health/ready.
type readiness struct {
	Status string          `json:"status"`
	Checks readinessChecks `json:"checks"`
}

// readinessChecks holds "ok" or what is wrong, per dependency.
type readinessChecks struct {
	NATS  string `json:"nats"`
	Mongo string `json:"mongo"`
	Redis string `json:"redis"`
}

// live handles GET /pedidos/health/live: the process answers.
func (s *server) live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": statusOK})
}

// ready handles GET /pedidos/health/ready: 200 when NATS (connected, run
// state watched), MongoDB and Redis all answer, else 503.
func (s *server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), pingTimeout)
	defer cancel()
	var r readiness
	var wg sync.WaitGroup
	wg.Go(func() { r.Checks.NATS = s.checkNATS() })
	wg.Go(func() { r.Checks.Mongo = checkText(s.stores.mongo.Ping(ctx, nil)) })
	wg.Go(func() { r.Checks.Redis = checkText(s.stores.redis.Ping(ctx).Err()) })
	wg.Wait()

	status := http.StatusOK
	r.Status = statusOK
	if r.Checks != (readinessChecks{NATS: statusOK, Mongo: statusOK, Redis: statusOK}) {
		status, r.Status = http.StatusServiceUnavailable, statusUnavailable
	}
	return c.JSON(status, r)
}

func (s *server) checkNATS() string {
	if nc := s.stores.nc; !nc.IsConnected() {
		return "not connected: " + nc.Status().String()
	}
	return checkText(s.cache.ready())
}

func checkText(err error) string {
	if err != nil {
		return err.Error()
	}
	return statusOK
}

// Values of the status of GET /pedidos/health/queue, from the worst.
const (
	// healthUnhealthy: Redis or the run state cannot be read (a 503).
	healthUnhealthy = "unhealthy"
	// healthError: the current run stopped on an error.
	healthError = "error"
	// healthAborted: the current run was cancelled.
	healthAborted = "aborted"
	// healthPaused: an operator paused the queue.
	healthPaused = "paused"
	// healthDegraded: the queue holds failed jobs, the run is stuck, or
	// this instance's queue connection is closed.
	healthDegraded = "degraded"
	healthHealthy  = "healthy"
)

// queueHealth is the answer of GET /pedidos/health/queue.
type queueHealth struct {
	Status    string          `json:"status"`
	Timestamp Time            `json:"timestamp"`
	Queue     queueCondition  `json:"queue"`
	Processor processorStatus `json:"processor"`
	Checks    queueChecks     `json:"checks"`
}

// queueCondition is the Bull state's counts; they are null when the queue
// connection is closed or Redis does not answer.
type queueCondition struct {
	Connected bool   `json:"connected"`
	Paused    bool   `json:"paused"`
	Waiting   *int64 `json:"waiting"`
	Active    *int64 `json:"active"`
	Completed *int64 `json:"completed"`
	Failed    *int64 `json:"failed"`
	Delayed   *int64 `json:"delayed"`
}

// processorStatus says what the processors are doing.
type processorStatus struct {
	// Phase is the current run's phase; null when it cannot be read.
	Phase *events.Phase `json:"phase"`
	// IsProcessing: the run is in one of the five phases between IDLE and
	// its end, paused or not (as the original derived it from the phase).
	IsProcessing bool `json:"isProcessing"`
	// EnqueueVIPTimeMs and EnqueueNormalTimeMs are as in GET /pedidos:
	// how long the run spent in ENQUEUE_VIP and ENQUEUE_NORMAL, null until
	// it entered them.
	EnqueueVIPTimeMs    *int64 `json:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs *int64 `json:"enqueueNormalTimeMs"`
	// Aborting: a cancel (or a forced reset) sent through this api
	// instance waits for control's answer.
	Aborting bool `json:"aborting"`
}

// queueChecks are the checks behind the status.
type queueChecks struct {
	// QueueResponsive: the job counts were read.
	QueueResponsive bool `json:"queueResponsive"`
	HasFailedJobs   bool `json:"hasFailedJobs"`
	// IsStuck: see stallWatch.
	IsStuck bool `json:"isStuck"`
	// Aborted: the current run was cancelled.
	Aborted bool `json:"aborted"`
}

// queueHealth handles GET /pedidos/health/queue: 200 with the status while
// Redis and the run state can be read, else 503 with status unhealthy.
func (s *server) queueHealth(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), pingTimeout)
	defer cancel()
	h := queueHealth{Timestamp: Time{time.Now()}}
	h.Queue.Paused = s.cache.queuePaused()
	h.Processor.Aborting = s.aborting.Load() > 0
	runOK := s.runHealth(ctx, &h)
	closed, queueOK := s.jobsHealth(ctx, &h)

	code := http.StatusOK
	switch {
	case !runOK || !queueOK:
		code, h.Status = http.StatusServiceUnavailable, healthUnhealthy
	case *h.Processor.Phase == events.PhaseError:
		h.Status = healthError
	case h.Checks.Aborted:
		h.Status = healthAborted
	case h.Queue.Paused:
		h.Status = healthPaused
	case closed || h.Checks.IsStuck || h.Checks.HasFailedJobs:
		h.Status = healthDegraded
	default:
		h.Status = healthHealthy
	}
	return c.JSON(code, h)
}

// runHealth fills in the processor's part of h and reports whether the
// run state could be read: NATS connected, the state bucket watched, the
// counters read.
func (s *server) runHealth(ctx context.Context, h *queueHealth) bool {
	if s.checkNATS() != statusOK {
		return false
	}
	st, err := s.status(ctx)
	if err != nil {
		return false
	}
	h.Processor.Phase = &st.Phase
	h.Processor.IsProcessing = st.Phase.Active()
	h.Processor.EnqueueVIPTimeMs, h.Processor.EnqueueNormalTimeMs = st.EnqueueVIPTimeMs, st.EnqueueNormalTimeMs
	h.Checks.IsStuck = st.stuck
	h.Checks.Aborted = st.Phase == events.PhaseAborted
	return true
}

// jobsHealth fills in the queue's counts in h. It reports whether the
// queue connection is closed (POST /queue/close), and whether it is
// closed or answered: only Redis not answering makes the queue unhealthy.
func (s *server) jobsHealth(ctx context.Context, h *queueHealth) (closed, ok bool) {
	view, err := s.stores.queue.get()
	if err != nil {
		return true, true
	}
	n, err := view.JobCounts(ctx)
	if errors.Is(err, redis.ErrClosed) { // closed while being read
		return true, true
	}
	if err != nil {
		return false, false
	}
	h.Queue.Connected, h.Checks.QueueResponsive = true, true
	h.Queue.Waiting, h.Queue.Active, h.Queue.Completed = &n.Wait, &n.Active, &n.Completed
	h.Queue.Failed, h.Queue.Delayed = &n.Failed, &n.Delayed
	h.Checks.HasFailedJobs = n.Failed > 0
	return false, true
}
