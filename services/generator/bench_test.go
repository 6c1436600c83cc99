package generator

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// BenchmarkPublishChunk measures building, encoding and publishing one chunk
// of 10 000 orders to a real JetStream (file storage, de-duplication on),
// acks awaited, as the generator does it.
func BenchmarkPublishChunk(b *testing.B) {
	stack := devstacktest.Start(b)
	nc, err := nats.Connect(stack.NATSURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	pub, err := newPublisher(nc, 8192)
	if err != nil {
		b.Fatal(err)
	}
	_, err = pub.js.CreateStream(b.Context(), jetstream.StreamConfig{
		Name: events.StreamOrders, Subjects: []string{events.SubjectOrdersVIP, events.SubjectOrdersNormal},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: events.OrdersDuplicateWindow,
	})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 10_000
	src := newChunkSource("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	orders := make([]events.Order, 0, chunk)
	arena := make([]byte, 0, chunk*256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		orders = src.fill(orders, int64(i)*chunk, chunk, time.Now())
		var msgs []*nats.Msg
		msgs, arena = encode(orders, arena)
		if err := pub.send(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
		if err := pub.settle(b.Context(), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*chunk)/b.Elapsed().Seconds(), "orders/s")
}
