package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/pedidos/pedidos/infra/redisstate"
)

// env is one test's servers, clients and topology.
type env struct {
	cfg    Config
	js     jetstream.JetStream
	orders *mongo.Collection
	rdb    *redis.Client
	view   *redisstate.Store
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
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: events.StreamResults, Subjects: []string{events.SubjectResults}})
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
	view := redisstate.New(rdb, redisstate.Options{KeepCompleted: 1000, KeepFailed: 1000})
	_, err = view.Wipe(ctx) // an empty, intact view, as control leaves it
	must(t, err)
	return &env{
		cfg: Config{
			NATSURL: stack.NATSURL, MongoURI: stack.MongoURI, RedisURL: stack.RedisURL,
			Concurrency: 3, Writers: 2, BatchSize: 100, MaxAttempts: 3, BullState: true, KeepCompleted: 1000, KeepFailed: 1000,
			FetchWait: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
			Logger: slog.New(slog.DiscardHandler),
		},
		js:     js,
		orders: mc.Database(events.Database).Collection(events.CollectionOrders),
		rdb:    rdb,
		view:   view,
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

// tally is what the reports of one run on the RESULTS stream add up to, as
// control folds them: each order counted once, by key.
type tally struct {
	processed, failed map[events.Priority]map[uint64]bool
	duplicates        int
	first, last       map[events.Priority]time.Time
}

func (tl *tally) count(set map[events.Priority]map[uint64]bool, p events.Priority) int {
	return len(set[p])
}

// results waits until the reports of run runID name want orders in all, and
// returns their tally.
func (e *env) results(t *testing.T, runID string, want int) *tally {
	t.Helper()
	var tl *tally
	waitFor(t, 60*time.Second, func() bool {
		tl = e.fold(t, runID)
		n := 0
		for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
			n += len(tl.processed[p]) + len(tl.failed[p])
		}
		return n >= want
	})
	return tl
}

