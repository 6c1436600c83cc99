package processor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// env is one test's servers, clients and topology.
type env struct {
	cfg    Config
	js     jetstream.JetStream
	orders *mongo.Collection
	rdb    *redis.Client
}

// newEnv starts the servers and creates the ORDERS stream and its two
// consumers as control would, except that NORMAL is paused only if asked.
func newEnv(t testing.TB, normalPaused bool) *env {
	t.Helper()
	stack := devstacktest.Start(t)
	nc, err := nats.Connect(stack.NATSURL)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	ctx := t.Context()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamOrders, Subjects: []string{events.SubjectOrdersVIP, events.SubjectOrdersNormal},
		Retention: jetstream.WorkQueuePolicy, Duplicates: events.OrdersDuplicateWindow,
	})
	must(t, err)
	for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
		cfg := jetstream.ConsumerConfig{
			Durable: events.OrderConsumer(p), FilterSubject: events.OrderSubject(p),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: events.OrdersAckWait, MaxDeliver: -1,
			MaxAckPending: events.OrdersMaxAckPending,
		}
		if p == events.PriorityNormal && normalPaused {
			until := time.Now().Add(time.Hour)
			cfg.PauseUntil = &until
		}
		_, err := js.CreateConsumer(ctx, events.StreamOrders, cfg)
		must(t, err)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(stack.MongoURI))
	must(t, err)
	t.Cleanup(func() { _ = mc.Disconnect(context.Background()) })
	ropts, err := redis.ParseURL(stack.RedisURL)
	must(t, err)
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	return &env{
		cfg: Config{
			NATSURL: stack.NATSURL, MongoURI: stack.MongoURI, RedisURL: stack.RedisURL,
			Concurrency: 3, Writers: 2, BatchSize: 100, MaxAttempts: 3, BullState: true, KeepCompleted: 1000, KeepFailed: 1000,
			FetchWait: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		js:     js,
		orders: mc.Database(events.Database).Collection(events.CollectionOrders),
		rdb:    rdb,
	}
}

// start runs a processor until the test ends.
func (e *env) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := Run(ctx, e.cfg); err != nil {
			t.Errorf("processor: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// publish publishes raw payloads on subject, with a message id each.
func (e *env) publish(t *testing.T, subject string, payloads ...[]byte) {
	t.Helper()
	for i, data := range payloads {
		id := fmt.Sprintf("%s-%d-%d", subject, time.Now().UnixNano(), i)
		_, err := e.js.Publish(t.Context(), subject, data, jetstream.WithMsgID(id))
		must(t, err)
	}
}

// counters waits until the run's counters reach want done orders and
// returns them.
func (e *env) counters(t *testing.T, runID string, want int64) events.RunCounters {
	t.Helper()
	var c events.RunCounters
	waitFor(t, 60*time.Second, func() bool {
		h, err := e.rdb.HGetAll(t.Context(), events.RunCountersKey(runID)).Result()
		must(t, err)
		c, err = events.ParseRunCounters(h)
		must(t, err)
		return c.Done(events.PriorityVIP)+c.Done(events.PriorityNormal) >= want
	})
	return c
}

// waitEmpty waits until the stream holds no message: all acked or terminated.
func (e *env) waitEmpty(t *testing.T) {
	t.Helper()
	waitFor(t, 60*time.Second, func() bool {
		s, err := e.js.Stream(t.Context(), events.StreamOrders)
		must(t, err)
		return s.CachedInfo().State.Msgs == 0
	})
}

func makeOrders(runID string, n int, tierOf func(i int) events.Tier) []events.Order {
	out := make([]events.Order, n)
	for i := range out {
		tier := tierOf(i)
		out[i] = events.Order{
			ID: fmt.Sprintf("%s-order-%06d", runID, i), RunID: runID, Cliente: "Cliente " + strconv.Itoa(i+1),
			Valor: float64(i%100000) / 100, Tier: tier, Priority: tier.Priority(),
			CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		}
	}
	return out
}

func (e *env) publishOrders(t *testing.T, orders []events.Order) {
	t.Helper()
	for _, o := range orders {
		_, err := e.js.Publish(t.Context(), events.OrderSubject(o.Priority), o.AppendJSON(nil), jetstream.WithMsgID(o.ID))
		must(t, err)
	}
}

func TestProcessorWritesEachOrderOnceInItsFinalState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	orders := makeOrders("run-a", 1000, func(i int) events.Tier { return events.Tiers[i%4] })
	e.publishOrders(t, orders)
	e.start(t)

	c := e.counters(t, "run-a", 1000)
	e.waitEmpty(t)
	if c.Processed.VIP != 250 || c.Processed.Normal != 750 || c.Failed.Total() != 0 {
		t.Errorf("counters = %+v, want 250 VIP and 750 NORMAL processed", c)
	}
	if c.VIP.First == nil || c.Normal.Last == nil {
		t.Errorf("processing windows not recorded: %+v", c)
	}
	cur, err := e.orders.Find(t.Context(), bson.D{{Key: "runId", Value: "run-a"}})
	must(t, err)
	var docs []document
	must(t, cur.All(t.Context(), &docs))
	if len(docs) != 1000 {
		t.Fatalf("MongoDB holds %d orders, want 1000", len(docs))
	}
	byID := map[string]events.Order{}
	for _, o := range orders {
		byID[o.ID] = o
	}
	for _, d := range docs {
		o, ok := byID[d.ID]
		if !ok {
			t.Fatalf("unexpected document %s", d.ID)
		}
		p := events.Priority(d.Priority)
		if d.Status != events.StatusProcessed || d.Observacoes != p.Observacoes() || p != o.Priority ||
			d.Tier != string(o.Tier) || d.Valor != o.Valor || d.Cliente != o.Cliente || d.Attempts != 1 ||
			!d.CreatedAt.Equal(o.CreatedAt) || d.ProcessedAt.Before(o.CreatedAt) {
			t.Fatalf("document %+v does not match order %+v", d, o)
		}
	}
}

func TestProcessorRedeliveredOrdersAreNotWrittenOrCountedTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	orders := makeOrders("run-b", 400, func(int) events.Tier { return events.TierOuro })
	// An earlier delivery of the first half was written, then the processor
	// died before acking: they come again.
	var earlier []any
	for i := range 200 {
		earlier = append(earlier, &document{ID: orders[i].ID, RunID: "run-b", Status: events.StatusProcessed})
	}
	_, err := e.orders.InsertMany(t.Context(), earlier)
	must(t, err)
	must(t, e.rdb.HSet(t.Context(), events.RunCountersKey("run-b"), events.FieldProcessed(events.PriorityNormal), 200).Err())
	e.publishOrders(t, orders)
	e.start(t)

	c := e.counters(t, "run-b", 400)
	e.waitEmpty(t)
	if c.Processed.Normal != 400 {
		t.Errorf("processed NORMAL = %d, want 400 (200 earlier + 200 new)", c.Processed.Normal)
	}
	n, err := e.orders.CountDocuments(t.Context(), bson.D{{Key: "runId", Value: "run-b"}})
	must(t, err)
	if n != 400 {
		t.Errorf("MongoDB holds %d orders, want 400", n)
	}
}

