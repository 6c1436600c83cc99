package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/services/api/internal/retry"
)

// runCache holds the latest run, generation and queue entries of the state
// bucket, kept current by a KV watcher, so that requests never wait on NATS.
// The values it returns are shared and must not be modified.
type runCache struct {
	logger *slog.Logger

	mu       sync.RWMutex
	run      *events.Run
	gen      *events.Generation
	queue    *events.QueueState
	watching bool
	// changed is closed, and replaced, whenever the cache changes.
	changed chan struct{}
}

func newRunCache(logger *slog.Logger) *runCache {
	return &runCache{logger: logger, changed: make(chan struct{})}
}

// awaitTimeout bounds how long a command's handler waits for the cache to
// show what the command did.
const awaitTimeout = time.Second

// await waits until cond holds for the cached run and queue state, for at
// most awaitTimeout, and reports whether it does. Control writes the state
// bucket before it answers a command, and the watcher sees the write a
// moment later: a handler awaits it so that a client reading this instance
// right after a command sees what the command did.
func (c *runCache) await(ctx context.Context, cond func(run *events.Run, queuePaused bool) bool) bool {
	t := time.NewTimer(awaitTimeout)
	defer t.Stop()
	for {
		c.mu.RLock()
		ok, watching, changed := cond(c.run, c.queue != nil && c.queue.Paused), c.watching, c.changed
		c.mu.RUnlock()
		if ok || !watching {
			return ok
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		}
	}
}

// notify wakes the awaiting; c.mu must be held.
func (c *runCache) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// snapshot returns the cached run and generation; either may be nil.
func (c *runCache) snapshot() (*events.Run, *events.Generation) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.run, c.gen
}

// entries returns the cached run, generation and queue entries; any may
// be nil.
func (c *runCache) entries() (*events.Run, *events.Generation, *events.QueueState) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.run, c.gen, c.queue
}

// queuePaused reports whether an operator paused the queue (KV key
// "queue", written by control's pause and resume).
func (c *runCache) queuePaused() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.queue != nil && c.queue.Paused
}

// ready reports why the cache may be stale, or nil when its watcher runs
// and has caught up with the bucket.
func (c *runCache) ready() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.watching {
		return fmt.Errorf("not watching KV bucket %s", events.BucketState)
	}
	return nil
}

// replacedCheckInterval is how often a watch checks that its bucket is still
// the one it watches: a watcher does not notice the bucket being deleted
// and re-created (a reset may do that).
const replacedCheckInterval = 2 * time.Second

// errBucketReplaced ends a watch whose bucket was deleted or re-created.
var errBucketReplaced = errors.New("bucket deleted or re-created")

// follow keeps the cache current until ctx is done. The bucket is created
// by the control service, which may start later: follow waits for it, and
// watches it again whenever the watch ends.
func (c *runCache) follow(ctx context.Context, js jetstream.JetStream) {
	b := retry.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		kv, err := retry.Until(ctx, c.logger, &b, "KV bucket "+events.BucketState, func(ctx context.Context) (jetstream.KeyValue, error) {
			return js.KeyValue(ctx, events.BucketState)
		})
		if err != nil {
			return // ctx is done
		}
		err = c.watch(ctx, js, kv)
		c.stopped()
		if ctx.Err() != nil {
			return
		}
		level := slog.LevelWarn
		if errors.Is(err, errBucketReplaced) { // a reset does that
			level = slog.LevelInfo
		}
		c.logger.LogAttrs(ctx, level, "KV watch ended; watching again",
			slog.String("bucket", events.BucketState), slog.Any("error", err))
		if !b.Wait(ctx) {
			return
		}
	}
}

// watch applies every update of the run, generation and queue keys until
// ctx is done, the watcher stops, or the bucket is replaced.
func (c *runCache) watch(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) error {
	created, err := streamCreated(ctx, js)
	if err != nil {
		return err
	}
	w, err := kv.WatchFiltered(ctx, []string{events.KeyRun, events.KeyGeneration, events.KeyQueue})
	if err != nil {
		return fmt.Errorf("watching KV bucket %s: %w", events.BucketState, err)
	}
	defer func() { _ = w.Stop() }() // an error means it was already stopped
	check := time.NewTicker(replacedCheckInterval)
	defer check.Stop()
	// initial holds the keys delivered before the end-of-initial-values
	// marker; nil once it came. A key that was not among them is gone (the
	// bucket was re-created), so its cached value goes too.
	initial := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
			now, err := streamCreated(ctx, js)
			if errors.Is(err, jetstream.ErrStreamNotFound) || err == nil && !now.Equal(created) {
				return errBucketReplaced
			} // other errors: NATS is unreachable, and the watcher resumes after it
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			if e == nil {
				c.caughtUp(initial)
				initial = nil
				continue
			}
			if initial != nil {
				initial[e.Key()] = true
			}
			c.apply(ctx, e)
		}
	}
}

// streamCreated returns when the bucket's stream was created.
func streamCreated(ctx context.Context, js jetstream.JetStream) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, replacedCheckInterval)
	defer cancel()
	st, err := js.Stream(ctx, events.StreamState)
	if err != nil {
		return time.Time{}, fmt.Errorf("looking up stream %s: %w", events.StreamState, err)
	}
	return st.CachedInfo().Created, nil
}

// caughtUp marks the cache current once the watcher delivered every initial
// value, forgetting the keys it did not deliver.
func (c *runCache) caughtUp(delivered map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !delivered[events.KeyRun] {
		c.run = nil
	}
	if !delivered[events.KeyGeneration] {
		c.gen = nil
	}
	if !delivered[events.KeyQueue] {
		c.queue = nil
	}
	c.watching = true
	c.notify()
}

// apply stores one KV entry; a deleted key clears its value.
func (c *runCache) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	deleted := e.Operation() != jetstream.KeyValuePut
	var (
		run   *events.Run
		gen   *events.Generation
		queue *events.QueueState
		err   error
	)
	switch {
	case deleted:
	case e.Key() == events.KeyRun:
		run = new(events.Run)
		err = json.Unmarshal(e.Value(), run)
	case e.Key() == events.KeyGeneration:
		gen = new(events.Generation)
		err = json.Unmarshal(e.Value(), gen)
	case e.Key() == events.KeyQueue:
		queue = new(events.QueueState)
		err = json.Unmarshal(e.Value(), queue)
	}
	if err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "ignoring undecodable KV entry",
			slog.String("key", e.Key()), slog.Uint64("revision", e.Revision()), slog.Any("error", err))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Key() {
	case events.KeyRun:
		c.run = run
	case events.KeyGeneration:
		c.gen = gen
	case events.KeyQueue:
		c.queue = queue
	}
	c.notify()
}

// stopped marks the cache stale while no watcher runs.
func (c *runCache) stopped() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	c.notify()
}
