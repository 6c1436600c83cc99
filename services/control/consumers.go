package control

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// consumers operates the two durable consumers of the ORDERS stream, one
// per priority.
type consumers struct {
	js jetstream.JetStream
}

// queue is what JetStream says about one priority's consumer.
type queue struct {
	// pending: stored orders not yet delivered; ackPending: delivered and
	// not yet acked (including those waiting for redelivery).
	pending, ackPending uint64
	paused              bool
}

// empty reports whether the consumer holds nothing for the processors.
func (q queue) empty() bool { return q.pending == 0 && q.ackPending == 0 }

// info returns the state of priority p's consumer.
func (c consumers) info(ctx context.Context, p events.Priority) (queue, error) {
	cons, err := c.js.Consumer(ctx, events.StreamOrders, events.OrderConsumer(p))
	if err != nil {
		return queue{}, fmt.Errorf("looking up consumer %s: %w", events.OrderConsumer(p), err)
	}
	info := cons.CachedInfo()
	return queue{pending: info.NumPending, ackPending: uint64(info.NumAckPending), paused: info.Paused}, nil
}

// setPaused pauses or resumes priority p's consumer.
func (c consumers) setPaused(ctx context.Context, p events.Priority, paused bool) error {
	name := events.OrderConsumer(p)
	var err error
	if paused {
		_, err = c.js.PauseConsumer(ctx, events.StreamOrders, name, pausedForever())
	} else {
		_, err = c.js.ResumeConsumer(ctx, events.StreamOrders, name)
	}
	if err != nil {
		return fmt.Errorf("setting consumer %s paused=%v: %w", name, paused, err)
	}
	return nil
}

// setAll pauses or resumes both consumers.
func (c consumers) setAll(ctx context.Context, paused bool) error {
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := c.setPaused(ctx, p, paused); err != nil {
			return err
		}
	}
	return nil
}

// reset makes priority p's consumer deliver again, at once, every order it
// delivered and has not seen acked, and returns how many there were.
func (c consumers) reset(ctx context.Context, p events.Priority) (int, error) {
	name := events.OrderConsumer(p)
	cons, err := c.js.Consumer(ctx, events.StreamOrders, name)
	if err != nil {
		return 0, fmt.Errorf("looking up consumer %s: %w", name, err)
	}
	held := cons.CachedInfo().NumAckPending
	if held == 0 {
		return 0, nil
	}
	if _, err := c.js.ResetConsumer(ctx, events.StreamOrders, name); err != nil {
		return 0, fmt.Errorf("resetting consumer %s: %w", name, err)
	}
	return held, nil
}

// delivered returns the stream sequence of the last order priority p's
// consumer delivered.
func (c consumers) delivered(ctx context.Context, p events.Priority) (uint64, error) {
	cons, err := c.js.Consumer(ctx, events.StreamOrders, events.OrderConsumer(p))
	if err != nil {
		return 0, fmt.Errorf("looking up consumer %s: %w", events.OrderConsumer(p), err)
	}
	return cons.CachedInfo().Delivered.Stream, nil
}

// pausedForever is the PauseUntil of a consumer that waits for an explicit
// resume.
func pausedForever() time.Time { return time.Now().AddDate(100, 0, 0) }
