package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// errAlreadyWritten marks a document MongoDB already holds: an earlier
// delivery of the same order was written but not acknowledged.
var errAlreadyWritten = errors.New("already written")

// item is one delivered message of a batch and what became of it.
type item struct {
	msg      jetstream.Msg
	order    events.Order
	attempts int
	// reason is set when the order can never be processed.
	reason string
	// doc is the index of the order's document in the batch write, or -1
	// when the message is too broken to store.
	doc int
	// outcome is what happens to the message once the batch is written.
	outcome outcome
}

// outcome is how a message is settled with JetStream.
type outcome int

const (
	// ack: the order is in MongoDB (written now or earlier) as processed.
	ack outcome = iota
	// term: the order is in MongoDB as failed, or cannot be stored at all.
	term
	// retry: MongoDB did not take it; it is redelivered after a delay.
	retry
)

// inserter is where batches are written: the orders collection.
type inserter interface {
	InsertMany(ctx context.Context, docs any, opts ...options.Lister[options.InsertManyOptions]) (*mongo.InsertManyResult, error)
}

// batcher writes batches of delivered orders to MongoDB, reports them on
// the RESULTS stream, keeps the Bull view of the queue, and settles each
// message with JetStream.
type batcher struct {
	orders      inserter
	results     *reporter
	view        *redisstate.Store
	maxAttempts int
	log         *slog.Logger
	meters      *meters
	// Outages of MongoDB, of the RESULTS stream and of Redis are logged
	// once per outage, not once per batch or order.
	writeDown, reportDown, viewDown *logs.Outage
}

func newBatcher(orders inserter, results *reporter, view *redisstate.Store, maxAttempts int, log *slog.Logger, m *meters) *batcher {
	return &batcher{
		orders: orders, results: results, view: view, maxAttempts: maxAttempts, log: log, meters: m,
		writeDown:  logs.NewOutage(log, "writing orders to mongodb", outageLogInterval),
		reportDown: logs.NewOutage(log, "reporting batches on the results stream", outageLogInterval),
		viewDown:   logs.NewOutage(log, "updating the Bull view in redis", outageLogInterval),
	}
}

// outageLogInterval is how often an outage in progress is logged again.
const outageLogInterval = 10 * time.Second

// batch is a fetched batch of one priority on its way to MongoDB.
type batch struct {
	priority events.Priority
	// epoch is the quiesce epoch the batch was fetched in.
	epoch uint64
	items []item
}

// take decodes a fetched batch and marks its jobs active in the Bull view.
// It runs in fetch order, so a batch's jobs are the oldest waiting ones.
func (b *batcher) take(ctx context.Context, p events.Priority, epoch uint64, msgs []jetstream.Msg) *batch {
	bt := &batch{priority: p, epoch: epoch, items: make([]item, len(msgs))}
	for i, m := range msgs {
		bt.items[i] = prepare(m)
	}
	b.meters.held.WithLabelValues(string(p)).Add(float64(len(msgs)))
	b.viewed(ctx, b.view.Activate(ctx, jobIDs(bt.items)), len(msgs))
	return bt
}

// viewed records how an update of the Bull view went: the view is a
// projection, and a failed update costs only its accuracy.
func (b *batcher) viewed(ctx context.Context, err error, orders int) {
	if err != nil {
		b.viewDown.Fail(ctx, err, orders)
		return
	}
	b.viewDown.OK(ctx)
}

// jobIDs returns the Bull job ids of items: their order ids, where known.
func jobIDs(items []item) []string {
	ids := make([]string, 0, len(items))
	for i := range items {
		if items[i].order.ID != "" {
			ids = append(ids, items[i].order.ID)
		}
	}
	return ids
}

// job returns the Bull view's job of an item.
func (it *item) job() redisstate.Job {
	return redisstate.Job{ID: it.order.ID, Priority: it.order.Priority, Data: it.msg.Data(), CreatedAt: it.order.CreatedAt}
}

