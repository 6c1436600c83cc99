package control

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
)

// Any number of control instances may run; one leads, the others stand by.
// The leader holds a lease, the key KeyLeader of the bucket BucketLeader,
// whose entries expire after LeaderTTL: it creates the key (a
// compare-and-set: only one create succeeds), then renews it, each renewal a
// compare-and-set on the revision it last wrote. A standby tries to create
// the key until it can: once the leader stopped renewing (it died) and the
// entry expired, or at once when the leader let it go on a clean stop. A
// leader that fails to renew steps down before its lease could have
// expired, so two never lead at once for longer than a renewal's delay; and
// every write of the run is a compare-and-set on its revision anyway.

// renewEvery is how often the leader renews its lease: several times per
// LeaderTTL, so that a slow renewal or two are not a lost lease.
const renewEvery = events.LeaderTTL / 6

// lease is one control instance's claim to lead.
type lease struct {
	kv  jetstream.KeyValue
	id  string
	log *slog.Logger
}

// acquire blocks until this instance leads, and returns the revision of
// its lease.
func (l *lease) acquire(ctx context.Context) (uint64, error) {
	down := logs.NewOutage(l.log, "taking the control lease", 30*time.Second)
	waiting := false
	for {
		rev, err := l.kv.Create(ctx, events.KeyLeader, []byte(l.id))
		switch {
		case err == nil:
			down.OK(ctx)
			return rev, nil
		case isConflict(err):
			down.OK(ctx)
			if !waiting {
				l.log.Info("another control instance leads; standing by", slog.String("instance", l.id))
				waiting = true
			}
		case ctx.Err() != nil:
			return 0, ctx.Err()
		default:
			down.Fail(ctx, err, 1)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(renewEvery):
		}
	}
}

// hold renews the lease from revision rev until ctx ends, or until it is
// lost, and returns the last revision it wrote and why it stopped.
func (l *lease) hold(ctx context.Context, rev uint64) (uint64, error) {
	renewed := time.Now()
	t := time.NewTicker(renewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return rev, ctx.Err()
		case <-t.C:
		}
		next, err := l.kv.Update(ctx, events.KeyLeader, []byte(l.id), rev)
		if err == nil {
			rev, renewed = next, time.Now()
			continue
		}
		if ctx.Err() != nil {
			return rev, ctx.Err()
		}
		if isConflict(err) {
			return rev, fmt.Errorf("the control lease was taken over: %w", err)
		}
		// NATS slow or away: the lease may still hold, but not for long.
		if time.Since(renewed) > events.LeaderTTL-2*renewEvery {
			return rev, fmt.Errorf("the control lease could not be renewed for %v: %w", time.Since(renewed).Round(time.Millisecond), err)
		}
	}
}

// release lets the lease go, so that a standby takes over at once.
func (l *lease) release(ctx context.Context, rev uint64) {
	if err := l.kv.Delete(ctx, events.KeyLeader, jetstream.LastRevision(rev)); err != nil {
		l.log.Warn("letting the control lease go", slog.Any(logs.ErrorKey, err))
	}
}