// fold reads every report of run runID.
func (e *env) fold(t *testing.T, runID string) *tally {
	t.Helper()
	tl := &tally{
		processed: map[events.Priority]map[uint64]bool{}, failed: map[events.Priority]map[uint64]bool{},
		first: map[events.Priority]time.Time{}, last: map[events.Priority]time.Time{},
	}
	stream, err := e.js.Stream(t.Context(), events.StreamResults)
	must(t, err)
	for seq := uint64(1); ; seq++ {
		msg, err := stream.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject(events.ResultSubject(runID)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return tl
		}
		must(t, err)
		seq = msg.Sequence
		var r events.BatchResult
		must(t, json.Unmarshal(msg.Data, &r))
		for _, set := range []struct {
			keys events.OrderKeys
			dst  map[events.Priority]map[uint64]bool
		}{{r.Processed, tl.processed}, {r.Failed, tl.failed}} {
			if set.dst[r.Priority] == nil {
				set.dst[r.Priority] = map[uint64]bool{}
			}
			for _, k := range set.keys {
				set.dst[r.Priority][k] = true
			}
		}
		tl.duplicates += r.Duplicates
		if f, ok := tl.first[r.Priority]; !ok || r.ProcessedAt.Before(f) {
			tl.first[r.Priority] = r.ProcessedAt
		}
		if r.ProcessedAt.After(tl.last[r.Priority]) {
			tl.last[r.Priority] = r.ProcessedAt
		}
	}
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

	c := e.results(t, "run-a", 1000)
	e.waitEmpty(t)
	vip, normal := c.count(c.processed, events.PriorityVIP), c.count(c.processed, events.PriorityNormal)
	failed := c.count(c.failed, events.PriorityVIP) + c.count(c.failed, events.PriorityNormal)
	if vip != 250 || normal != 750 || failed != 0 || c.duplicates != 0 {
		t.Errorf("reports name %d VIP and %d NORMAL orders processed, %d failed, %d duplicates; "+
			"want 250 and 750, none", vip, normal, failed, c.duplicates)
	}
	for _, o := range orders {
		if !c.processed[o.Priority][events.OrderKey(o.ID)] {
			t.Fatalf("no report names order %s", o.ID)
		}
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
	e.publishOrders(t, orders)
	e.start(t)

	c := e.results(t, "run-b", 400)
	e.waitEmpty(t)
	if n := c.count(c.processed, events.PriorityNormal); n != 400 || c.duplicates != 200 {
		t.Errorf("reports name %d NORMAL orders processed with %d duplicates; want all 400, 200 of them "+
			"found already written (their earlier write was never reported)", n, c.duplicates)
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

	c := e.results(t, "run-c", 2)
	e.results(t, "run-c-ok", 10)
	e.waitEmpty(t)
	if f, p := c.count(c.failed, events.PriorityVIP), c.count(c.processed, events.PriorityVIP); f != 2 || p != 0 {
		t.Errorf("reports name %d VIP orders failed and %d processed, want 2 and 0", f, p)
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

	c := e.results(t, "run-d", 25)
	if n := c.count(c.processed, events.PriorityNormal); n != 0 {
		t.Fatalf("processed %d NORMAL orders from a paused consumer", n)
	}
	cons, err := e.js.Consumer(t.Context(), events.StreamOrders, events.ConsumerNormal)
	must(t, err)
	if info := cons.CachedInfo(); info.NumPending != 75 || info.Delivered.Consumer != 0 {
		t.Fatalf("paused NORMAL consumer: %d pending, %d delivered; want 75 and 0", info.NumPending, info.Delivered.Consumer)
	}
	_, err = e.js.ResumeConsumer(t.Context(), events.StreamOrders, events.ConsumerNormal)
	must(t, err)
	c = e.results(t, "run-d", 100)
	if n := c.count(c.processed, events.PriorityNormal); n != 75 || !c.last[events.PriorityVIP].Before(c.first[events.PriorityNormal]) {
		t.Errorf("after resume: %d NORMAL processed, VIP until %v, NORMAL from %v", n,
			c.last[events.PriorityVIP], c.first[events.PriorityNormal])
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
	// The generator adds the jobs before publishing them.
	ctx := t.Context()
	jobs := make([]redisstate.Job, len(orders))
	for i, o := range orders {
		jobs[i] = redisstate.Job{ID: o.ID, Priority: o.Priority, Data: o.AppendJSON(nil), CreatedAt: o.CreatedAt}
	}
	must(t, e.view.AddJobs(ctx, "run-e", 0, jobs))
	must(t, e.view.ReleaseNormal(ctx)) // both consumers flow in this test
	e.publishOrders(t, orders)
	e.start(t)
	e.results(t, "run-e", 300)
	e.waitEmpty(t)

	var counts redisstate.JobCounts
	waitFor(t, 10*time.Second, func() bool {
		var err error
		counts, err = e.view.JobCounts(ctx)
		must(t, err)
		return counts.Active == 0
	})
	if want := (redisstate.JobCounts{Completed: 50, Failed: 1}); counts != want {
		t.Errorf("job counts %+v, want %+v: nothing waiting or active, the newest 50 completed kept, 1 failed", counts, want)
	}
	_, failed, err := e.view.Jobs(ctx, []string{redisstate.TypeFailed}, 0, 10)
	must(t, err)
	if len(failed) != 1 || failed[0].ID != orders[7].ID || failed[0].FailedReason == nil || failed[0].FinishedOn == nil {
		t.Errorf("failed jobs = %+v; want order %s with a failedReason and finishedOn", failed, orders[7].ID)
	}
	_, kept, err := e.view.Jobs(ctx, []string{redisstate.TypeCompleted}, 0, 100)
	must(t, err)
	for _, j := range kept {
		var o events.Order
		if err := events.DecodeOrder(j.Data, &o); err != nil || o.ID != j.ID {
			t.Fatalf("completed job %s: data %s does not decode to its order (%v)", j.ID, j.Data, err)
		}
		if j.ProcessedOn == nil || j.AttemptsMade != 1 {
			t.Fatalf("completed job %+v", j)
		}
	}
}
