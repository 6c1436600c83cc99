package control

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// The queue commands: pause, resume, retry-failed and clean.

// pause stops consumption on every processor until resume, across restarts
// of any service: the consumers are paused with the JetStream pause API, and
// the pause is recorded so that the phase machine keeps them so.
func (c *commands) pause(ctx context.Context, _ struct{}) (events.QueueReply, error) {
	if err := c.lock(ctx); err != nil {
		return events.QueueReply{}, err
	}
	defer c.m.release()
	ctx = context.WithoutCancel(ctx)
	m := c.m
	if err := m.state.saveQueue(ctx, events.QueueState{Paused: true, At: time.Now().UTC()}); err != nil {
		return events.QueueReply{}, err
	}
	if err := m.cons.setAll(ctx, true); err != nil {
		return events.QueueReply{}, err
	}
	if err := c.view.SetPaused(ctx, true); err != nil {
		c.log.Warn("marking the Bull view paused", slog.Any(logs.ErrorKey, err))
	}
	n, err := c.workers.quiesce(ctx, "queue paused")
	if err != nil {
		c.log.Warn("waiting for the processors to stop", slog.Any(logs.ErrorKey, err))
	}
	if run, rev, err := m.state.run(ctx); err == nil && rev > 0 {
		if err := m.proj.sync(ctx, run.ID); err != nil {
			c.log.Warn("counting the orders processed before the pause", slog.Any(logs.ErrorKey, err))
		}
	}
	c.log.Info("queue paused", slog.Int("processors", n))
	return events.QueueReply{Paused: true, Processors: n}, nil
}

// resume undoes pause: VIP orders flow again, and NORMAL ones if the
// current run is past its VIP drain.
func (c *commands) resume(ctx context.Context, _ struct{}) (events.QueueReply, error) {
	if err := c.lock(ctx); err != nil {
		return events.QueueReply{}, err
	}
	defer c.m.release()
	m := c.m
	if err := m.state.saveQueue(ctx, events.QueueState{Paused: false, At: time.Now().UTC()}); err != nil {
		return events.QueueReply{}, err
	}
	if err := c.view.SetPaused(ctx, false); err != nil {
		c.log.Warn("marking the Bull view resumed", slog.Any(logs.ErrorKey, err))
	}
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.QueueReply{}, err
	}
	if err := m.cons.setPaused(ctx, events.PriorityVIP, false); err != nil {
		return events.QueueReply{}, err
	}
	if run.Phase.Active() && run.Phase.VIPDrained() {
		if err := m.cons.setPaused(ctx, events.PriorityNormal, false); err != nil {
			return events.QueueReply{}, err
		}
	}
	c.log.Info("queue resumed", slog.String("run_id", run.ID), slog.String("phase", string(run.Phase)))
	return events.QueueReply{Paused: false}, nil
}

// retryFailed queues again the failed orders the Bull view keeps: their
// failed documents are deleted, their counts moved back, and the orders
// published again. It refuses while a run is active, whose counts it would
// upset.
func (c *commands) retryFailed(ctx context.Context, _ struct{}) (events.RetryReply, error) {
	if err := c.lock(ctx); err != nil {
		return events.RetryReply{}, err
	}
	defer c.m.release()
	ctx = context.WithoutCancel(ctx)
	m := c.m
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.RetryReply{}, err
	}
	if run.Phase.Active() {
		return events.RetryReply{}, refusal(events.ErrRunActive, run)
	}
	orders, err := c.view.FailedOrders(ctx)
	if err != nil || len(orders) == 0 {
		return events.RetryReply{}, err
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	_, err = c.db.Collection(events.CollectionOrders).DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "status", Value: events.StatusFailed},
	})
	if err != nil {
		return events.RetryReply{}, fmt.Errorf("deleting failed orders: %w", err)
	}
	if err := c.orders.reportRetried(ctx, orders); err != nil {
		return events.RetryReply{}, err
	}
	if err := c.view.RequeueFailed(ctx, orders); err != nil {
		c.log.Warn("moving retried jobs back to waiting in the Bull view", slog.Any(logs.ErrorKey, err))
	}
	retried, err := c.orders.republish(ctx, orders)
	if err != nil {
		return events.RetryReply{Retried: retried}, err
	}
	qs, _, err := m.state.queue(ctx)
	if err != nil {
		return events.RetryReply{}, err
	}
	if err := m.cons.setAll(ctx, qs.Paused); err != nil {
		return events.RetryReply{}, err
	}
	c.log.Info("failed orders queued again", slog.Int64("orders", retried))
	return events.RetryReply{Retried: retried}, nil
}

// clean removes up to Limit of the oldest jobs of one state. Removing
// waiting jobs removes their orders from JetStream too, so it refuses while a
// run is active, whose drain would never come.
func (c *commands) clean(ctx context.Context, in events.CleanRequest) (events.CleanReply, error) {
	if in.Limit < 1 {
		return events.CleanReply{}, events.Refusal(events.ErrBadRequest, "limit must be a positive integer")
	}
	reply := events.CleanReply{State: in.State}
	var err error
	switch in.State {
	case events.CleanCompleted, events.CleanFailed, events.CleanDelayed:
		reply.Removed, err = c.view.CleanSet(ctx, redisstate.Set(in.State), in.Limit)
		return reply, err
	case events.CleanWait:
	default:
		return reply, events.Refusal(events.ErrBadRequest, "state must be one of completed, failed, wait, delayed; got %q", in.State)
	}
	if err := c.lock(ctx); err != nil {
		return reply, err
	}
	defer c.m.release()
	run, _, err := c.m.state.run(ctx)
	if err != nil {
		return reply, err
	}
	if run.Phase.Active() {
		return reply, refusal(events.ErrRunActive, run)
	}
	// The oldest pending orders go, VIP ones first as they are first in
	// line; the view loses as many of its oldest waiting jobs.
	left := in.Limit
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		n, err := c.orders.dropOldest(ctx, events.OrderSubject(p), left)
		if err != nil {
			return reply, err
		}
		reply.Removed += n
		left -= n
	}
	if _, err := c.view.PopWaiting(ctx, reply.Removed); err != nil {
		c.log.Warn("removing cleaned jobs from the Bull view", slog.Any(logs.ErrorKey, err))
	}
	return reply, nil
}

// recoverStuck removes up to in.MaxJobs active jobs from the Bull view
// between runs, when no processor holds any: those it still lists active
// are stuck there (a processor died before it moved them on, and no run is
// left to redeliver them). During a run it removes nothing: JetStream
// delivers the orders of a processor that died to another after the ack
// wait, and their jobs move on with them.
func (c *commands) recoverStuck(ctx context.Context, in events.RecoverRequest) (events.RecoverReply, error) {
	if in.MaxJobs < 1 {
		return events.RecoverReply{}, events.Refusal(events.ErrBadRequest, "maxJobs must be a positive integer")
	}
	if err := c.lock(ctx); err != nil {
		return events.RecoverReply{}, err
	}
	defer c.m.release()
	run, _, err := c.m.state.run(ctx)
	if err != nil {
		return events.RecoverReply{}, err
	}
	if run.Phase.Active() {
		return events.RecoverReply{Message: fmt.Sprintf("Nenhum job travado: run %s is %s, and JetStream redelivers "+
			"the orders of a processor that died after the ack wait", run.ID, run.Phase)}, nil
	}
	n, err := c.view.PopActive(ctx, in.MaxJobs)
	if err != nil {
		return events.RecoverReply{}, err
	}
	return events.RecoverReply{Recovered: n, Message: fmt.Sprintf("Recuperados %d jobs ativos que estavam travados", n)}, nil
}
