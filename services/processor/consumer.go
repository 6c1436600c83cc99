package processor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// consumer pulls the orders of one priority from its durable consumer: one
// fetcher, so batches are taken in stream order, hands them through a queue
// to a pool of workers, depth batches in all. Twice as many workers as write
// slots (depth permitting), so that while some count and ack the batch they
// wrote, others keep every slot writing. Whether it receives anything is
// decided by JetStream: the NORMAL consumer stays paused until control
// declares the VIP drain.
type consumer struct {
	priority  events.Priority
	cons      jetstream.Consumer
	batcher   *batcher
	gate      *gate
	depth     int // batches in flight: queued and being written
	writers   int
	batchSize int
	fetchWait time.Duration
	log       *slog.Logger
}

// run fetches until ctx is cancelled; batches already fetched are written
// under work, which outlives ctx so that they finish instead of being cut.
func (c *consumer) run(ctx, work context.Context) {
	workers := max(min(2*c.writers, c.depth), 1)
	queue := make(chan *batch, max(c.depth-workers, 0))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for bt := range queue {
				c.handle(work, bt)
			}
		})
	}
	c.fetch(ctx, work, queue)
	close(queue)
	wg.Wait()
}

// fetch pulls batches in stream order and queues them for the writers.
func (c *consumer) fetch(ctx, work context.Context, queue chan<- *batch) {
	msgs := make([]jetstream.Msg, 0, c.batchSize)
	failures := 0
	for ctx.Err() == nil {
		epoch := c.gate.epoch.Load()
		fetched, err := c.cons.Fetch(c.batchSize, jetstream.FetchMaxWait(c.fetchWait))
		if err == nil {
			msgs = msgs[:0]
			for m := range fetched.Messages() {
				msgs = append(msgs, m)
			}
			err = fetched.Error()
		}
		if len(msgs) > 0 {
			queue <- c.batcher.take(work, c.priority, epoch, msgs)
			msgs = make([]jetstream.Msg, 0, c.batchSize)
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		if failures == 1 || failures%100 == 0 {
			c.log.Warn("fetching orders", slog.Any("priority", c.priority), slog.Any("failures", failures), slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second)):
		}
	}
}

// handle writes one batch, or hands it back if a quiesce came since it was
// fetched. A panic nak's the batch instead of killing the process.
func (c *consumer) handle(ctx context.Context, bt *batch) {
	pass := c.gate.enter(ctx, bt.epoch)
	if pass == nil {
		c.batcher.handBack(ctx, bt)
		return
	}
	defer pass.leave()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic processing batch; redelivering it", slog.Any("priority", c.priority), slog.Any("orders", len(bt.items)), slog.Any("panic", fmt.Sprint(r)))
			for i := range bt.items {
				_ = bt.items[i].msg.NakWithDelay(time.Second)
			}
		}
	}()
	c.batcher.handle(ctx, bt, pass.written)
}
