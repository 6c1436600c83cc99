package processor

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// BenchmarkCounters measures one batch's update of the run counters in a
// real Redis.
func BenchmarkCounters(b *testing.B) {
	e := newEnv(b, false)
	c := newCounters(e.rdb)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		t := newTally(events.PriorityVIP, time.Now())
		t.done = time.Now()
		for range 500 {
			t.add("run", false)
		}
		if err := c.add(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBullFinish measures recording a finished batch of 500 jobs in the
// Bull view of a real Redis, retention trimming included.
func BenchmarkBullFinish(b *testing.B) {
	e := newEnv(b, false)
	j := newJobs(e.rdb, 1000, 10000)
	orders := makeOrders("run", 500, func(i int) events.Tier { return events.Tiers[i%4] })
	items := make([]item, len(orders))
	for i := range orders {
		items[i] = item{order: orders[i], attempts: 1, msg: fakeMsg{data: orders[i].AppendJSON(nil)}}
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := j.finish(ctx, items, time.Now(), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchLoop measures the processor's whole batch loop on real
// JetStream and Redis, with MongoDB replaced by the discarding sink: fetch,
// decode, build, count, Bull view, ack.
func BenchmarkBatchLoop(b *testing.B) {
	e := newEnv(b, false)
	ctx := b.Context()
	const batch = 500
	orders := makeOrders("run-loop", batch, func(i int) events.Tier { return events.TierDiamante })
	cons, err := e.js.Consumer(ctx, events.StreamOrders, events.ConsumerVIP)
	must(b, err)
	bt := &batcher{orders: discard{}, counters: newCounters(e.rdb), jobs: newJobs(e.rdb, 1000, 1000),
		maxAttempts: 5, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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

// fakeMsg is a delivered message for benchmarks that need only its data.
type fakeMsg struct {
	jetstream.Msg
	data []byte
}

func (m fakeMsg) Data() []byte { return m.data }
