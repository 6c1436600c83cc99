package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/infra/redisstate"
)

// errQueueClosed answers the queue views while POST /queue/close holds
// their connection closed.
var errQueueClosed = echo.NewHTTPError(http.StatusServiceUnavailable,
	"queue connections closed: POST /pedidos/queue/resume reopens them")

// queueConn is the api's connection to the Bull state in Redis. POST
// /pedidos/queue/close closes it for maintenance and POST
// /pedidos/queue/resume (or a restart) opens it again; meanwhile the queue
// views answer 503. It is not the connection the run status reads, so that
// GET /pedidos keeps working.
type queueConn struct {
	opts *redis.Options

	mu     sync.RWMutex
	client *redis.Client // nil while closed
	store  *redisstate.Store
}

func newQueueConn(opts *redis.Options) *queueConn {
	q := &queueConn{opts: opts}
	q.open()
	return q
}

// get returns the Bull view on the open client, or errQueueClosed.
func (q *queueConn) get() (*redisstate.Store, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.client == nil {
		return nil, errQueueClosed
	}
	return q.store, nil
}

// close closes the client; closing a closed one does nothing. A request
// still using it fails with redis.ErrClosed, which queueError maps to
// errQueueClosed.
func (q *queueConn) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client == nil {
		return nil
	}
	err := q.client.Close()
	q.client, q.store = nil, nil
	return err
}

// open opens a new client unless one is open, and reports whether it did.
// Like every go-redis client it connects on first use.
func (q *queueConn) open() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return false
	}
	q.client = redis.NewClient(q.opts)
	q.store = redisstate.New(q.client, redisstate.Options{})
	return true
}

// queueError maps an error of reading the Bull state to the answer: 503
// whether the connection was closed under the request or Redis is down.
func queueError(what string, err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return errQueueClosed
	}
	return &echo.HTTPError{
		Code:     http.StatusServiceUnavailable,
		Message:  "redis unavailable",
		Internal: fmt.Errorf("%s: %w", what, err),
	}
}

// queueStatus is the answer of GET /pedidos/queue/status: the numbers of
// Bull's getJobCounts() (waiting is the wait list only, as there) plus
// whether an operator paused consumption.
type queueStatus struct {
	Waiting   int64 `json:"waiting"`
	Active    int64 `json:"active"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Delayed   int64 `json:"delayed"`
	// Paused is the operator's pause (POST /queue/pause), not a count.
	Paused bool `json:"paused"`
	// PausedJobs is Bull's "paused" count: jobs held in the paused list
	// (NORMAL orders published before the VIP drain).
	PausedJobs int64 `json:"pausedJobs"`
}

// getQueueStatus handles GET /pedidos/queue/status.
func (s *server) getQueueStatus(c echo.Context) error {
	st, err := s.readQueueStatus(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// readQueueStatus reads the job counts in one round trip and the pause
// from the cached KV entry.
func (s *server) readQueueStatus(ctx context.Context) (queueStatus, error) {
	view, err := s.stores.queue.get()
	if err != nil {
		return queueStatus{}, err
	}
	n, err := view.JobCounts(ctx)
	if err != nil {
		return queueStatus{}, queueError("reading job counts", err)
	}
	return queueStatus{
		Waiting: n.Wait, Active: n.Active, Completed: n.Completed, Failed: n.Failed, Delayed: n.Delayed,
		Paused: s.cache.queuePaused(), PausedJobs: n.Paused,
	}, nil
}

// jobsAnswer is the answer of GET /pedidos/queue/jobs.
type jobsAnswer struct {
	// Total is how many jobs the requested states hold.
	Total int64                `json:"total"`
	Types []string             `json:"types"`
	Range jobsRange            `json:"range"`
	Jobs  []redisstate.JobInfo `json:"jobs"`
}

// jobsRange is the requested range, both ends included, as Bull takes it.
type jobsRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// getQueueJobs handles GET /pedidos/queue/jobs?types=…&start=…&end=….
func (s *server) getQueueJobs(c echo.Context) error {
	q, err := parseJobsQuery(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	view, err := s.stores.queue.get()
	if err != nil {
		return err
	}
	total, jobs, err := view.Jobs(c.Request().Context(), q.types, q.start, q.end)
	if err != nil {
		return queueError("reading jobs", err)
	}
	return c.JSON(http.StatusOK, jobsAnswer{
		Total: total, Types: q.types, Range: jobsRange{Start: q.start, End: q.end}, Jobs: jobs,
	})
}

// closeQueue handles POST /pedidos/queue/close: it closes this instance's
// connection to the Bull state. Consumption goes on; only this api stops
// reading the queue until POST /queue/resume or a restart.
func (s *server) closeQueue(c echo.Context) error {
	if err := s.stores.queue.close(); err != nil {
		s.logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "closing the queue connection", slog.Any("error", err))
	}
	return c.JSON(http.StatusOK, map[string]bool{"closed": true})
}
