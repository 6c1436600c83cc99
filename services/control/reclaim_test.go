package control

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// TestReclaimerWatchesAProcessorFromItsStart: a processor that says it
// starts, fetches an order and dies before control's next count of the
// instances (a container restarted at once, say) is found dead all the
// same, and the order is delivered again at once, not after the ack wait.
func TestReclaimerWatchesAProcessorFromItsStart(t *testing.T) {
	t.Parallel()
	url, _, js := startTopology(t)
	connect := func() *nats.Conn {
		nc, err := nats.Connect(url)
		must(t, err)
		t.Cleanup(nc.Close)
		return nc
	}
	ctx := t.Context()
	_, err := js.Publish(ctx, events.SubjectOrdersVIP, []byte(`{}`), jetstream.WithMsgID("o1"))
	must(t, err)

	rnc := connect()
	r := newReclaimer(rnc, consumers{js: js}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	t.Cleanup(func() { <-done })
	deadline := time.Now().Add(10 * time.Second)
	for rnc.NumSubscriptions() < 2 { // listening for starts and stops
		if time.Now().After(deadline) {
			t.Fatal("the reclaimer does not listen")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The processor: it says it starts, takes the order, and dies.
	pnc := connect()
	svc, err := micro.AddService(pnc, micro.Config{Name: events.ProcessorService, Version: "0.0.0"})
	must(t, err)
	must(t, pnc.Publish(events.SubjectProcessorStarted, []byte(svc.Info().ID)))
	must(t, pnc.Flush())
	cons, err := js.Consumer(ctx, events.StreamOrders, events.OrderConsumer(events.PriorityVIP))
	must(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	must(t, err)
	for range batch.Messages() { // taken, never acked
	}
	pnc.Close()

	deadline = time.Now().Add(3*watchEvery + 5*time.Second) // two counts miss it; the ack wait is a minute
	for {
		info, err := cons.Info(ctx)
		must(t, err)
		if info.NumAckPending == 0 && info.NumPending == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead processor's order is still held: %d ack pending, %d pending", info.NumAckPending, info.NumPending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
