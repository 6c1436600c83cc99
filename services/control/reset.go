package control

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// reset wipes every order, run, queue and counter, refusing while a run is
// active unless asked to force it, which cancels the run first.
func (c *commands) reset(ctx context.Context, in events.ResetRequest) (events.ResetReply, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.ResetReply{}, err
	}
	if run.Phase.Active() {
		if !in.Force {
			return events.ResetReply{}, conflict(events.ErrRunActive, run)
		}
		if _, err := m.cancel(ctx, events.CancelRequest{}); err != nil {
			return events.ResetReply{}, fmt.Errorf("cancelling run %s before the reset: %w", run.ID, err)
		}
	}
	orders, err := m.purge(ctx, events.StreamOrders)
	if err != nil {
		return events.ResetReply{}, err
	}
	if _, err := m.purge(ctx, events.StreamControl); err != nil {
		return events.ResetReply{}, err
	}
	if err := m.state.clear(ctx); err != nil {
		return events.ResetReply{}, err
	}
	for _, coll := range []string{events.CollectionOrders, events.CollectionRuns} {
		if err := m.db.Collection(coll).Drop(ctx); err != nil {
			return events.ResetReply{}, fmt.Errorf("dropping %s: %w", coll, err)
		}
	}
	if _, err := ensureIndexes(ctx, m.db, m.cfg.Indexes); err != nil {
		return events.ResetReply{}, err
	}
	keys, err := m.jobs.wipe(ctx)
	if err != nil {
		return events.ResetReply{}, err
	}
	// Back to the state between runs of a fresh install.
	if err := m.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return events.ResetReply{}, err
	}
	if err := m.setPaused(ctx, events.PriorityVIP, false); err != nil {
		return events.ResetReply{}, err
	}
	// Followers of control.phase learn that there is no run any more.
	now := time.Now().UTC()
	previous := run.Phase
	if previous.Active() {
		previous = events.PhaseAborted
	}
	idle := events.PhaseEvent{Phase: events.PhaseIdle, Previous: previous, At: now, Reason: "reset"}
	if err := m.publishPhase(ctx, idle, "reset:"+strconv.FormatInt(now.UnixNano(), 10)); err != nil {
		return events.ResetReply{}, err
	}
	m.log.Info("reset", "pending_orders_purged", orders, "redis_keys_deleted", keys)
	return events.ResetReply{Message: fmt.Sprintf(
		"reset: orders, runs and phase history deleted, %d pending orders purged, %d Redis keys deleted", orders, keys)}, nil
}
