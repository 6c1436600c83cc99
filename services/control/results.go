package control

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
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// The counters of a run are a projection of the reports processors publish
// on the RESULTS stream (see events.BatchResult): control folds them, in
// stream order, and writes what they add up to into Redis, where GET
// /pedidos reads them. Each order is counted once, by its key, however many
// times it was delivered or reported; the counters survive the loss of Redis
// (they are written again) and of control (the reports are folded again).

// outcome is what became of an order, as the reports say.
type outcome uint8

const (
	processed outcome = iota + 1
	failed
)

// tally is the fold of one run's reports.
type tally struct {
	runID    string
	orders   map[uint64]outcome
	counters events.RunCounters
	// duplicates and redelivered count deliveries, not orders.
	duplicates, redelivered events.ByPriority
	// applied is the stream sequence of the last report folded.
	applied uint64
}

func newTally(runID string) *tally {
	return &tally{runID: runID, orders: map[uint64]outcome{}}
}

// apply folds one report.
func (t *tally) apply(r *events.BatchResult, seq uint64) {
	t.applied = seq
	p := r.Priority
	processedN, failedN := t.counters.Processed.Ref(p), t.counters.Failed.Ref(p)
	for _, k := range r.Retried {
		if t.orders[k] == failed {
			delete(t.orders, k)
			*failedN--
		}
	}
	for _, k := range r.Processed {
		if _, seen := t.orders[k]; !seen {
			t.orders[k] = processed
			*processedN++
		}
	}
	for _, k := range r.Failed {
		if _, seen := t.orders[k]; !seen {
			t.orders[k] = failed
			*failedN++
		}
	}
	*t.duplicates.Ref(p) += int64(r.Duplicates)
	*t.redelivered.Ref(p) += int64(r.Redelivered)
	if len(r.Processed)+len(r.Failed) > 0 {
		t.counters.Widen(p, r.ProcessedAt, r.WrittenAt)
	}
}

// projector follows the reports of the current run. It is safe for
// concurrent use.
type projector struct {
	js    jetstream.JetStream
	store *redisstate.Store
	log   *slog.Logger
	down  *logs.Outage

	mu      sync.Mutex
	cur     *tally
	stop    context.CancelFunc // stops following cur
	saved   time.Time          // when cur was last written to Redis
	dirty   bool               // cur changed since
	failure error              // why following cur stopped, if it did
	// lagSince is when cur last fell behind the stream at lagAt: a fold
	// that stays there for followStall is started again.
	lagSince time.Time
	lagAt    uint64
	stall    time.Duration
}

// followStall is how long the fold of a run may stay behind the reports
// JetStream stored without taking one in before it is started again. An
// ordered consumer should recover by itself from the loss of its server;
// the cluster test once saw it stay silent, neither delivering nor failing,
// and the run wait in WAITING_VIP_DRAIN for good.
const followStall = 10 * time.Second

// errFollowStalled marks a fold started again after followStall.
var errFollowStalled = errors.New("no report folded while the stream held newer ones")

func newProjector(js jetstream.JetStream, store *redisstate.Store, log *slog.Logger) *projector {
	return &projector{js: js, store: store, log: log, stall: followStall,
		down: logs.NewOutage(log, "writing run counters to redis", 10*time.Second)}
}

// follow makes runID the run whose reports are folded, from its first one.
// Following the run already followed does nothing.
func (p *projector) follow(ctx context.Context, runID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && p.cur.runID == runID && p.failure == nil {
		return nil
	}
	if p.stop != nil {
		p.stop()
	}
	t := newTally(runID)
	cons, err := p.js.OrderedConsumer(ctx, events.StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.ResultSubject(runID)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		p.cur, p.failure = t, err
		return fmt.Errorf("following the reports of run %s: %w", runID, err)
	}
	cctx, stop := context.WithCancel(ctx)
	p.cur, p.stop, p.failure, p.dirty = t, stop, nil, true
	p.lagSince = time.Time{}
	go p.consume(cctx, t, cons)
	return nil
}

