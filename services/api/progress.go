package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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
		h, err := s.stores.redis.HGetAll(ctx, events.RunCountersKey(run.ID)).Result()
		if err != nil {
			return Status{}, &echo.HTTPError{
				Code:     http.StatusServiceUnavailable,
				Message:  "redis unavailable",
				Internal: fmt.Errorf("reading counters of run %s: %w", run.ID, err),
			}
		}
		if counters, err = events.ParseRunCounters(h); err != nil {
			return Status{}, fmt.Errorf("decoding counters of run %s: %w", run.ID, err)
		}
	}
	now := time.Now()
	st := computeStatus(run, gen, counters, now)
	st.stuck = s.stall.see(&st, s.cache.queuePaused(), now)
	return st, nil
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
