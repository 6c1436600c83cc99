package pedidos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// pipeline is a running stack for one test: the embedded servers, control,
// the generator and some processors, and clients to look at them with.
type pipeline struct {
	stack    *devstack.Stack
	services Services
	nc       *nats.Conn
	js       jetstream.JetStream
	db       *mongo.Database
}

func startPipeline(t *testing.T, processors, generators int, redis devstack.RedisMode) *pipeline {
	t.Helper()
	stack := devstacktest.StartWith(t, devstack.Config{Redis: redis})
	services := configure(t, stack, map[string]string{
		"GENERATION_CHUNK_SIZE":    "2000",
		"ORDERS_QUEUE_CONCURRENCY": "4",
		"ORDERS_BATCH_SIZE":        "500",
	})
	services.APIs = nil
	services = services.WithProcessors(processors).WithGenerators(generators)
	runServices(t, services)
	p := connectPipeline(t, stack)
	p.services = services
	return p
}

// connectPipeline connects to stack's NATS and MongoDB.
func connectPipeline(t *testing.T, stack *devstack.Stack) *pipeline {
	t.Helper()
	nc, err := nats.Connect(stack.NATSURL)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	mc, err := mongo.Connect(options.Client().ApplyURI(stack.MongoURI))
	must(t, err)
	t.Cleanup(func() { _ = mc.Disconnect(context.WithoutCancel(t.Context())) })
	return &pipeline{stack: stack, nc: nc, js: js, db: mc.Database(events.Database)}
}

// configure configures the services on stack from vars, as the binary
// does from its environment (every other variable unset), logging to the
// test log.
func configure(t *testing.T, stack *devstack.Stack, vars map[string]string) Services {
	t.Helper()
	services, err := Configure(ServersEnv(stack, func(key string) string { return vars[key] }), testLogger(t))
	must(t, err)
	return services
}

// runServices runs services until the test ends, failing the test with the
// error one returns. They are stopped by the cancellation of t.Context(),
// before the cleanups, which wait for them.
func runServices(t *testing.T, services Services) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		if err := services.Run(t.Context()); err != nil {
			t.Errorf("services: %v", err)
		}
	}()
}

// generate asks control for a run, as the api does, and returns its id.
func (p *pipeline) generate(t *testing.T, quantity int64) string {
	t.Helper()
	req, err := json.Marshal(events.GenerateRequest{Quantity: quantity})
	must(t, err)
	var msg *nats.Msg
	// Control may still be creating the topology: retry while nobody answers.
	eventually(t, 30*time.Second, func() error {
		msg, err = p.nc.Request(events.SubjectGenerate, req, 5*time.Second)
		return err
	})
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		t.Fatalf("generate refused: %s %s", code, msg.Header.Get("Nats-Service-Error"))
	}
	var reply events.GenerateReply
	must(t, json.Unmarshal(msg.Data, &reply))
	if reply.Phase != events.PhaseGenerating || reply.Quantity != quantity || reply.RunID == "" {
		t.Fatalf("generate reply = %+v", reply)
	}
	return reply.RunID
}

// phases follows control.phase from the beginning and sends every event.
func (p *pipeline) phases(t *testing.T) <-chan events.PhaseEvent {
	t.Helper()
	out := make(chan events.PhaseEvent, 64)
	var cons jetstream.ConsumeContext
	eventually(t, 30*time.Second, func() error {
		c, err := p.js.OrderedConsumer(t.Context(), events.StreamControl, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		cons, err = c.Consume(func(m jetstream.Msg) {
			var ev events.PhaseEvent
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				t.Errorf("undecodable phase event %q: %v", m.Data(), err)
				return
			}
			out <- ev
		})
		return err
	})
	t.Cleanup(cons.Stop)
	return out
}

// TestPipelineOneProcessor runs on both Redis servers: redis-server, and
// the in-process miniredis of a machine without it.
func TestPipelineOneProcessor(t *testing.T) {
	t.Parallel()
	devstacktest.EachRedis(t, func(t *testing.T, redis devstack.RedisMode) {
		t.Parallel()
		testPipeline(t, 1, 1, 20_000, redis)
	})
}