// handBack returns a batch to JetStream untouched: a quiesce came between
// its fetch and its write. Its jobs wait again.
func (b *batcher) handBack(ctx context.Context, bt *batch) {
	defer b.meters.held.WithLabelValues(string(bt.priority)).Sub(float64(len(bt.items)))
	jobs := make([]redisstate.Job, 0, len(bt.items))
	for i := range bt.items {
		bt.items[i].outcome = retry
		if bt.items[i].order.ID != "" {
			jobs = append(jobs, bt.items[i].job())
		}
	}
	b.viewed(ctx, b.view.HandBack(ctx, jobs), len(bt.items))
	for i := range bt.items {
		_ = bt.items[i].msg.Nak()
	}
}

// handle writes a batch. Every message is acked, terminated or nak'ed before
// handle returns; none is acked before MongoDB acknowledged its write and
// JetStream stored the batch's report. written is called once MongoDB has
// answered for the whole batch, before it is reported and settled.
func (b *batcher) handle(ctx context.Context, bt *batch, written func()) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	items, p := bt.items, bt.priority
	defer b.meters.held.WithLabelValues(string(p)).Sub(float64(len(items)))
	docs := make([]any, 0, len(items))
	arena := make([]byte, 0, len(items)*documentSize)
	for i := range items {
		it := &items[i]
		if it.order.ID != "" && it.order.RunID != "" {
			it.doc = len(docs)
			start := len(arena)
			d := newDocument(it, p, now)
			arena = d.appendBSON(arena)
			docs = append(docs, bson.Raw(arena[start:len(arena):len(arena)]))
		}
	}
	began := time.Now()
	results := b.write(ctx, docs)
	b.meters.written(p, time.Since(began))
	b.failExhausted(ctx, items, now, results)
	written()
	b.noteWrite(ctx, results, p)
	done := time.Now()
	for i := range items {
		items[i].outcome = outcomeOf(&items[i], results)
	}
	if err := b.results.publish(ctx, report(items, p, now, done, results, b.results.instance)); err != nil {
		// Unreported orders must not be acked: redelivered, they are found
		// in MongoDB and reported then.
		b.reportDown.Fail(ctx, err, len(items), slog.String("priority", string(p)))
		for i := range items {
			if items[i].doc >= 0 {
				items[i].outcome = retry
			}
		}
	} else {
		b.reportDown.OK(ctx)
		b.meters.settled(p, items, results)
	}
	b.viewed(ctx, b.view.Finish(ctx, finished(items, now, done)), len(items))
	for i := range items {
		b.settle(ctx, &items[i], results)
	}
}

// noteWrite logs a write of the whole batch that failed (MongoDB
// unreachable) as part of an outage: its orders are retried without limit,
// so one line per outage says how many wait.
func (b *batcher) noteWrite(ctx context.Context, results []error, p events.Priority) {
	var be *batchError
	if len(results) > 0 && errors.As(results[0], &be) {
		b.writeDown.Fail(ctx, be.err, len(results), slog.String("priority", string(p)))
		return
	}
	b.writeDown.OK(ctx)
}

// finished is the Bull view's record of a written batch.
func finished(items []item, processedOn, finishedOn time.Time) *redisstate.Batch {
	out := &redisstate.Batch{IDs: jobIDs(items), ProcessedOn: processedOn, FinishedOn: finishedOn}
	for i := range items {
		it := &items[i]
		if it.order.ID == "" {
			continue // nothing to name the job by
		}
		switch {
		case it.outcome == retry:
			out.Retry = append(out.Retry, it.job())
		case it.reason != "":
			out.Failed = append(out.Failed, redisstate.Settled{Job: it.job(), Attempts: it.attempts, Reason: it.reason})
		default:
			out.Completed = append(out.Completed, redisstate.Settled{Job: it.job(), Attempts: it.attempts})
		}
	}
	return out
}

// outcomeOf decides how a message is settled once its batch is written.
func outcomeOf(it *item, results []error) outcome {
	switch {
	case it.doc < 0:
		return term
	case results[it.doc] == nil || errors.Is(results[it.doc], errAlreadyWritten):
		if it.reason != "" {
			return term
		}
		return ack
	}
	return retry
}

