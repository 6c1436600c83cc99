package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// The Bull view in Redis is a projection of JetStream: what waits is what
// the ORDERS stream holds undelivered, what is active what it delivered and
// awaits the ack of. When Redis loses the view (the in-process miniredis of
// a development stack keeps nothing across a restart; an outage makes the
// writers miss updates), the keeper rebuilds its lists from the stream.

// keepEvery is how often the keeper checks the view.
const keepEvery = time.Second

// keptFailed bounds the failed jobs a snapshot of the kept ones holds: the
// snapshot is one value of the state bucket.
const keptFailed = 500

// keeper watches the Bull view and rebuilds it when it is lost.
type keeper struct {
	js    jetstream.JetStream
	state state
	cons  consumers
	view  *redisstate.Store
	log   *slog.Logger
	down  *logs.Outage
	// kept is the last snapshot of the kept jobs written to the bucket.
	kept []byte
	// off is the last mismatch seen between the view and JetStream while
	// nothing moved, if any.
	off *mismatch
}

// mismatch is a difference between the jobs the view says wait or are
// active and the orders JetStream holds.
type mismatch struct{ view, stream int64 }

// run checks the view every keepEvery until ctx ends.
func (k *keeper) run(ctx context.Context) {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		if err := k.check(ctx); err != nil && ctx.Err() == nil {
			k.down.Fail(ctx, err, 1)
		} else {
			k.down.OK(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check rebuilds the view if it is not intact, and snapshots the finished
// jobs it keeps if it is.
func (k *keeper) check(ctx context.Context) error {
	intact, err := k.view.Intact(ctx)
	if err != nil {
		return err
	}
	if intact {
		if err := k.snapshot(ctx); err != nil {
			return err
		}
		return k.compare(ctx)
	}
	started := time.Now()
	n, err := k.rebuild(ctx)
	if err != nil {
		return err
	}
	k.log.Info("Bull view rebuilt from JetStream", slog.Int("waiting", n.waiting), slog.Int("paused", n.paused),
		slog.Int("active", n.active), slog.Duration("took", time.Since(started).Round(time.Millisecond)))
	return nil
}

// rebuilt counts the jobs a rebuild put in each list.
type rebuilt struct{ waiting, paused, active int }

// rebuild fills the view's lists from the ORDERS stream: for each priority,
// the orders its consumer delivered and has not seen acked are active, the
// others wait, NORMAL ones in paused while their consumer waits for the VIP
// drain.
func (k *keeper) rebuild(ctx context.Context) (rebuilt, error) {
	var n rebuilt
	run, _, err := k.state.run(ctx)
	if err != nil {
		return n, err
	}
	qs, _, err := k.state.queue(ctx)
	if err != nil {
		return n, err
	}
	r := k.view.Rebuild()
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		// NORMAL orders wait in paused unless the current run is past its
		// VIP drain.
		list := redisstate.Wait
		if p == events.PriorityNormal && (!run.Phase.Active() || !run.Phase.VIPDrained()) {
			list = redisstate.Paused
		}
		delivered, err := k.cons.delivered(ctx, p)
		if err != nil {
			return n, errors.Join(err, r.Abort(ctx))
		}
		active, waiting, err := k.readOrders(ctx, r, events.OrderSubject(p), delivered, list)
		if err != nil {
			return n, errors.Join(err, r.Abort(ctx))
		}
		n.active += active
		if list == redisstate.Paused {
			n.paused += waiting
		} else {
			n.waiting += waiting
		}
	}
	if err := r.Commit(ctx); err != nil {
		return n, errors.Join(err, r.Abort(ctx))
	}
	if err := k.view.SetPaused(ctx, qs.Paused); err != nil {
		return n, err
	}
	return n, k.restore(ctx)
}

// compare checks, while no run is active, that the view holds as many
// waiting and active jobs as JetStream holds orders, and invalidates it when
// two checks in a row saw the same difference: jobs a processor handed back
// after a cancel removed the pending ones, say. During a run the numbers
// move all the time, and only a lost view is rebuilt.
func (k *keeper) compare(ctx context.Context) error {
	run, _, err := k.state.run(ctx)
	if err != nil || run.Phase.Active() {
		k.off = nil
		return err
	}
	n, err := k.view.JobCounts(ctx)
	if err != nil {
		return err
	}
	stream, err := k.js.Stream(ctx, events.StreamOrders)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", events.StreamOrders, err)
	}
	now := mismatch{view: n.Wait + n.Paused + n.Active, stream: int64(stream.CachedInfo().State.Msgs)}
	switch {
	case now.view == now.stream:
		k.off = nil
	case k.off == nil || *k.off != now:
		k.off = &now
	default:
		k.log.Info("the Bull view disagrees with JetStream; rebuilding it", slog.Int64("view_jobs", now.view),
			slog.Int64("pending_orders", now.stream))
		k.off = nil
		return k.view.Invalidate(ctx)
	}
	return nil
}

// snapshot writes the finished jobs the view keeps to the state bucket when
// they changed since the last snapshot.
func (k *keeper) snapshot(ctx context.Context) error {
	kept, err := k.view.Kept(ctx, keptFailed)
	if err != nil {
		return err
	}
	data, err := json.Marshal(kept)
	if err != nil {
		return fmt.Errorf("encoding the kept jobs: %w", err)
	}
	if bytes.Equal(data, k.kept) {
		return nil
	}
	if _, err := k.state.kv.Put(ctx, events.KeyKept, data); err != nil {
		return fmt.Errorf("saving the kept jobs: %w", err)
	}
	k.kept = data
	return nil
}

// restore puts the last snapshot of the kept jobs back into the view.
func (k *keeper) restore(ctx context.Context) error {
	entry, err := k.state.kv.Get(ctx, events.KeyKept)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the kept jobs: %w", err)
	}
	var kept redisstate.Kept
	if err := json.Unmarshal(entry.Value(), &kept); err != nil {
		return fmt.Errorf("decoding the kept jobs: %w", err)
	}
	return k.view.RestoreKept(ctx, kept)
}