// TestPipelineTwoOfEachWorker runs two processors and two generators,
// which share the run's chunks.
func TestPipelineTwoOfEachWorker(t *testing.T) {
	t.Parallel()
	p := testPipeline(t, 2, 2, 20_000, devstack.RedisMiniredis)
	for i, gen := range p.services.Generators {
		if n := counterSum(t, gen.Metrics, "pedidos_orders_published_total"); n == 0 {
			t.Errorf("generator %d published no order: the chunks are not shared", i)
		} else {
			t.Logf("generator %d published %v orders", i, n)
		}
	}
}

func testPipeline(t *testing.T, processors, generators int, quantity int64, redis devstack.RedisMode) *pipeline {
	p := startPipeline(t, processors, generators, redis)
	phases := p.phases(t)
	runID := p.generate(t, quantity)

	// Until control's VIP drain decision, the NORMAL consumer must be paused
	// and deliver nothing: sample it while the run goes, and afterwards check
	// every sample answered before the decision.
	type sample struct {
		at        time.Time // when the answer was in hand
		delivered uint64
		inFlight  int
		paused    bool
	}
	var samples []sample
	var seen []events.PhaseEvent
	var drainAt time.Time
	deadline := time.After(5 * time.Minute)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for done := false; !done; {
		select {
		case ev := <-phases:
			if ev.RunID != runID {
				t.Fatalf("phase event of another run: %+v", ev)
			}
			seen = append(seen, ev)
			switch ev.Phase {
			case events.PhaseEnqueueNormal:
				drainAt = ev.At
			case events.PhaseDone:
				done = true
			case events.PhaseError, events.PhaseAborted:
				t.Fatalf("run ended in %s: %s", ev.Phase, ev.Reason)
			}
		case <-poll.C:
			if !drainAt.IsZero() {
				continue
			}
			cons, err := p.js.Consumer(t.Context(), events.StreamOrders, events.ConsumerNormal)
			if err != nil {
				t.Fatalf("consumer info: %v", err)
			}
			ci := cons.CachedInfo()
			samples = append(samples, sample{time.Now(), ci.Delivered.Consumer, ci.NumAckPending, ci.Paused})
		case <-deadline:
			t.Fatalf("run did not reach DONE in time; phases so far: %v", phaseNames(seen))
		}
	}
	before := 0
	for _, s := range samples {
		if !s.at.Before(drainAt) {
			continue
		}
		before++
		if s.delivered != 0 || s.inFlight != 0 || !s.paused {
			t.Fatalf("at %v, before the drain decision at %v, the NORMAL consumer had delivered %d orders "+
				"(%d in flight, paused %v)", s.at, drainAt, s.delivered, s.inFlight, s.paused)
		}
	}
	if before < 5 {
		t.Errorf("only %d samples of the NORMAL consumer before the drain decision; the check proves little", before)
	}

	want := []events.Phase{events.PhaseGenerating, events.PhaseEnqueueVIP, events.PhaseWaitingVIPDrain,
		events.PhaseEnqueueNormal, events.PhaseWaitingNormalDrain, events.PhaseDone}
	if got := phaseNames(seen); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("phases = %v, want %v", got, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Previous != seen[i-1].Phase || seen[i].At.Before(seen[i-1].At) {
			t.Errorf("phase %s: previous %s at %v after %s at %v", seen[i].Phase, seen[i].Previous,
				seen[i].At, seen[i-1].Phase, seen[i-1].At)
		}
	}

	ctx := t.Context()
	st := scanOrders(t, p.db.Collection(events.CollectionOrders), runID)
	if st.total != quantity || st.distinct != quantity {
		t.Errorf("MongoDB holds %d orders (%d distinct ids) of the run, want %d", st.total, st.distinct, quantity)
	}
	if st.notProcessed != 0 {
		t.Errorf("%d orders are not %q", st.notProcessed, events.StatusProcessed)
	}
	if share := float64(st.vip) / float64(quantity); share < 0.22 || share > 0.28 {
		t.Errorf("VIP share = %.3f, want about 0.25", share)
	}
	if !st.lastVIP.Before(st.firstNormal) {
		t.Errorf("last VIP processed at %v, not before the first NORMAL at %v", st.lastVIP, st.firstNormal)
	}
	if st.firstNormal.Before(drainAt.Truncate(time.Millisecond)) {
		t.Errorf("first NORMAL processed at %v, before the drain decision at %v", st.firstNormal, drainAt)
	}
	vip, total, lastVIP, firstNormal := st.vip, st.total, st.lastVIP, st.firstNormal

	var report events.RunReport
	must(t, p.db.Collection(events.CollectionRuns).FindOne(ctx, bson.D{{Key: "_id", Value: runID}}).Decode(&report))
	if report.Status != events.PhaseDone || report.Quantity != quantity {
		t.Errorf("report status %s quantity %d", report.Status, report.Quantity)
	}
	if report.TotalProcessedVIP != vip || report.TotalProcessedNormal != total-vip {
		t.Errorf("report totals VIP %d NORMAL %d; MongoDB holds %d and %d",
			report.TotalProcessedVIP, report.TotalProcessedNormal, vip, total-vip)
	}
	if report.Audit.Inversions != 0 || report.Audit.LastVIPProcessedAt == nil ||
		!report.Audit.LastVIPProcessedAt.Equal(lastVIP) || !report.Audit.FirstNormalProcessedAt.Equal(firstNormal) {
		t.Errorf("priority audit = %+v; MongoDB says last VIP %v, first NORMAL %v", report.Audit, lastVIP, firstNormal)
	}
	// Then control counts the run again from MongoDB, and records that the
	// report agrees.
	eventually(t, time.Minute, func() error {
		must(t, p.db.Collection(events.CollectionRuns).FindOne(ctx, bson.D{{Key: "_id", Value: runID}}).Decode(&report))
		if report.Verified == nil {
			return errors.New("the report is not verified yet")
		}
		return nil
	})
	if v := report.Verified; !v.Agrees || v.Processed.VIP != vip || v.Processed.Normal != total-vip || v.Inversions != 0 {
		t.Errorf("verification from MongoDB = %+v; want it to agree: %d VIP and %d NORMAL processed, no inversion",
			v, vip, total-vip)
	}
	t.Logf("%d orders (%d VIP) with %d processor(s) in %v: VIP window %v, NORMAL window %v",
		quantity, vip, processors, time.Duration(report.TotalTimeMs)*time.Millisecond,
		time.Duration(report.ProcessingTimeVIPMs)*time.Millisecond,
		time.Duration(report.ProcessingTimeNormalMs)*time.Millisecond)
	return p
}

