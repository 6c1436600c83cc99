package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

// pause stops consumption on every processor until resume, across restarts
// of any service: the consumers are paused with the JetStream pause API, and
// the pause is recorded so that the phase machine keeps them so.
func (c *commands) pause(ctx context.Context, _ struct{}) (events.QueueReply, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.state.saveQueue(ctx, events.QueueState{Paused: true, At: time.Now().UTC()}); err != nil {
		return events.QueueReply{}, err
	}
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := m.setPaused(ctx, p, true); err != nil {
			return events.QueueReply{}, err
		}
	}
	if err := m.jobs.setPaused(ctx, true); err != nil {
		m.log.Warn("marking the Bull view paused", "err", err)
	}
	n, err := m.quiesce(ctx, "queue paused")
	if err != nil {
		m.log.Warn("waiting for the processors to stop", "err", err)
	}
	m.log.Info("queue paused", "processors", n)
	return events.QueueReply{Paused: true, Processors: n}, nil
}

// resume undoes pause: VIP orders flow again, and NORMAL ones if the
// current run is past its VIP drain.
func (c *commands) resume(ctx context.Context, _ struct{}) (events.QueueReply, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.state.saveQueue(ctx, events.QueueState{Paused: false, At: time.Now().UTC()}); err != nil {
		return events.QueueReply{}, err
	}
	if err := m.jobs.setPaused(ctx, false); err != nil {
		m.log.Warn("marking the Bull view resumed", "err", err)
	}
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.QueueReply{}, err
	}
	if err := m.setPaused(ctx, events.PriorityVIP, false); err != nil {
		return events.QueueReply{}, err
	}
	if run.Phase.Active() && run.Phase.VIPDrained() {
		if err := m.setPaused(ctx, events.PriorityNormal, false); err != nil {
			return events.QueueReply{}, err
		}
	}
	m.log.Info("queue resumed", "run_id", run.ID, "phase", run.Phase)
	return events.QueueReply{Paused: false}, nil
}

// retryFailed queues again the failed orders the Bull view keeps: their
// failed documents are deleted, their counts moved back, and the orders
// published again. It refuses while a run is active, whose counts it would
// upset.
func (c *commands) retryFailed(ctx context.Context, _ struct{}) (events.RetryReply, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	run, _, err := m.state.run(ctx)
	if err != nil {
		return events.RetryReply{}, err
	}
	if run.Phase.Active() {
		return events.RetryReply{}, conflict(events.ErrRunActive, run)
	}
	orders, err := m.jobs.failedOrders(ctx)
	if err != nil || len(orders) == 0 {
		return events.RetryReply{}, err
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	_, err = m.db.Collection(events.CollectionOrders).DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "status", Value: events.StatusFailed},
	})
	if err != nil {
		return events.RetryReply{}, fmt.Errorf("deleting failed orders: %w", err)
	}
	if err := m.jobs.requeueFailed(ctx, orders); err != nil {
		return events.RetryReply{}, err
	}
	// A new message id: JetStream may still remember the first one.
	suffix := ":retry:" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	for i := range orders {
		o := &orders[i]
		if _, err := m.js.Publish(ctx, events.OrderSubject(o.Priority), o.AppendJSON(nil), jetstream.WithMsgID(o.ID+suffix)); err != nil {
			return events.RetryReply{Retried: int64(i)}, fmt.Errorf("publishing order %s again: %w", o.ID, err)
		}
	}
	qs, _, err := m.state.queue(ctx)
	if err != nil {
		return events.RetryReply{}, err
	}
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := m.setPaused(ctx, p, qs.Paused); err != nil {
			return events.RetryReply{}, err
		}
	}
	m.log.Info("failed orders queued again", "orders", len(orders))
	return events.RetryReply{Retried: int64(len(orders))}, nil
}

// clean removes up to Limit of the oldest jobs of one state. Removing
// waiting jobs removes their orders from JetStream too, so it refuses while a
// run is active, whose drain would never come.
func (c *commands) clean(ctx context.Context, in events.CleanRequest) (events.CleanReply, error) {
	if in.Limit < 1 {
		return events.CleanReply{}, &events.CommandError{Status: http.StatusBadRequest, Message: "limit must be a positive integer"}
	}
	m := c.m
	reply := events.CleanReply{State: in.State}
	var err error
	switch in.State {
	case events.CleanCompleted, events.CleanFailed, events.CleanDelayed:
		reply.Removed, err = m.jobs.cleanSetJobs(ctx, in.State, in.Limit)
		return reply, err
	case events.CleanWait:
	default:
		return reply, &events.CommandError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("state must be one of completed, failed, wait, delayed; got %q", in.State)}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	run, _, err := m.state.run(ctx)
	if err != nil {
		return reply, err
	}
	if run.Phase.Active() {
		return reply, conflict(events.ErrRunActive, run)
	}
	removed, err := m.jobs.cleanWait(ctx, in.Limit)
	if err != nil {
		return reply, err
	}
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := m.dropOldest(ctx, events.OrderSubject(p), removed.Get(p)); err != nil {
			return reply, err
		}
	}
	reply.Removed = removed.Total()
	return reply, nil
}

// dropOldest removes the n oldest pending orders of subject from JetStream:
// the ones the Bull view lists first.
func (m *machine) dropOldest(ctx context.Context, subject string, n int64) error {
	if n == 0 {
		return nil
	}
	stream, err := m.js.Stream(ctx, events.StreamOrders)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", events.StreamOrders, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", events.StreamOrders, err)
	}
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(subject)}
	if held := int64(info.State.Subjects[subject]); held > n {
		opts = append(opts, jetstream.WithPurgeKeep(uint64(held-n)))
	}
	if err := stream.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("purging %d orders of %s: %w", n, subject, err)
	}
	return nil
}

// failedOrders returns the orders of the failed jobs the view keeps.
func (j *jobs) failedOrders(ctx context.Context) ([]events.Order, error) {
	ids, err := j.rdb.ZRange(ctx, key(events.BullFailed), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing failed jobs: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := j.rdb.Pipeline()
	data := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		data[i] = pipe.HGet(ctx, key(id), events.BullFieldData)
	}
	// A job whose hash is gone answers redis.Nil and is skipped below.
	_, _ = pipe.Exec(ctx)
	orders := make([]events.Order, 0, len(ids))
	for _, cmd := range data {
		var o events.Order
		if err := json.Unmarshal([]byte(cmd.Val()), &o); err == nil && o.ID != "" {
			orders = append(orders, o)
		}
	}
	return orders, nil
}

// requeueFailed moves failed jobs back to wait and their counts from failed
// back to not done.
func (j *jobs) requeueFailed(ctx context.Context, orders []events.Order) error {
	pipe := j.rdb.TxPipeline()
	for _, o := range orders {
		pipe.ZRem(ctx, key(events.BullFailed), o.ID)
		pipe.HDel(ctx, key(o.ID), events.BullFieldFailedReason, events.BullFieldFinishedOn, events.BullFieldProcessedOn)
		pipe.HSet(ctx, key(o.ID), events.BullFieldAttemptsMade, 0)
		pipe.LPush(ctx, key(events.BullWait), o.ID)
		pipe.HIncrBy(ctx, events.RunCountersKey(o.RunID), events.FieldFailed(o.Priority), -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("moving %d failed jobs back to wait: %w", len(orders), err)
	}
	return nil
}
