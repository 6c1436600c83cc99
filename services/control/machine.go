package control

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// machine drives the current run through its phases. Everything it decides
// from is read again at every step (run state and generation progress from
// the bucket, queues from JetStream, counters from the fold of the RESULTS
// stream), so a restarted control service carries on where the previous one
// stopped. It owns the run's lock: its steps and the commands that change
// the run each hold it, so that a command sees, and leaves, the run between
// two steps.
type machine struct {
	lock    chan struct{} // held while a step or a command runs
	state   state
	cons    consumers
	proj    *projector
	view    *redisstate.Store
	reports reports
	phases  phases
	meters  *meters
	tick    time.Duration
	log     *slog.Logger
	// wake makes the machine step now rather than at the next tick.
	wake chan struct{}
	// wg tracks background work Run waits for.
	wg sync.WaitGroup
	// verifyStop, closed, stops the verification of the last run's
	// report; verifyDone is closed when it has ended.
	verifyMu               sync.Mutex
	verifyStop, verifyDone chan struct{}
}

// acquire takes the run's lock, or fails when ctx ends first.
func (m *machine) acquire(ctx context.Context) error {
	select {
	case m.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives the run's lock up.
func (m *machine) release() { <-m.lock }

// nudge makes the machine step at once.
func (m *machine) nudge() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// loop steps the machine every tick until ctx is cancelled.
func (m *machine) loop(ctx context.Context) {
	if err := m.concludeInterrupted(ctx); err != nil {
		m.log.Warn("concluding a run that ended while control was stopping", slog.Any(logs.ErrorKey, err))
	}
	if err := m.republish(ctx); err != nil {
		m.log.Warn("checking the last published phase", slog.Any(logs.ErrorKey, err))
	}
	ticker := time.NewTicker(m.tick)
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
				m.log.Error("advancing the run", slog.Int("failures", failures), slog.Any(logs.ErrorKey, err))
			}
			continue
		}
		failures = 0
	}
}

// step moves the current run through as many phases as its observation
// allows.
func (m *machine) step(ctx context.Context) error {
	if err := m.acquire(ctx); err != nil {
		return err
	}
	defer m.release()
	for range 8 {
		run, rev, err := m.state.run(ctx)
		if err != nil || rev == 0 {
			return err
		}
		// The latest run's counters are projected whatever its phase: a
		// finished run's figures stay in Redis across restarts.
		if err := m.proj.follow(ctx, run.ID); err != nil || !run.Phase.Active() {
			m.meters.setPhase(run.Phase)
			return err
		}
		obs, err := m.observe(ctx, run)
		if err != nil {
			return err
		}
		m.meters.observed(run, obs)
		if err := m.repair(ctx, run, obs); err != nil {
			return err
		}
		next, ok := decide(run.Phase, obs)
		if !ok {
			return nil
		}
		reason := ""
		if next == events.PhaseError {
			reason = "generation failed: " + obs.gen.Error
		}
		run = m.noteLost(run, next, obs)
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
	// The queues first, then the reports: a processor stores a batch's
	// report before it acks the batch, so queues seen empty and every
	// report folded mean every order of the run is accounted for.
	if obs.vip, err = m.cons.info(ctx, events.PriorityVIP); err != nil {
		return nil, err
	}
	if obs.normal, err = m.cons.info(ctx, events.PriorityNormal); err != nil {
		return nil, err
	}
	if obs.counters, obs.caughtUp, err = m.proj.observe(ctx, run.ID); err != nil {
		return nil, err
	}
	return obs, nil
}

// noteLost records, when a priority drains, the orders of it that left
// JetStream without a processor's report: acked or deleted by someone else
// (an operator's `nats consumer next`, say). They are counted and logged;
// the run goes on without them.
func (m *machine) noteLost(run events.Run, next events.Phase, obs *observation) events.Run {
	var p events.Priority
	switch next {
	case events.PhaseEnqueueNormal:
		p = events.PriorityVIP
	case events.PhaseDone:
		p = events.PriorityNormal
	default:
		return run
	}
	if lost := obs.lost(p); lost > 0 {
		*run.Lost.Ref(p) = lost
		m.log.Error("orders left the queue without being processed: acked or deleted outside Pedidos",
			slog.String("run_id", run.ID), slog.String("priority", string(p)), slog.Int64("lost", lost),
			slog.Int64("published", obs.gen.Published.Get(p)))
	}
	return run
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
		m.log.Info("restoring consumer state", slog.String("run_id", run.ID), slog.String("phase", string(run.Phase)),
			slog.String("priority", string(p)), slog.Bool("paused", paused))
		if err := m.cons.setPaused(ctx, p, paused); err != nil {
			return err
		}
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
	// Redis shows the counters the decision saw before anyone learns of the
	// new phase: a reader that sees DONE sees the final counts.
	m.proj.save(ctx)
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
		if err := m.view.ReleaseNormal(ctx); err != nil {
			m.log.Warn("moving NORMAL jobs to wait in the Bull view", slog.Any(logs.ErrorKey, err))
		}
		if !obs.queuePaused {
			if err := m.cons.setPaused(ctx, events.PriorityNormal, false); err != nil {
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
	if err := m.cons.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return err
	}
	if err := m.view.Settle(ctx, run.Phase == events.PhaseDone); err != nil {
		m.log.Warn("tidying the Bull view", slog.String("run_id", run.ID), slog.Any(logs.ErrorKey, err))
	}
	report, err := m.reports.build(ctx, run, obs)
	if err != nil {
		return err
	}
	if err := m.reports.save(ctx, report); err != nil {
		return err
	}
	m.meters.observed(run, obs)
	m.meters.ended(report)
	if run.Phase == events.PhaseDone { // an unfinished run's count would check nothing a user asked for
		m.verifyInBackground(ctx, report)
	}
	return nil
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
	m.log.Info("phase", slog.String("run_id", run.ID), slog.String("phase", string(ev.Phase)),
		slog.String("previous", string(ev.Previous)), slog.Int64("processed_vip", ev.Counts.Processed.VIP),
		slog.Int64("processed_normal", ev.Counts.Processed.Normal))
	return m.phases.publish(ctx, ev, ev.MsgID())
}

// republish announces the current phase again if control stopped between
// recording it and announcing it.
func (m *machine) republish(ctx context.Context) error {
	run, rev, err := m.state.run(ctx)
	if err != nil || rev == 0 || len(run.Timeline) == 0 {
		return err
	}
	last, err := m.phases.last(ctx)
	if err != nil {
		return err
	}
	if last.RunID == run.ID && last.Phase == run.Phase {
		return nil
	}
	m.log.Info("announcing the current phase again", slog.String("run_id", run.ID), slog.String("phase", string(run.Phase)))
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
	if done, err := m.reports.exists(ctx, run.ID); err != nil || done {
		return err
	}
	if err := m.proj.follow(ctx, run.ID); err != nil {
		return err
	}
	if err := m.proj.sync(ctx, run.ID); err != nil {
		return err
	}
	obs, err := m.observe(ctx, run)
	if err != nil {
		return err
	}
	m.log.Info("concluding a run that ended while control was stopping", slog.String("run_id", run.ID), slog.String("phase", string(run.Phase)))
	return m.conclude(ctx, run, obs)
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
