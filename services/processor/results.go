package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// reportTimeout bounds how long a batch's report may take to be stored,
// retries included. A batch whose report is not stored is not acked: its
// orders are in MongoDB, and their redelivery reports them.
const reportTimeout = 30 * time.Second

// reporter publishes the BatchResult of every settled batch on the RESULTS
// stream and waits until JetStream stored it.
type reporter struct {
	js       jetstream.JetStream
	instance string
	seq      atomic.Uint64
}

// publish stores reports, each once: a report retried after a lost
// acknowledgement carries the same message id.
func (r *reporter) publish(ctx context.Context, reports []events.BatchResult) error {
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	for i := range reports {
		data, err := json.Marshal(&reports[i])
		if err != nil {
			return fmt.Errorf("encoding the report of a batch of run %s: %w", reports[i].RunID, err)
		}
		msg := &nats.Msg{
			Subject: events.ResultSubject(reports[i].RunID),
			Data:    data,
			Header:  nats.Header{events.HeaderMsgID: []string{r.instance + "." + strconv.FormatUint(r.seq.Add(1), 10)}},
		}
		if err := r.store(ctx, msg); err != nil {
			return fmt.Errorf("reporting a batch of run %s: %w", reports[i].RunID, err)
		}
	}
	return nil
}

// store publishes msg until JetStream acknowledges it or ctx ends.
func (r *reporter) store(ctx context.Context, msg *nats.Msg) error {
	delay := 50 * time.Millisecond
	for {
		_, err := r.js.PublishMsg(ctx, msg)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// report folds a written batch into one BatchResult per run: the orders
// MongoDB now holds, by key, processed or failed.
func report(items []item, p events.Priority, processedAt, writtenAt time.Time, results []error, instance string) []events.BatchResult {
	byRun := map[string]*events.BatchResult{}
	var order []string
	for i := range items {
		it := &items[i]
		if it.doc < 0 || it.outcome == retry {
			continue
		}
		r := byRun[it.order.RunID]
		if r == nil {
			r = &events.BatchResult{RunID: it.order.RunID, Priority: p, Processor: instance,
				ProcessedAt: processedAt, WrittenAt: writtenAt}
			byRun[it.order.RunID] = r
			order = append(order, it.order.RunID)
		}
		key := events.OrderKey(it.order.ID)
		if it.reason != "" {
			r.Failed = append(r.Failed, key)
		} else {
			r.Processed = append(r.Processed, key)
		}
		if results[it.doc] != nil { // errAlreadyWritten: outcome is not retry
			r.Duplicates++
		}
		if it.attempts > 1 {
			r.Redelivered++
		}
	}
	out := make([]events.BatchResult, len(order))
	for i, run := range order {
		out[i] = *byRun[run]
	}
	return out
}
