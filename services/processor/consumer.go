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

// consumer pulls the orders of one priority from its durable consumer and
// hands them, a batch at a time, to the batcher, with Concurrency batches in
// flight. Whether it receives anything is decided by JetStream: the NORMAL
// consumer stays paused until control declares the VIP drain.
type consumer struct {
	priority  events.Priority
	cons      jetstream.Consumer
	batcher   *batcher
	gate      *gate
	workers   int
	batchSize int
	fetchWait time.Duration
	log       *slog.Logger
}

// run fetches until ctx is cancelled; batches already fetched are processed
// under work, which outlives ctx so that they finish instead of being cut.
func (c *consumer) run(ctx, work context.Context) {
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() { c.loop(ctx, work) })
	}
	wg.Wait()
}

func (c *consumer) loop(ctx, work context.Context) {
	msgs := make([]jetstream.Msg, 0, c.batchSize)
	failures := 0
	for ctx.Err() == nil {
		epoch := c.gate.epoch.Load()
		batch, err := c.cons.Fetch(c.batchSize, jetstream.FetchMaxWait(c.fetchWait))
		if err == nil {
			msgs = msgs[:0]
			for m := range batch.Messages() {
				msgs = append(msgs, m)
			}
			err = batch.Error()
		}
		if len(msgs) > 0 {
			c.handle(work, epoch, msgs)
			msgs = msgs[:0]
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		if failures == 1 || failures%100 == 0 {
			c.log.Warn("fetching orders", "priority", c.priority, "failures", failures, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second)):
		}
	}
}

// handle processes one batch fetched at epoch, or hands it back if a quiesce
// came since. A panic nak's the batch instead of killing the process.
func (c *consumer) handle(ctx context.Context, epoch uint64, msgs []jetstream.Msg) {
	if !c.gate.enter(ctx, epoch) {
		for _, m := range msgs {
			_ = m.Nak()
		}
		return
	}
	defer c.gate.leave()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic processing batch; redelivering it", "priority", c.priority,
				"orders", len(msgs), "panic", fmt.Sprint(r))
			for _, m := range msgs {
				_ = m.NakWithDelay(time.Second)
			}
		}
	}()
	c.batcher.handle(ctx, c.priority, msgs)
}