// readBatch is how many messages one batched direct get returns.
const readBatch = 1000

// readOrders appends the ids of the orders of subject the stream holds, in
// stream order: those at or below the consumer's delivered sequence to
// active, the others to list. It reads the stream with batched direct gets,
// which leave the work queue as it is.
func (k *keeper) readOrders(ctx context.Context, r *redisstate.Rebuild, subject string, delivered uint64, list redisstate.List) (int, int, error) {
	var nActive, nWaiting int
	active := make([]string, 0, readBatch)
	waiting := make([]string, 0, readBatch)
	for seq := uint64(1); ; {
		msgs, err := jetstreamext.GetBatch(ctx, k.js, events.StreamOrders, readBatch,
			jetstreamext.GetBatchSeq(seq), jetstreamext.GetBatchSubject(subject))
		if err != nil {
			return 0, 0, fmt.Errorf("reading the orders of %s: %w", subject, err)
		}
		got := 0
		for msg, err := range msgs {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				break
			}
			if err != nil {
				return 0, 0, fmt.Errorf("reading the orders of %s: %w", subject, err)
			}
			got++
			seq = msg.Sequence + 1
			id := events.OrderIDOf(msg.Header.Get(events.HeaderMsgID))
			switch {
			case id == "":
			case msg.Sequence <= delivered:
				active = append(active, id)
			default:
				waiting = append(waiting, id)
			}
		}
		if err := r.Append(ctx, redisstate.Active, active); err != nil {
			return 0, 0, err
		}
		if err := r.Append(ctx, list, waiting); err != nil {
			return 0, 0, err
		}
		nActive, nWaiting = nActive+len(active), nWaiting+len(waiting)
		active, waiting = active[:0], waiting[:0]
		if got < readBatch {
			return nActive, nWaiting, nil
		}
	}
}
