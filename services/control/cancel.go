package control

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// cancel aborts the active run. When it answers, no order is being
// processed and none will be until the queue resumes: the consumers are
// paused, the generator has stopped publishing, and every processor has
// finished or handed back the batches it held.
func (c *commands) cancel(ctx context.Context, in events.CancelRequest) (events.CancelReply, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cancel(ctx, in)
}

// cancel does the work of the cancel command; the caller holds m.mu.
func (m *machine) cancel(ctx context.Context, in events.CancelRequest) (events.CancelReply, error) {
	run, rev, err := m.state.run(ctx)
	if err != nil {
		return events.CancelReply{}, err
	}
	if !run.Phase.Active() {
		return events.CancelReply{}, conflict(events.ErrNoActiveRun, events.Run{})
	}
	log := m.log.With("run_id", run.ID)
	// Nothing new is delivered, then the run is recorded as aborted, which
	// stops the generator.
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := m.setPaused(ctx, p, true); err != nil {
			return events.CancelReply{}, err
		}
	}
	run = advance(run, events.PhaseAborted, "cancelled by an operator")
	if _, err := m.state.save(ctx, run, rev); err != nil {
		return events.CancelReply{}, err
	}
	reply := events.CancelReply{RunID: run.ID, Aborted: true, QueuePaused: true}
	if err := m.stopGenerator(ctx, run.ID); err != nil {
		log.Warn("waiting for the generator to stop", "err", err)
	}
	if reply.Processors, err = m.quiesce(ctx, "cancel of run "+run.ID); err != nil {
		log.Warn("waiting for the processors to stop", "err", err)
	}
	obs, err := m.observe(ctx, run)
	if err != nil {
		return reply, err
	}
	if err := m.conclude(ctx, run, obs); err != nil {
		return reply, err
	}
	if err := m.announce(ctx, run, obs); err != nil {
		return reply, err
	}
	if in.Purge {
		if reply.PurgedOrders, err = m.purgeOrders(ctx); err != nil {
			return reply, err
		}
		reply.Purged = true
	}
	if in.RemovePending {
		n, trash, err := m.jobs.removePending(ctx)
		if err != nil {
			return reply, err
		}
		reply.RemovedPending = n
		m.background(ctx, func(ctx context.Context) {
			if err := m.jobs.emptyTrash(ctx, trash...); err != nil {
				m.log.Warn("deleting removed jobs", "err", err)
			}
		})
	}
	reply.Message = cancelMessage(reply, obs)
	log.Info("run cancelled", "processors", reply.Processors, "purged_orders", reply.PurgedOrders,
		"removed_pending", reply.RemovedPending)
	return reply, nil
}

func cancelMessage(r events.CancelReply, obs *observation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s aborted after %d orders processed", r.RunID, obs.counters.Processed.Total())
	if r.Purged {
		fmt.Fprintf(&b, "; %d pending orders purged", r.PurgedOrders)
	}
	if r.RemovedPending > 0 {
		fmt.Fprintf(&b, "; %d waiting jobs removed", r.RemovedPending)
	}
	b.WriteString("; a new run may start")
	return b.String()
}

// purgeOrders removes every pending order from JetStream and returns how
// many there were.
func (m *machine) purgeOrders(ctx context.Context) (int64, error) {
	return m.purge(ctx, events.StreamOrders)
}

// purge empties a stream and returns how many messages it held.
func (m *machine) purge(ctx context.Context, name string, opts ...jetstream.StreamPurgeOpt) (int64, error) {
	stream, err := m.js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("opening stream %s: %w", name, err)
	}
	held := int64(stream.CachedInfo().State.Msgs)
	if err := stream.Purge(ctx, opts...); err != nil {
		return 0, fmt.Errorf("purging stream %s: %w", name, err)
	}
	return held, nil
}

// background runs f in a goroutine that Run waits for before returning.
func (m *machine) background(ctx context.Context, f func(context.Context)) {
	m.wg.Go(func() { f(ctx) })
}