// counterSum returns the sum, over its labels, of counter name in reg.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	must(t, err)
	sum := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// orderStats is what one pass over a run's orders in MongoDB shows.
type orderStats struct {
	total, distinct, vip, notProcessed int64
	lastVIP, firstNormal               time.Time
}

// scanOrders reads every order of a run once (on FerretDB each query is a
// scan, so one query with a projection beats a count per question).
func scanOrders(t *testing.T, orders *mongo.Collection, runID string) orderStats {
	t.Helper()
	cur, err := orders.Find(t.Context(), bson.D{{Key: "runId", Value: runID}},
		options.Find().SetProjection(bson.D{{Key: "priority", Value: 1}, {Key: "status", Value: 1}, {Key: "processedAt", Value: 1}}))
	must(t, err)
	defer func() { _ = cur.Close(t.Context()) }()
	var st orderStats
	ids := map[string]bool{}
	for cur.Next(t.Context()) {
		var doc struct {
			ID          string          `bson:"_id"`
			Priority    events.Priority `bson:"priority"`
			Status      string          `bson:"status"`
			ProcessedAt time.Time       `bson:"processedAt"`
		}
		must(t, cur.Decode(&doc))
		st.total++
		ids[doc.ID] = true
		if doc.Status != events.StatusProcessed {
			st.notProcessed++
		}
		if doc.Priority == events.PriorityVIP {
			st.vip++
			if doc.ProcessedAt.After(st.lastVIP) {
				st.lastVIP = doc.ProcessedAt
			}
		} else if st.firstNormal.IsZero() || doc.ProcessedAt.Before(st.firstNormal) {
			st.firstNormal = doc.ProcessedAt
		}
	}
	must(t, cur.Err())
	st.distinct = int64(len(ids))
	return st
}

func phaseNames(evs []events.PhaseEvent) []events.Phase {
	out := make([]events.Phase, len(evs))
	for i, ev := range evs {
		out[i] = ev.Phase
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually calls f until it succeeds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		if errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testLogger logs warnings and errors to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

var _ io.Writer = testWriter{}
