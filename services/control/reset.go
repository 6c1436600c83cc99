package control

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// reset wipes every order, run, queue and counter, refusing while a run is
// active unless asked to force it, which cancels the run first.
func (c *commands) reset(ctx context.Context, in events.ResetRequest) (events.ResetReply, error) {
	if err := c.lock(ctx); err != nil {
		return events.ResetReply{}, err
	}
	defer c.m.release()
	ctx = context.WithoutCancel(ctx) // begun, it is carried out to the end
	m := c.m
	m.stopVerify(true) // before the drop
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.ResetReply{}, err
	}
	if run.Phase.Active() {
		if !in.Force {
			return events.ResetReply{}, refusal(events.ErrRunActive, run)
		}
		if _, err := c.abort(ctx, events.CancelRequest{}); err != nil {
			return events.ResetReply{}, fmt.Errorf("cancelling run %s before the reset: %w", run.ID, err)
		}
	}
	orders, err := c.orders.purge(ctx, events.StreamOrders)
	if err != nil {
		return events.ResetReply{}, err
	}
	for _, stream := range []string{events.StreamControl, events.StreamResults, events.StreamGeneration} {
		if _, err := c.orders.purge(ctx, stream); err != nil {
			return events.ResetReply{}, err
		}
	}
	if err := m.state.clear(ctx); err != nil {
		return events.ResetReply{}, err
	}
	for _, coll := range []string{events.CollectionOrders, events.CollectionRuns} {
		if err := c.db.Collection(coll).Drop(ctx); err != nil {
			return events.ResetReply{}, fmt.Errorf("dropping %s: %w", coll, err)
		}
	}
	if _, err := ensureIndexes(ctx, c.db, c.cfg.Indexes); err != nil {
		return events.ResetReply{}, err
	}
	keys, err := c.view.Wipe(ctx)
	if err != nil {
		return events.ResetReply{}, err
	}
	// Back to the state between runs of a fresh install.
	if err := m.cons.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return events.ResetReply{}, err
	}
	if err := m.cons.setPaused(ctx, events.PriorityVIP, false); err != nil {
		return events.ResetReply{}, err
	}
	// Followers of control.phase learn that there is no run any more.
	now := time.Now().UTC()
	previous := run.Phase
	if previous.Active() {
		previous = events.PhaseAborted
	}
	idle := events.PhaseEvent{Phase: events.PhaseIdle, Previous: previous, At: now, Reason: "reset"}
	if err := m.phases.publish(ctx, idle, "reset:"+strconv.FormatInt(now.UnixNano(), 10)); err != nil {
		return events.ResetReply{}, err
	}
	c.log.Info("reset", slog.Int64("pending_orders_purged", orders), slog.Int64("redis_keys_deleted", keys))
	return events.ResetReply{Message: fmt.Sprintf(
		"reset: orders, runs and phase history deleted, %d pending orders purged, %d Redis keys deleted", orders, keys)}, nil
}
