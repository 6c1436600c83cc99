package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
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
		if counters, err = s.counters.get(ctx, s.stores.state, run.ID, run.Phase.Active()); err != nil {
			return Status{}, err
		}
	}
	now := time.Now()
	st := computeStatus(run, gen, counters, now)
	st.stuck = s.stall.see(&st, s.cache.queuePaused(), now)
	return st, nil
}

// countersEvery is how often a refresher reads the counters of the active
// run, so that no status request waits for Redis, which a processor's script
// or a generator's transaction may keep busy for a few milliseconds.
const countersEvery = 50 * time.Millisecond

// countersStale is the age past which cached counters are not served: the
// refresher is failing, and a request should read, and say so itself.
const countersStale = time.Second

// counterCache holds the latest counters read for the active run.
type counterCache struct {
	mu    sync.Mutex
	runID string
	at    time.Time
	value events.RunCounters
}

// get returns the counters of run runID: while the run is active, the ones
// the refresher read last; otherwise, or before its first read, read now. An
// ended run's counters are final, and the system idle.
func (cc *counterCache) get(ctx context.Context, rdb *redisstate.Store, runID string, active bool) (events.RunCounters, error) {
	if active {
		cc.mu.Lock()
		c, ok := cc.value, cc.runID == runID && time.Since(cc.at) < countersStale
		cc.mu.Unlock()
		if ok {
			return c, nil
		}
	}
	return readCounters(ctx, rdb, runID)
}

// readCounters reads the counters of run runID from Redis.
func readCounters(ctx context.Context, rdb *redisstate.Store, runID string) (events.RunCounters, error) {
	c, err := rdb.Counters(ctx, runID)
	if err != nil {
		return events.RunCounters{}, &echo.HTTPError{
			Code:     http.StatusServiceUnavailable,
			Message:  "redis unavailable",
			Internal: err,
		}
	}
	return c, nil
}

// refresh reads the counters of the active run every countersEvery until
// ctx ends; requests never wait for it.
func (cc *counterCache) refresh(ctx context.Context, rdb *redisstate.Store, runs *runCache) {
	tick := time.NewTicker(countersEvery)
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
		c, err := readCounters(ctx, rdb, run.ID)
		if err != nil {
			continue // requests read for themselves while the cache is cold; a failure is theirs to report
		}
		cc.mu.Lock()
		cc.runID, cc.at, cc.value = run.ID, time.Now(), c
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
