// Package retry waits, with exponential backoff, for what another service
// creates: the api starts before control has made its KV bucket and streams,
// and answers meanwhile.
package retry

import (
	"context"
	"log/slog"
	"time"
)

// attemptTimeout bounds one attempt of Until.
const attemptTimeout = 5 * time.Second

// Backoff is an exponential delay between Min and Max. The zero value waits
// 100 ms, doubling up to 5 s.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Wait sleeps for the next delay, or until ctx is done; it reports whether
// the delay elapsed.
func (b *Backoff) Wait(ctx context.Context) bool {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi < lo {
		hi = max(lo, 5*time.Second)
	}
	d := min(max(b.next, lo), hi)
	b.next = min(2*d, hi)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Reset makes the next Wait the shortest again.
func (b *Backoff) Reset() { b.next = 0 }

// Until calls get until it succeeds, waiting b between attempts, and returns
// its result; it returns ctx's error once ctx is done. It logs the first
// failure and the success after it, nothing between.
func Until[T any](ctx context.Context, logger *slog.Logger, b *Backoff, what string, get func(context.Context) (T, error)) (T, error) {
	waited := false
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		v, err := get(actx)
		cancel()
		if err == nil {
			b.Reset()
			if waited {
				logger.LogAttrs(ctx, slog.LevelInfo, "resource available", slog.String("resource", what))
			}
			return v, nil
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		if !waited {
			logger.LogAttrs(ctx, slog.LevelInfo, "waiting for resource", slog.String("resource", what), slog.Any("error", err))
			waited = true
		}
		if !b.Wait(ctx) {
			return v, ctx.Err()
		}
	}
}
