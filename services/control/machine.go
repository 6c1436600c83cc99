package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/events"
)

// machine drives the current run through its phases. Everything it decides
// from is read again at every step (run state and generation progress from
// the bucket, counters from Redis, queues from JetStream), so a restarted
// control service carries on where the previous one stopped.
type machine struct {
	// mu serialises the phase machine's steps and the commands: a command
	// sees, and leaves, the run between two steps.
	mu    sync.Mutex
	nc    *nats.Conn
	js    jetstream.JetStream
	state state
	rdb   *redis.Client
	jobs  *jobs
	db    *mongo.Database
	cfg   Config
	log   *slog.Logger
	// wake makes the machine step now rather than at the next tick.
	wake chan struct{}
	// shortSince is when each priority's queue was first seen empty with its
	// counters short; reset whenever that stops being so.
	shortSince map[events.Priority]time.Time
	// wg tracks background work Run waits for.
	wg sync.WaitGroup
}

// loop steps the machine every tick until ctx is cancelled.
func (m *machine) loop(ctx context.Context) {
	if err := m.concludeInterrupted(ctx); err != nil {
		m.log.Warn("concluding a run that ended while control was stopping", "err", err)
	}
	if err := m.republish(ctx); err != nil {
		m.log.Warn("checking the last published phase", "err", err)
	}
	ticker := time.NewTicker(m.cfg.Tick)
	defer ticker.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-m.wake:
		}
		if err := m.step(ctx); err != nil && ctx.Err() == nil {
			failures++
			if failures == 1 || failures%100 == 0 {
				m.log.Error("advancing the run", "failures", failures, "err", err)
			}
			continue
		}
		failures = 0
	}
}

// step moves the current run through as many phases as its observation
// allows.
func (m *machine) step(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range 8 {
		run, rev, err := m.state.run(ctx)
		if err != nil || !run.Phase.Active() {
			return err
		}
		obs, err := m.observe(ctx, run)
		if err != nil {
			return err
		}
		if err := m.repair(ctx, run, obs); err != nil {
			return err
		}
		next, ok := decide(run.Phase, obs)
		if !ok {
			return m.reconcile(ctx, run, obs)
		}
		reason := ""
		if next == events.PhaseError {
			reason = "generation failed: " + obs.gen.Error
		}
		if err := m.transition(ctx, run, rev, next, obs, reason); err != nil {
			return err
		}
	}
	return nil
}

// observe reads what the phase machine decides from.
func (m *machine) observe(ctx context.Context, run events.Run) (*observation, error) {
	obs := &observation{}
	qs, _, err := m.state.queue(ctx)
	if err != nil {
		return nil, err
	}
	obs.queuePaused = qs.Paused
	gen, ok, err := m.state.generation(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	if ok {
		obs.gen = gen
	}
	if obs.counters, err = m.counters(ctx, run.ID); err != nil {
		return nil, err
	}
	if obs.vip, err = m.queue(ctx, events.PriorityVIP); err != nil {
		return nil, err
	}
	if obs.normal, err = m.queue(ctx, events.PriorityNormal); err != nil {
		return nil, err
	}
	return obs, nil
}

func (m *machine) counters(ctx context.Context, runID string) (events.RunCounters, error) {
	h, err := m.rdb.HGetAll(ctx, events.RunCountersKey(runID)).Result()
	if err != nil {
		return events.RunCounters{}, fmt.Errorf("reading run counters: %w", err)
	}
	return events.ParseRunCounters(h)
}

func (m *machine) queue(ctx context.Context, p events.Priority) (queue, error) {
	cons, err := m.js.Consumer(ctx, events.StreamOrders, events.OrderConsumer(p))
	if err != nil {
		return queue{}, fmt.Errorf("looking up consumer %s: %w", events.OrderConsumer(p), err)
	}
	info := cons.CachedInfo()
	return queue{pending: info.NumPending, ackPending: uint64(info.NumAckPending), paused: info.Paused}, nil
}

// repair re-applies the consumer state the phase and the operator's pause
// imply, in case control stopped between recording a decision and acting on
// it: a paused queue delivers nothing; otherwise VIP orders flow, and NORMAL
// ones once the VIP drain is declared.
func (m *machine) repair(ctx context.Context, run events.Run, obs *observation) error {
	want := map[events.Priority]bool{ // paused?
		events.PriorityVIP:    obs.queuePaused,
		events.PriorityNormal: obs.queuePaused || !run.Phase.VIPDrained(),
	}
	for p, paused := range want {
		if obs.queue(p).paused == paused {
			continue
		}
		m.log.Info("restoring consumer state", "run_id", run.ID, "phase", run.Phase, "priority", p, "paused", paused)
		if err := m.setPaused(ctx, p, paused); err != nil {
			return err
		}
	}
	return nil
}

// setPaused pauses or resumes the consumer of priority p.
func (m *machine) setPaused(ctx context.Context, p events.Priority, paused bool) error {
	name := events.OrderConsumer(p)
	var err error
	if paused {
		_, err = m.js.PauseConsumer(ctx, events.StreamOrders, name, pausedForever())
	} else {
		_, err = m.js.ResumeConsumer(ctx, events.StreamOrders, name)
	}
	if err != nil {
		return fmt.Errorf("setting consumer %s paused=%v: %w", name, paused, err)
	}
	return nil
}

// transition records run's move to next, acts on it, and announces it.
func (m *machine) transition(ctx context.Context, run events.Run, rev uint64, next events.Phase, obs *observation, reason string) error {
	if next == events.PhaseEnqueueNormal {
		// The drain decision: strictly after the last VIP order's processedAt,
		// at MongoDB's millisecond precision.
		if err := waitPast(ctx, obs.counters.VIP.Last); err != nil {
			return err
		}
	}
	run = advance(run, next, reason)
	if !next.Active() {
		// Before recording the end: a control that stops in between
		// concludes again on restart, where a recorded end would be final.
		if err := m.conclude(ctx, run, obs); err != nil {
			return err
		}
	}
	if _, err := m.state.save(ctx, run, rev); err != nil {
		return err
	}
	if next == events.PhaseEnqueueNormal {
		if err := m.jobs.releaseNormal(ctx); err != nil {
			m.log.Warn("moving NORMAL jobs to wait in the Bull view", "err", err)
		}
		if !obs.queuePaused {
			if err := m.setPaused(ctx, events.PriorityNormal, false); err != nil {
				return err
			}
		}
	}
	return m.announce(ctx, run, obs)
}

// advance returns run moved to phase next, now.
func advance(run events.Run, next events.Phase, reason string) events.Run {
	now := time.Now().UTC()
	run.Phase = next
	run.Timeline = append(run.Timeline[:len(run.Timeline):len(run.Timeline)], events.PhaseMark{Phase: next, At: now})
	if !next.Active() {
		run.FinishedAt, run.Reason = &now, reason
	}
	return run
}

// conclude closes a run that ended: the NORMAL consumer is paused again for
// the next run, the Bull view is tidied, and the run report is written. It is
// idempotent, so a control restarted halfway through does it again.
func (m *machine) conclude(ctx context.Context, run events.Run, obs *observation) error {
	if err := m.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return err
	}
	if err := m.jobs.settle(ctx, run.Phase == events.PhaseDone); err != nil {
		m.log.Warn("tidying the Bull view", "run_id", run.ID, "err", err)
	}
	report, err := m.report(ctx, run, obs)
	if err != nil {
		return err
	}
	return m.saveReport(ctx, report)
}

