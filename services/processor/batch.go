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

// batcher writes batches of delivered orders to MongoDB, counts them in
// Redis, keeps the Bull view of the queue, and settles each message with
// JetStream.
type batcher struct {
	orders      inserter
	counters    *counters
	jobs        *jobs // nil when the Bull view is off
	maxAttempts int
	log         *slog.Logger
}

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
	if err := b.jobs.activate(ctx, bt.items); err != nil {
		b.log.Warn("updating the Bull view", "orders", len(msgs), "err", err)
	}
	return bt
}

// handBack returns a batch to JetStream untouched: a quiesce came between
// its fetch and its write. Its jobs wait again.
func (b *batcher) handBack(ctx context.Context, bt *batch) {
	for i := range bt.items {
		bt.items[i].outcome = retry
	}
	if err := b.jobs.finish(ctx, bt.items, time.Now(), time.Now()); err != nil {
		b.log.Warn("updating the Bull view", "orders", len(bt.items), "err", err)
	}
	for i := range bt.items {
		_ = bt.items[i].msg.Nak()
	}
}

// handle writes a batch. Every message is acked, terminated or nak'ed before
// handle returns; none is acked before MongoDB acknowledged its write.
// written is called once MongoDB has answered for the whole batch, before
// it is counted and settled.
func (b *batcher) handle(ctx context.Context, bt *batch, written func()) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	items, p := bt.items, bt.priority
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
	results := b.write(ctx, docs)
	b.failExhausted(ctx, items, now, results)
	written()
	t := newTally(p, now)
	t.done = time.Now()
	for i := range items {
		it := &items[i]
		it.outcome = outcomeOf(it, results)
		if it.doc >= 0 && results[it.doc] == nil {
			t.add(it.order.RunID, it.reason != "")
		}
	}
	if err := b.counters.add(ctx, t); err != nil {
		// The orders are in MongoDB; acking them loses nothing. Control
		// reconciles the counters from MongoDB when they fall short.
		b.log.Error("counting processed orders", "priority", p, "orders", len(items), "err", err)
	}
	if err := b.jobs.finish(ctx, items, now, t.done); err != nil {
		b.log.Warn("updating the Bull view", "orders", len(items), "err", err)
	}
	for i := range items {
		b.settle(ctx, &items[i], results)
	}
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
			b.log.Error("dropping undecodable order", "subject", it.msg.Subject(), "reason", it.reason)
		}
		err = it.msg.TermWithReason(it.reason)
	case retry:
		delay := backoff(it.attempts)
		level := slog.LevelWarn
		if it.attempts >= b.maxAttempts {
			level = slog.LevelError
		}
		b.log.Log(ctx, level, "order not written; will retry", "order_id", it.order.ID,
			"attempts", it.attempts, "retry_in", delay, "err", results[it.doc])
		err = it.msg.NakWithDelay(delay)
	}
	if err != nil {
		b.log.Warn("settling order with jetstream; it will be redelivered", "order_id", it.order.ID, "err", err)
	}
}

// backoff is the redelivery delay after the given number of attempts.
func backoff(attempts int) time.Duration {
	d := time.Duration(1<<min(attempts, 6)) * 250 * time.Millisecond
	return min(d, 15*time.Second)
}
