package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/services/api/sse"
)

// getStatus handles GET /pedidos: the status of the current run.
func (s *server) getStatus(c echo.Context) error {
	st, err := s.status(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// streamEvents handles GET /pedidos/events: phases and progress as
// server-sent events.
func (s *server) streamEvents(c echo.Context) error {
	err := s.hub.Serve(c.Response(), c.Request())
	if errors.Is(err, sse.ErrClosed) {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "shutting down")
	}
	return err
}

// status computes the status of the current run from the cached run state
// and one read of the run's counters in Redis.
func (s *server) status(ctx context.Context) (Status, error) {
	run, gen := s.cache.snapshot()
	var counters events.RunCounters
	if run != nil {
		var err error
		if counters, err = s.counters.get(ctx, s.stores.redis, run.ID, run.Phase.Active()); err != nil {
			return Status{}, err
		}
	}
	now := time.Now()
	st := computeStatus(run, gen, counters, now)
	st.stuck = s.stall.see(&st, s.cache.queuePaused(), now)
	return st, nil
}

// countersFresh is how old the counters of an active run may be when a
// status is computed from them: a refresher reads them this often, so that
// no request waits for Redis, which a processor's script may keep busy for a
// few milliseconds.
const countersFresh = 100 * time.Millisecond

// counterCache holds the latest counters read for a run.
type counterCache struct {
	mu    sync.Mutex
	runID string
	at    time.Time
	value events.RunCounters
}

// get returns the counters of run runID: while the run is active, the cached
// ones if fresh; else read now (once for every caller waiting). An ended
// run's counters are read afresh: they are final, and the system is idle.
func (cc *counterCache) get(ctx context.Context, rdb *redis.Client, runID string, active bool) (events.RunCounters, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if active && cc.runID == runID && time.Since(cc.at) < countersFresh {
		return cc.value, nil
	}
	return cc.readLocked(ctx, rdb, runID)
}

func (cc *counterCache) readLocked(ctx context.Context, rdb *redis.Client, runID string) (events.RunCounters, error) {
	h, err := rdb.HGetAll(ctx, events.RunCountersKey(runID)).Result()
	if err != nil {
		return events.RunCounters{}, &echo.HTTPError{
			Code:     http.StatusServiceUnavailable,
			Message:  "redis unavailable",
			Internal: fmt.Errorf("reading counters of run %s: %w", runID, err),
		}
	}
	c, err := events.ParseRunCounters(h)
	if err != nil {
		return c, fmt.Errorf("decoding counters of run %s: %w", runID, err)
	}
	cc.runID, cc.at, cc.value = runID, time.Now(), c
	return c, nil
}

// refresh reads the counters of the active run every countersFresh/2 until
// ctx ends, so that requests find them fresh.
func (cc *counterCache) refresh(ctx context.Context, rdb *redis.Client, runs *runCache) {
	tick := time.NewTicker(countersFresh / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		run, _ := runs.snapshot()
		if run == nil || !run.Phase.Active() {
			continue
		}
		cc.mu.Lock()
		_, _ = cc.readLocked(ctx, rdb, run.ID) // a failure is the next request's to report
		cc.mu.Unlock()
	}
}

// progress is the data of the SSE progress event: the status as JSON.
func (s *server) progress(ctx context.Context) ([]byte, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// runActive reports whether the cached run is going.
func (s *server) runActive() bool {
	run, _ := s.cache.snapshot()
	return run != nil && run.Phase.Active()
}
