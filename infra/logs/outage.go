package logs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Outage logs a failure that repeats while a dependency is down, once per
// outage rather than once per item: the first failure at once, then at most
// one line every interval saying how many failures and items the outage has
// cost so far, and one line when it ends. Items are whatever the caller
// counts (orders, jobs). It is safe for concurrent use.
type Outage struct {
	log      *slog.Logger
	msg      string
	interval time.Duration

	mu       sync.Mutex
	down     bool
	since    time.Time
	logged   time.Time
	failures int64
	items    int64
	unlogged int64 // failures since the last line
}

// NewOutage returns an Outage that logs msg (what was being done, e.g.
// "updating the Bull view") on log, at most once every interval.
func NewOutage(log *slog.Logger, msg string, interval time.Duration) *Outage {
	return &Outage{log: log, msg: msg, interval: interval}
}

// Fail records a failure that cost items; attrs describe it.
func (o *Outage) Fail(ctx context.Context, err error, items int, attrs ...slog.Attr) {
	o.mu.Lock()
	now := time.Now()
	first := !o.down
	if first {
		o.down, o.since, o.failures, o.items = true, now, 0, 0
	}
	o.failures++
	o.items += int64(items)
	o.unlogged++
	if !first && now.Sub(o.logged) < o.interval {
		o.mu.Unlock()
		return
	}
	o.logged, o.unlogged = now, 0
	all := append([]slog.Attr{
		slog.Any(ErrorKey, err),
		slog.Int64("failures", o.failures),
		slog.Int64("items", o.items),
		slog.Duration("for", now.Sub(o.since).Round(time.Millisecond)),
	}, attrs...)
	o.mu.Unlock()
	o.log.LogAttrs(ctx, slog.LevelWarn, o.msg+" failed", all...)
}

// OK records a success: an outage in progress ends, with one line.
func (o *Outage) OK(ctx context.Context) {
	o.mu.Lock()
	if !o.down {
		o.mu.Unlock()
		return
	}
	o.down = false
	failures, items, took := o.failures, o.items, time.Since(o.since).Round(time.Millisecond)
	o.mu.Unlock()
	o.log.LogAttrs(ctx, slog.LevelInfo, o.msg+" works again",
		slog.Int64("failures", failures), slog.Int64("items", items), slog.Duration("after", took))
}

// ErrorKey is the one attribute key every process logs errors under.
const ErrorKey = "error"
