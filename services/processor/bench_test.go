package processor

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/events"
)

// BenchmarkBatchBuild measures turning a batch of delivered payloads into
// the documents MongoDB receives, BSON encoding included.
func BenchmarkBatchBuild(b *testing.B) {
	orders := makeOrders("1b4e28ba-2fa1-41d2-883f-0016d3cca427", 500, func(i int) events.Tier { return events.Tiers[i%4] })
	payloads := make([][]byte, len(orders))
	for i := range orders {
		payloads[i] = orders[i].AppendJSON(nil)
	}
	now := time.Now()
	arena := make([]byte, 0, len(orders)*documentSize)
	b.ReportAllocs()
	for b.Loop() {
		arena = arena[:0]
		for _, data := range payloads {
			var it item
			if err := events.DecodeOrder(data, &it.order); err != nil {
				b.Fatal(err)
			}
			d := newDocument(&it, it.order.Priority, now)
			arena = d.appendBSON(arena)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(orders)), "ns/order")
}

// BenchmarkBatchLoop measures the processor's whole batch loop on real
// JetStream and Redis, with MongoDB replaced by the discarding sink: fetch,
// decode, build, Bull view, report, ack.
func BenchmarkBatchLoop(b *testing.B) {
	e := newEnv(b, false)
	ctx := b.Context()
	const batch = 500
	orders := makeOrders("run-loop", batch, func(i int) events.Tier { return events.TierDiamante })
	cons, err := e.js.Consumer(ctx, events.StreamOrders, events.ConsumerVIP)
	must(b, err)
	bt := newBatcher(discard{}, &reporter{js: e.js, instance: "bench"}, e.view, 5, slog.New(slog.DiscardHandler), newMeters(prometheus.NewRegistry()))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for j, o := range orders {
			o.ID = fmt.Sprintf("%d-%d", i, j)
			if _, err := e.js.PublishAsync(events.SubjectOrdersVIP, o.AppendJSON(nil), jetstream.WithMsgID(o.ID)); err != nil {
				b.Fatal(err)
			}
		}
		<-e.js.PublishAsyncComplete()
		b.StartTimer()
		fetched, err := cons.Fetch(batch, jetstream.FetchMaxWait(5*time.Second))
		must(b, err)
		msgs := make([]jetstream.Msg, 0, batch)
		for m := range fetched.Messages() {
			msgs = append(msgs, m)
		}
		bt.handle(ctx, bt.take(ctx, events.PriorityVIP, 0, msgs), func() {})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/order")
}
