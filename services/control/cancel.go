package control

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
)

// cancel aborts the active run. When it answers, no order is being
// processed and none will be until the queue resumes: the consumers are
// paused, the generator has stopped publishing, and every processor has
// finished or handed back the batches it held.
func (c *commands) cancel(ctx context.Context, in events.CancelRequest) (events.CancelReply, error) {
	if err := c.lock(ctx); err != nil {
		return events.CancelReply{}, err
	}
	defer c.m.release()
	return c.abort(context.WithoutCancel(ctx), in)
}

// abort does the work of the cancel command; the caller holds the run's
// lock. Once begun it is not cut short by the caller's deadline: a cancel
// done halfway would leave the queue paused with the run still active.
func (c *commands) abort(ctx context.Context, in events.CancelRequest) (events.CancelReply, error) {
	m := c.m
	run, rev, err := m.state.run(ctx)
	if err != nil {
		return events.CancelReply{}, err
	}
	if !run.Phase.Active() {
		return events.CancelReply{}, events.ErrNoActiveRun
	}
	log := c.log.With(slog.String("run_id", run.ID))
	// Nothing new is delivered, then the run is recorded as aborted, which
	// stops the generator.
	if err := m.cons.setAll(ctx, true); err != nil {
		return events.CancelReply{}, err
	}
	run = advance(run, events.PhaseAborted, "cancelled by an operator")
	if _, err := m.state.save(ctx, run, rev); err != nil {
		return events.CancelReply{}, err
	}
	reply := events.CancelReply{RunID: run.ID, Aborted: true, QueuePaused: true}
	if err := c.orders.dropTasks(ctx, run.ID); err != nil {
		log.Warn("dropping the chunks left to generate", slog.Any(logs.ErrorKey, err))
	}
	if err := c.workers.stopGenerators(ctx, run.ID); err != nil {
		log.Warn("waiting for the generators to stop", slog.Any(logs.ErrorKey, err))
	}
	if reply.Processors, err = c.workers.quiesce(ctx, "cancel of run "+run.ID); err != nil {
		log.Warn("waiting for the processors to stop", slog.Any(logs.ErrorKey, err))
	}
	if err := m.proj.sync(ctx, run.ID); err != nil {
		log.Warn("counting the orders processed before the cancel", slog.Any(logs.ErrorKey, err))
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
		if reply.PurgedOrders, err = c.orders.purge(ctx, events.StreamOrders); err != nil {
			return reply, err
		}
		reply.Purged = true
	}
	if in.RemovePending {
		n, trash, err := c.view.RemovePending(ctx)
		if err != nil {
			return reply, err
		}
		reply.RemovedPending = n
		m.background(ctx, func(ctx context.Context) {
			if err := c.view.EmptyTrash(ctx, trash...); err != nil {
				log.Warn("deleting removed jobs", slog.Any(logs.ErrorKey, err))
			}
		})
	}
	reply.Message = cancelMessage(reply, obs)
	log.Info("run cancelled", slog.Int("processors", reply.Processors), slog.Int64("purged_orders", reply.PurgedOrders),
		slog.Int64("removed_pending", reply.RemovedPending))
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

// background runs f in a goroutine that Run waits for before returning.
func (m *machine) background(ctx context.Context, f func(context.Context)) {
	m.wg.Go(func() { f(ctx) })
}