func TestProcessorRecordsInvalidOrdersAsFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	bad := makeOrders("run-c", 2, func(int) events.Tier { return events.TierDiamante })
	bad[0].Valor = -5
	bad[1].Tier = "PLATINA"
	good := makeOrders("run-c-ok", 10, func(int) events.Tier { return events.TierDiamante })
	e.publishOrders(t, bad[:1])
	e.publish(t, events.SubjectOrdersVIP, bad[1].AppendJSON(nil), []byte("not json"), []byte(`{"id":"x"}`))
	e.publishOrders(t, good)
	e.start(t)

	c := e.counters(t, "run-c", 2)
	e.counters(t, "run-c-ok", 10)
	e.waitEmpty(t)
	if c.Failed.VIP != 2 || c.Processed.VIP != 0 {
		t.Errorf("counters = %+v, want 2 VIP failed", c)
	}
	var failed []document
	cur, err := e.orders.Find(t.Context(), bson.D{{Key: "runId", Value: "run-c"}})
	must(t, err)
	must(t, cur.All(t.Context(), &failed))
	if len(failed) != 2 {
		t.Fatalf("MongoDB holds %d failed orders, want 2", len(failed))
	}
	for _, d := range failed {
		if d.Status != events.StatusFailed || d.FailedReason == "" {
			t.Errorf("document %+v: want status %q with a reason", d, events.StatusFailed)
		}
	}
	// The undecodable payloads are terminated, not stored.
	n, err := e.orders.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: "x"}})
	must(t, err)
	if n != 0 {
		t.Error("an order without runId was stored")
	}
}

func TestProcessorTakesNothingFromAPausedConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publishOrders(t, makeOrders("run-d", 100, func(i int) events.Tier { return events.Tiers[i%4] }))
	e.start(t)

	c := e.counters(t, "run-d", 25)
	if c.Processed.Normal != 0 {
		t.Fatalf("processed %d NORMAL orders from a paused consumer", c.Processed.Normal)
	}
	cons, err := e.js.Consumer(t.Context(), events.StreamOrders, events.ConsumerNormal)
	must(t, err)
	if info := cons.CachedInfo(); info.NumPending != 75 || info.Delivered.Consumer != 0 {
		t.Fatalf("paused NORMAL consumer: %d pending, %d delivered; want 75 and 0", info.NumPending, info.Delivered.Consumer)
	}
	_, err = e.js.ResumeConsumer(t.Context(), events.StreamOrders, events.ConsumerNormal)
	must(t, err)
	c = e.counters(t, "run-d", 100)
	if c.Processed.Normal != 75 || !c.VIP.Last.Before(*c.Normal.First) {
		t.Errorf("after resume: %+v", c)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessorKeepsTheBullView(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.cfg.KeepCompleted = 50
	orders := makeOrders("run-e", 300, func(i int) events.Tier { return events.Tiers[i%4] })
	orders[7].Valor = -1 // fails
	// The generator adds each job (hash and wait entry) before publishing it.
	ctx := t.Context()
	for _, o := range orders {
		must(t, e.rdb.HSet(ctx, events.BullKey(o.ID), events.BullFieldName, events.BullJobName,
			events.BullFieldData, o.AppendJSON(nil), events.BullFieldTimestamp, o.CreatedAt.UnixMilli(),
			events.BullFieldDelay, 0).Err())
		must(t, e.rdb.LPush(ctx, events.BullKey(events.BullWait), o.ID).Err())
	}
	e.publishOrders(t, orders)
	e.start(t)
	e.counters(t, "run-e", 300)
	e.waitEmpty(t)

	lens := func(key string) int64 {
		n, err := e.rdb.LLen(ctx, events.BullKey(key)).Result()
		must(t, err)
		return n
	}
	cards := func(key string) int64 {
		n, err := e.rdb.ZCard(ctx, events.BullKey(key)).Result()
		must(t, err)
		return n
	}
	waitFor(t, 10*time.Second, func() bool { return lens(events.BullActive) == 0 })
	if w := lens(events.BullWait); w != 0 {
		t.Errorf("wait holds %d jobs after every order was processed", w)
	}
	if c, f := cards(events.BullCompleted), cards(events.BullFailed); c != 50 || f != 1 {
		t.Errorf("completed %d, failed %d; want the newest 50 kept and 1 failed", c, f)
	}
	failed, err := e.rdb.HGetAll(ctx, events.BullKey(orders[7].ID)).Result()
	must(t, err)
	if failed[events.BullFieldFailedReason] == "" || failed[events.BullFieldFinishedOn] == "" {
		t.Errorf("failed job hash = %v; want a failedReason and finishedOn", failed)
	}
	kept, err := e.rdb.ZRange(ctx, events.BullKey(events.BullCompleted), 0, -1).Result()
	must(t, err)
	for _, id := range kept {
		h, err := e.rdb.HGetAll(ctx, events.BullKey(id)).Result()
		must(t, err)
		var o events.Order
		if err := events.DecodeOrder([]byte(h[events.BullFieldData]), &o); err != nil || o.ID != id {
			t.Fatalf("completed job %s: data %q does not decode to its order (%v)", id, h[events.BullFieldData], err)
		}
		if h[events.BullFieldProcessedOn] == "" || h[events.BullFieldAttemptsMade] != "1" {
			t.Fatalf("completed job %s hash = %v", id, h)
		}
	}
	// Trimmed jobs leave no hash behind: 300 jobs, 50 + 1 kept.
	keys, err := e.rdb.Keys(ctx, events.BullKey("run-e-*")).Result()
	must(t, err)
	if len(keys) != 51 {
		t.Errorf("%d job hashes left, want 51", len(keys))
	}
}

// TestBullViewMovesTheBatchJobs checks that a batch moves its own jobs
// between the lists, whatever order batches come in, and that jobs handed
// back for a retry are next in line.
func TestBullViewMovesTheBatchJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := t.Context()
	j := newJobs(e.rdb, 10, 10)
	wait, active := events.BullKey(events.BullWait), events.BullKey(events.BullActive)
	for i := 1; i <= 10; i++ { // j1 is the oldest, at the right end
		must(t, e.rdb.LPush(ctx, wait, fmt.Sprintf("j%d", i)).Err())
	}
	batch := func(ids ...string) []item {
		items := make([]item, len(ids))
		for i, id := range ids {
			items[i] = item{order: events.Order{ID: id}, msg: fakeMsg{data: []byte("{}")}}
		}
		return items
	}
	list := func(key string) []string {
		l, err := e.rdb.LRange(ctx, key, 0, -1).Result()
		must(t, err)
		return l
	}
	second := batch("j3", "j4")
	first := batch("j1", "j2")
	must(t, j.activate(ctx, second)) // the later batch gets its write slot first
	must(t, j.activate(ctx, first))
	if got, want := fmt.Sprint(list(wait)), "[j10 j9 j8 j7 j6 j5]"; got != want {
		t.Fatalf("wait = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(list(active)), "[j2 j1 j4 j3]"; got != want {
		t.Fatalf("active = %s, want %s", got, want)
	}
	second[1].outcome = retry
	must(t, j.finish(ctx, second, time.Now(), time.Now()))
	if got, want := fmt.Sprint(list(active)), "[j2 j1]"; got != want {
		t.Errorf("active after the batch = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(list(wait)), "[j10 j9 j8 j7 j6 j5 j4]"; got != want {
		t.Errorf("wait after a retry = %s, want %s (the retried job next in line)", got, want)
	}
	if n, err := e.rdb.ZScore(ctx, events.BullKey(events.BullCompleted), "j3").Result(); err != nil || n == 0 {
		t.Errorf("j3 is not completed: %v", err)
	}
}