// prepare decodes and validates one delivered message.
func prepare(m jetstream.Msg) item {
	it := item{msg: m, attempts: 1, doc: -1}
	if md, err := m.Metadata(); err == nil {
		it.attempts = int(md.NumDelivered)
	}
	err := events.DecodeOrder(m.Data(), &it.order)
	if err == nil {
		err = it.order.Validate()
	}
	if err != nil {
		it.reason = err.Error()
	}
	return it
}

// write inserts docs with one unordered InsertMany and returns, per document,
// nil (inserted now), errAlreadyWritten, or why it was not written.
func (b *batcher) write(ctx context.Context, docs []any) []error {
	results := make([]error, len(docs))
	if len(docs) == 0 {
		return results
	}
	_, err := b.orders.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return results
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		for i := range results {
			results[i] = &batchError{err: err}
		}
		return results
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(results) {
			continue
		}
		if mongo.IsDuplicateKeyError(we) {
			results[we.Index] = errAlreadyWritten
		} else {
			results[we.Index] = fmt.Errorf("writing order: %w", we)
		}
	}
	return results
}

// batchError is a write error of the whole batch (MongoDB unreachable, a
// timeout): no document is at fault, so its orders are retried without limit.
type batchError struct{ err error }

func (e *batchError) Error() string { return "writing batch: " + e.err.Error() }
func (e *batchError) Unwrap() error { return e.err }

// failExhausted records as failed the orders MongoDB refused on their last
// allowed attempt: each is written again with status falhou and the reason,
// so it is stored, counted and terminated instead of retried forever.
func (b *batcher) failExhausted(ctx context.Context, items []item, now time.Time, results []error) {
	var failed []any
	var idx []int
	for i := range items {
		it := &items[i]
		if it.doc < 0 || results[it.doc] == nil || it.attempts < b.maxAttempts {
			continue
		}
		var be *batchError
		if errors.Is(results[it.doc], errAlreadyWritten) || errors.As(results[it.doc], &be) {
			continue
		}
		it.reason = fmt.Sprintf("after %d attempts: %v", it.attempts, results[it.doc])
		d := newDocument(it, it.order.Priority, now)
		failed, idx = append(failed, bson.Raw(d.appendBSON(nil))), append(idx, it.doc)
	}
	for i, err := range b.write(ctx, failed) {
		results[idx[i]] = err
	}
}

// settle acks, terminates or nak's one message as its outcome says.
func (b *batcher) settle(ctx context.Context, it *item, results []error) {
	var err error
	switch it.outcome {
	case ack:
		err = it.msg.Ack()
	case term:
		if it.doc < 0 {
			b.log.Error("dropping undecodable order", slog.Any("subject", it.msg.Subject()), slog.Any("reason", it.reason))
		}
		err = it.msg.TermWithReason(it.reason)
	case retry:
		delay := backoff(it.attempts)
		var be *batchError
		if it.doc >= 0 && results[it.doc] != nil && !errors.As(results[it.doc], &be) {
			// This order, not the batch: MongoDB refused it.
			level := slog.LevelWarn
			if it.attempts >= b.maxAttempts {
				level = slog.LevelError
			}
			b.log.Log(ctx, level, "order not written; will retry", slog.Any("order_id", it.order.ID), slog.Any("attempts", it.attempts), slog.Any("retry_in", delay), slog.Any(logs.ErrorKey, results[it.doc]))
		}
		err = it.msg.NakWithDelay(delay)
	}
	if err != nil {
		b.log.Warn("settling order with jetstream; it will be redelivered", slog.Any("order_id", it.order.ID), slog.Any(logs.ErrorKey, err))
	}
}

// backoff is the redelivery delay after the given number of attempts.
func backoff(attempts int) time.Duration {
	d := time.Duration(1<<min(attempts, 6)) * 250 * time.Millisecond
	return min(d, 15*time.Second)
}
