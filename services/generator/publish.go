package generator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// publishAttempts bounds how many times one order is published before the
// chunk, and the run, fails.
const publishAttempts = 5

// publisher publishes chunks of orders asynchronously and returns only once
// JetStream acknowledged every one of them.
type publisher struct {
	js jetstream.JetStream

	mu     sync.Mutex
	failed []*nats.Msg // published but refused or timed out; retried
	errs   []error
}

func newPublisher(nc *nats.Conn, window int) (*publisher, error) {
	p := &publisher{}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(window),
		jetstream.WithPublishAsyncErrHandler(p.onError),
	)
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	p.js = js
	return p, nil
}

// onError is called by nats.go, on its reply goroutine, for every async
// publish that failed.
func (p *publisher) onError(_ jetstream.JetStream, m *nats.Msg, err error) {
	p.mu.Lock()
	p.failed = append(p.failed, m)
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

// takeFailed returns the messages that failed since the last call.
func (p *publisher) takeFailed() ([]*nats.Msg, []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msgs, errs := p.failed, p.errs
	p.failed, p.errs = nil, nil
	return msgs, errs
}

// encode builds the messages of a chunk of orders, their payloads encoded
// into arena, which it returns (grown if needed). The messages refer into
// arena: it must not be reused before they are published.
func encode(orders []events.Order, arena []byte) ([]*nats.Msg, []byte) {
	arena = arena[:0]
	msgs := make([]*nats.Msg, len(orders))
	for i := range orders {
		start := len(arena)
		arena = orders[i].AppendJSON(arena)
		msgs[i] = &nats.Msg{
			Subject: events.OrderSubject(orders[i].Priority),
			Data:    arena[start:len(arena):len(arena)],
			Header:  nats.Header{events.HeaderMsgID: []string{orders[i].ID}},
		}
	}
	return msgs, arena
}

// send publishes msgs asynchronously; their acks are awaited by settle.
func (p *publisher) send(ctx context.Context, msgs []*nats.Msg) error {
	for i, m := range msgs {
		if i%256 == 0 && ctx.Err() != nil {
			return p.drain(ctx)
		}
		if _, err := p.js.PublishMsgAsync(m, jetstream.WithStallWait(10*time.Second)); err != nil {
			p.onError(p.js, m, err)
		}
	}
	return nil
}

// settle waits until no more than keep publishes are pending, then
// republishes, until acknowledged, any that JetStream refused or did not
// acknowledge in time.
func (p *publisher) settle(ctx context.Context, keep int) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for p.js.PublishAsyncPending() > keep {
		select {
		case <-ctx.Done():
			return p.drain(ctx)
		case <-tick.C:
		}
	}
	for attempt := 1; ; attempt++ {
		failed, errs := p.takeFailed()
		if len(failed) == 0 {
			return nil
		}
		if attempt == publishAttempts {
			return fmt.Errorf("publishing %d orders after %d attempts: %w", len(failed), attempt, errs[0])
		}
		select {
		case <-ctx.Done():
			return p.drain(ctx)
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
		if err := p.send(ctx, failed); err != nil {
			return err
		}
		select {
		case <-p.js.PublishAsyncComplete():
		case <-ctx.Done():
			return p.drain(ctx)
		}
	}
}

// settleTimeout bounds how long a stopped generation waits for the acks of
// the publishes it already sent.
const settleTimeout = 5 * time.Second

// drain waits, up to settleTimeout, for the acks of the publishes already
// sent, and returns ctx's error: whoever stopped the generation may purge
// the stream next.
func (p *publisher) drain(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
	case <-time.After(settleTimeout):
	}
	return ctx.Err()
}