// announce publishes run's current phase on control.phase, once per run and
// phase, with the counts observed.
func (m *machine) announce(ctx context.Context, run events.Run, obs *observation) error {
	ev := events.PhaseEvent{RunID: run.ID, Phase: run.Phase, Previous: events.PhaseIdle, Reason: run.Reason}
	if n := len(run.Timeline); n > 0 {
		ev.At = run.Timeline[n-1].At
		if n > 1 {
			ev.Previous = run.Timeline[n-2].Phase
		}
	}
	if obs != nil {
		ev.Counts = events.Counts{Generated: obs.gen.Published, Processed: obs.counters.Processed, Failed: obs.counters.Failed}
	}
	m.log.Info("phase", "run_id", run.ID, "phase", ev.Phase, "previous", ev.Previous,
		"processed_vip", ev.Counts.Processed.VIP, "processed_normal", ev.Counts.Processed.Normal)
	return m.publishPhase(ctx, ev, ev.MsgID())
}

// publishPhase publishes a phase event on control.phase, once per msgID.
func (m *machine) publishPhase(ctx context.Context, ev events.PhaseEvent, msgID string) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding phase event: %w", err)
	}
	if _, err := m.js.Publish(ctx, events.SubjectPhase, data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publishing phase %s of run %s: %w", ev.Phase, ev.RunID, err)
	}
	return nil
}

// republish announces the current phase again if control stopped between
// recording it and announcing it.
func (m *machine) republish(ctx context.Context) error {
	run, rev, err := m.state.run(ctx)
	if err != nil || rev == 0 || len(run.Timeline) == 0 {
		return err
	}
	stream, err := m.js.Stream(ctx, events.StreamControl)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", events.StreamControl, err)
	}
	var last events.PhaseEvent
	msg, err := stream.GetLastMsgForSubject(ctx, events.SubjectPhase)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return fmt.Errorf("reading the last phase event: %w", err)
	default:
		if err := json.Unmarshal(msg.Data, &last); err != nil {
			return fmt.Errorf("decoding the last phase event: %w", err)
		}
	}
	if last.RunID == run.ID && last.Phase == run.Phase {
		return nil
	}
	m.log.Info("announcing the current phase again", "run_id", run.ID, "phase", run.Phase)
	return m.announce(ctx, run, nil)
}

// concludeInterrupted concludes a run recorded as ended whose report is
// missing: control stopped between the two (a cancel records the end first,
// so that the generator stops at once).
func (m *machine) concludeInterrupted(ctx context.Context) error {
	run, _, err := m.state.run(ctx)
	if err != nil || !run.Phase.Terminal() {
		return err
	}
	n, err := m.db.Collection(events.CollectionRuns).CountDocuments(ctx, bson.D{{Key: "_id", Value: run.ID}})
	if err != nil || n > 0 {
		return err
	}
	obs, err := m.observe(ctx, run)
	if err != nil {
		return err
	}
	m.log.Info("concluding a run that ended while control was stopping", "run_id", run.ID, "phase", run.Phase)
	return m.conclude(ctx, run, obs)
}

// reconcile recounts a priority's orders from MongoDB when JetStream has
// held none of them for a while and the counters still fall short.
func (m *machine) reconcile(ctx context.Context, run events.Run, obs *observation) error {
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if !obs.short(p) {
			delete(m.shortSince, p)
			continue
		}
		since, ok := m.shortSince[p]
		if !ok {
			m.shortSince[p] = time.Now()
			continue
		}
		if time.Since(since) < m.cfg.ReconcileAfter {
			continue
		}
		delete(m.shortSince, p)
		if err := m.recount(ctx, run.ID, p); err != nil {
			return err
		}
	}
	return nil
}

// waitPast returns once the wall clock, in milliseconds, is past t.
func waitPast(ctx context.Context, t *time.Time) error {
	if t == nil {
		return nil
	}
	d := time.Until(t.Add(time.Millisecond))
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
