package redisstate

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrViewUnavailable is returned, at once, by writes to the Bull view while
// Redis failed a moment ago: the pipeline does not wait on a projection.
var ErrViewUnavailable = errors.New("bull view: redis failed moments ago; write skipped")

// breakerCooldown is how long writes to the view are skipped after one
// failed.
const breakerCooldown = time.Second

// breaker keeps the writers of the view from waiting on a Redis that is
// down: after a failure, writes are skipped for breakerCooldown. A view that
// missed writes is wrong, so the first write after an outage invalidates it
// instead, and control rebuilds it from JetStream.
type breaker struct {
	mu    sync.Mutex
	until time.Time // writes skipped until then
	dirty bool      // writes were missed since the view was last known good
}

// write runs f, a write to the view, unless the breaker is open.
func (s *Store) write(ctx context.Context, f func() error) error {
	if s.viewOff() {
		return nil
	}
	b := &s.breaker
	b.mu.Lock()
	open, dirty := time.Now().Before(b.until), b.dirty
	if open {
		b.mu.Unlock()
		return ErrViewUnavailable
	}
	b.mu.Unlock()
	if dirty {
		if err := s.Invalidate(ctx); err != nil {
			s.trip()
			return err
		}
		b.mu.Lock()
		b.dirty = false
		b.mu.Unlock()
		return nil // skipped: the rebuild accounts for it
	}
	if err := f(); err != nil {
		if ctx.Err() == nil {
			s.trip()
		}
		return err
	}
	return nil
}

// trip opens the breaker and marks the view as having missed writes.
func (s *Store) trip() {
	s.breaker.mu.Lock()
	s.breaker.until = time.Now().Add(breakerCooldown)
	s.breaker.dirty = true
	s.breaker.mu.Unlock()
}