// consume folds t's reports as they come, until ctx ends.
func (p *projector) consume(ctx context.Context, t *tally, cons jetstream.Consumer) {
	msgs, err := cons.Messages()
	if err != nil {
		p.fail(t, err)
		return
	}
	go func() { <-ctx.Done(); msgs.Stop() }()
	for {
		msg, err := msgs.Next()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				p.fail(t, err)
			}
			return
		}
		var r events.BatchResult
		meta, merr := msg.Metadata()
		if err := json.Unmarshal(msg.Data(), &r); err != nil || merr != nil || r.Validate() != nil || r.RunID != t.runID {
			p.log.Error("ignoring an unreadable batch report", slog.Any("run_id", t.runID), slog.Any("subject", msg.Subject()), slog.Any(logs.ErrorKey, errors.Join(err, merr, r.Validate())))
			continue
		}
		p.mu.Lock()
		t.apply(&r, meta.Sequence.Stream)
		if p.cur == t {
			p.dirty = true
		}
		p.mu.Unlock()
	}
}

// fail records why following t stopped: the next follow starts again.
func (p *projector) fail(t *tally, err error) {
	p.log.Warn("following batch reports stopped; starting again", slog.Any("run_id", t.runID), slog.Any(logs.ErrorKey, err))
	p.mu.Lock()
	if p.cur == t {
		p.failure = err
	}
	p.mu.Unlock()
}

// observe returns the counters of run runID and whether every report
// JetStream stored for it is folded in. A run not followed has none.
func (p *projector) observe(ctx context.Context, runID string) (events.RunCounters, bool, error) {
	stream, err := p.js.Stream(ctx, events.StreamResults)
	if err != nil {
		return events.RunCounters{}, false, fmt.Errorf("opening stream %s: %w", events.StreamResults, err)
	}
	var last uint64
	msg, err := stream.GetLastMsgForSubject(ctx, events.ResultSubject(runID))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return events.RunCounters{}, false, fmt.Errorf("reading the last report of run %s: %w", runID, err)
	default:
		last = msg.Sequence
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.runID != runID {
		return events.RunCounters{}, false, nil
	}
	caughtUp := p.cur.applied >= last
	p.watch(caughtUp)
	return p.cur.counters, caughtUp, nil
}

// watch notes whether the fold of cur keeps up, and marks it failed (the
// next follow starts it again) once it has taken nothing in for p.stall
// while behind. p.mu is held.
func (p *projector) watch(caughtUp bool) {
	now := time.Now()
	switch {
	case caughtUp || p.failure != nil:
		p.lagSince = time.Time{}
	case p.lagSince.IsZero() || p.cur.applied != p.lagAt:
		p.lagSince, p.lagAt = now, p.cur.applied
	case now.Sub(p.lagSince) >= p.stall:
		p.failure = errFollowStalled
		p.lagSince = time.Time{}
		p.log.Warn("following batch reports stalled; starting again", slog.Any("run_id", p.cur.runID),
			slog.Uint64("folded_up_to", p.cur.applied), slog.Duration("for", p.stall))
	}
}

// syncTimeout bounds how long sync waits for the reports to be folded.
const syncTimeout = 5 * time.Second

// sync waits until every report JetStream stored for run runID is folded,
// then writes the counters to Redis. It serves the moments when a run
// stops moving (cancel, pause), so that what they report is final.
func (p *projector) sync(ctx context.Context, runID string) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	for {
		_, caughtUp, err := p.observe(ctx, runID)
		if err != nil {
			return err
		}
		if caughtUp {
			p.mu.Lock()
			p.dirty = true
			p.mu.Unlock()
			p.save(ctx)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("folding the reports of run %s: %w", runID, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// accounting returns the current run's delivery figures.
func (p *projector) accounting(runID string) (duplicates, redelivered events.ByPriority) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.runID != runID {
		return
	}
	return p.cur.duplicates, p.cur.redelivered
}

// saveEvery is how often the counters are written to Redis when they did
// not change: a Redis that lost them gets them back.
const saveEvery = time.Second

// save writes the current run's counters to Redis if they changed, or if
// saveEvery passed.
func (p *projector) save(ctx context.Context) {
	p.mu.Lock()
	t := p.cur
	if t == nil || (!p.dirty && time.Since(p.saved) < saveEvery) {
		p.mu.Unlock()
		return
	}
	runID, c := t.runID, t.counters
	p.dirty, p.saved = false, time.Now()
	p.mu.Unlock()
	if err := p.store.SaveCounters(ctx, runID, c); err != nil {
		p.down.Fail(ctx, err, 1, slog.String("run_id", runID))
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
		return
	}
	p.down.OK(ctx)
}

// run writes the counters to Redis every tick until ctx ends.
func (p *projector) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			if p.stop != nil {
				p.stop()
			}
			p.mu.Unlock()
			return
		case <-t.C:
			p.save(ctx)
		}
	}
}
