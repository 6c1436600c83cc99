package control

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// ordersStream operates on what JetStream holds of the orders: the pending
// ones in ORDERS, and the reports of RESULTS.
type ordersStream struct {
	js jetstream.JetStream
}

// purge empties a stream and returns how many messages it held.
func (o ordersStream) purge(ctx context.Context, name string) (int64, error) {
	stream, err := o.js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("opening stream %s: %w", name, err)
	}
	held := int64(stream.CachedInfo().State.Msgs)
	if err := stream.Purge(ctx); err != nil {
		return 0, fmt.Errorf("purging stream %s: %w", name, err)
	}
	return held, nil
}

// publishTasks publishes the chunk tasks of a run's generation, each once.
func (o ordersStream) publishTasks(ctx context.Context, gen events.Generation) error {
	for _, task := range gen.Tasks() {
		data, err := json.Marshal(task)
		if err != nil {
			return fmt.Errorf("encoding a chunk task: %w", err)
		}
		if _, err := o.js.Publish(ctx, events.GenerationSubject(task.RunID), data, jetstream.WithMsgID(task.MsgID())); err != nil {
			return fmt.Errorf("publishing chunk %d of run %s: %w", task.Chunk, task.RunID, err)
		}
	}
	return nil
}

// dropTasks removes the chunk tasks of run runID not yet done.
func (o ordersStream) dropTasks(ctx context.Context, runID string) error {
	stream, err := o.js.Stream(ctx, events.StreamGeneration)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", events.StreamGeneration, err)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject(events.GenerationSubject(runID))); err != nil {
		return fmt.Errorf("dropping the chunk tasks of run %s: %w", runID, err)
	}
	return nil
}

// dropOldest removes up to n of the oldest pending orders of subject from
// JetStream and returns how many it removed.
func (o ordersStream) dropOldest(ctx context.Context, subject string, n int64) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	stream, err := o.js.Stream(ctx, events.StreamOrders)
	if err != nil {
		return 0, fmt.Errorf("opening stream %s: %w", events.StreamOrders, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, fmt.Errorf("reading stream %s: %w", events.StreamOrders, err)
	}
	held := int64(info.State.Subjects[subject])
	if held == 0 {
		return 0, nil
	}
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(subject)}
	if held > n {
		opts = append(opts, jetstream.WithPurgeKeep(uint64(held-n)))
	}
	if err := stream.Purge(ctx, opts...); err != nil {
		return 0, fmt.Errorf("purging %d orders of %s: %w", min(n, held), subject, err)
	}
	return min(n, held), nil
}

// republish publishes orders again, each under a new message id:
// JetStream may still remember the first.
func (o ordersStream) republish(ctx context.Context, orders []events.Order) (int64, error) {
	now := time.Now()
	for i := range orders {
		ord := &orders[i]
		_, err := o.js.Publish(ctx, events.OrderSubject(ord.Priority), ord.AppendJSON(nil),
			jetstream.WithMsgID(events.RetryMsgID(ord.ID, now)))
		if err != nil {
			return int64(i), fmt.Errorf("publishing order %s again: %w", ord.ID, err)
		}
	}
	return int64(len(orders)), nil
}

// reportRetried tells the counters that failed orders are queued again: a
// report on the RESULTS stream, as the processors' are, so that the fold
// stays the one source of the counts.
func (o ordersStream) reportRetried(ctx context.Context, orders []events.Order) error {
	type group struct {
		runID string
		p     events.Priority
	}
	byRun := map[group]events.OrderKeys{}
	for _, ord := range orders {
		g := group{ord.RunID, ord.Priority}
		byRun[g] = append(byRun[g], events.OrderKey(ord.ID))
	}
	now := time.Now().UTC()
	for g, keys := range byRun {
		data, err := json.Marshal(events.BatchResult{RunID: g.runID, Priority: g.p, Processor: "control",
			ProcessedAt: now, WrittenAt: now, Retried: keys})
		if err != nil {
			return fmt.Errorf("encoding a retry report: %w", err)
		}
		if _, err := o.js.Publish(ctx, events.ResultSubject(g.runID), data); err != nil {
			return fmt.Errorf("reporting %d retried orders of run %s: %w", len(keys), g.runID, err)
		}
	}
	return nil
}
