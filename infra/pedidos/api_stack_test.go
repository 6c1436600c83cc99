package pedidos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// This file holds what the api_*_test.go tests share: the whole of Pedidos
// (control, the generator, one processor and the api, from this repository)
// on an embedded stack, and the clients the tests look at it with.

// rigTimeout bounds every wait of the api tests.
const rigTimeout = 60 * time.Second

// rigConfig shapes a rig's processor: its batch size and the batches it
// keeps in flight (ORDERS_BATCH_SIZE, ORDERS_QUEUE_CONCURRENCY). Small
// values make a run slow enough to act on in its middle without many orders.
// With logs, the services publish their log lines on the LOGS stream
// (BACKEND_LOGS), which the api serves and follows.
type rigConfig struct {
	batchSize, concurrency string
	logs                   bool
}

// fast is a processor as quick as the embedded MongoDB allows.
var fast = rigConfig{batchSize: "500", concurrency: "4"}

// slow is a processor that takes 20 orders at a time, one batch at a time:
// a few thousand orders take seconds.
var slow = rigConfig{batchSize: "20", concurrency: "1"}

// rig is a running Pedidos with its api and clients of its stores.
type rig struct {
	*pipeline
	base string // http://host:port/pedidos
	rdb  *redis.Client
	kv   jetstream.KeyValue
	// loggers are the services' loggers, by name.
	loggers map[string]*slog.Logger
}

// startRig starts control, the generator, one processor and the api on a
// fresh embedded stack; they stop when the test ends.
func startRig(t *testing.T, rc rigConfig) *rig {
	t.Helper()
	stack := devstacktest.Start(t)
	vars := map[string]string{
		"GENERATION_CHUNK_SIZE":    "2000",
		"ORDERS_BATCH_SIZE":        rc.batchSize,
		"ORDERS_QUEUE_CONCURRENCY": rc.concurrency,
		"BACKEND_LOGS":             "false",
		// More than the tests' runs complete together, so that the queue
		// views list every job they finished.
		"BULL_KEEP_COMPLETED": "1000",
	}
	if rc.logs {
		vars["BACKEND_LOGS"] = "true"
	}
	services := configure(t, stack, vars)
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	must(t, err)
	services.APIs[0].Listener = ln
	loggers := map[string]*slog.Logger{}
	for _, name := range []string{"control", "generator", "processor", "api"} {
		if rc.logs {
			loggers[name] = serviceLogger(t, name)
		} else {
			loggers[name] = testLogger(t).With(slog.String("service", name))
		}
	}
	services.Control.Logger, services.Generators[0].Logger = loggers["control"], loggers["generator"]
	services.Processors[0].Logger, services.APIs[0].Logger = loggers["processor"], loggers["api"]
	runServices(t, services)

	ropts, err := redis.ParseURL(stack.RedisURL)
	must(t, err)
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	r := &rig{
		pipeline: connectPipeline(t, stack),
		base:     "http://" + ln.Addr().String() + "/pedidos",
		rdb:      rdb,
		loggers:  loggers,
	}
	// Ready: control made its topology, the api watches it.
	eventually(t, rigTimeout, func() error {
		if code, body := r.do(t, http.MethodGet, "/health/ready"); code != http.StatusOK {
			return fmt.Errorf("GET /health/ready = %d %s", code, body)
		}
		return nil
	})
	r.kv, err = r.js.KeyValue(t.Context(), events.BucketState)
	must(t, err)
	return r
}

// do sends a request to the api and returns the status and the body.
func (r *rig) do(t testing.TB, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, r.base+path, nil)
	must(t, err)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, body
}

// call sends a request that must be answered with want, and decodes the
// answer into out (when not nil).
func (r *rig) call(t testing.TB, method, path string, want int, out any) {
	t.Helper()
	code, body := r.do(t, method, path)
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, body, want)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, body, err)
		}
	}
}

// rigStatus is the part of GET /pedidos the tests read.
type rigStatus struct {
	Phase  events.Phase      `json:"phase"`
	RunID  *string           `json:"runId"`
	Counts events.ByPriority `json:"counts"`
	Failed events.ByPriority `json:"failed"`
}

// status returns GET /pedidos.
func (r *rig) status(t testing.TB) rigStatus {
	t.Helper()
	var st rigStatus
	r.call(t, http.MethodGet, "", http.StatusOK, &st)
	return st
}

// start starts a run of quantity orders with POST /generate and returns
// its id.
func (r *rig) start(t testing.TB, quantity int64) string {
	t.Helper()
	var a struct {
		RunID    string       `json:"runId"`
		Phase    events.Phase `json:"phase"`
		Quantity int64        `json:"quantity"`
	}
	r.call(t, http.MethodPost, fmt.Sprintf("/generate?quantity=%d", quantity), http.StatusAccepted, &a)
	if a.RunID == "" || a.Phase != events.PhaseGenerating || a.Quantity != quantity {
		t.Fatalf("POST /generate answered %+v", a)
	}
	return a.RunID
}

// awaitStatus polls GET /pedidos until ok holds, and returns that status.
func (r *rig) awaitStatus(t testing.TB, what string, ok func(rigStatus) bool) rigStatus {
	t.Helper()
	var st rigStatus
	eventually(t, rigTimeout, func() error {
		if st = r.status(t); !ok(st) {
			return fmt.Errorf("waiting for %s: GET /pedidos = %+v", what, st)
		}
		return nil
	})
	return st
}

// awaitEnd waits for run runID to end and returns its last phase.
func (r *rig) awaitEnd(t testing.TB, runID string) events.Phase {
	t.Helper()
	return r.awaitStatus(t, "run "+runID+" to end", func(st rigStatus) bool {
		return st.RunID != nil && *st.RunID == runID && st.Phase.Terminal()
	}).Phase
}

// run reads the run entry of the state bucket, as control wrote it.
func (r *rig) run(t testing.TB) events.Run {
	t.Helper()
	e, err := r.kv.Get(t.Context(), events.KeyRun)
	must(t, err)
	var run events.Run
	must(t, json.Unmarshal(e.Value(), &run))
	return run
}

// counters reads the processing counters of run runID from Redis.
func (r *rig) counters(t testing.TB, runID string) events.RunCounters {
	t.Helper()
	c, err := redisstate.New(r.rdb, redisstate.Options{}).Counters(t.Context(), runID)
	must(t, err)
	return c
}

// bullCounts reads the length of every list and set of the Bull view.
func (r *rig) bullCounts(t testing.TB) redisstate.JobCounts {
	t.Helper()
	n, err := redisstate.New(r.rdb, redisstate.Options{}).JobCounts(t.Context())
	must(t, err)
	return n
}

// pendingOrders returns how many orders the ORDERS stream holds.
func (r *rig) pendingOrders(t testing.TB) uint64 {
	t.Helper()
	s, err := r.js.Stream(t.Context(), events.StreamOrders)
	must(t, err)
	info, err := s.Info(t.Context())
	must(t, err)
	return info.State.Msgs
}

// count counts the documents of a collection; only for small ones (the
// embedded MongoDB scans).
func (r *rig) count(t testing.TB, collection string) int64 {
	t.Helper()
	n, err := r.db.Collection(collection).CountDocuments(t.Context(), bson.D{})
	must(t, err)
	return n
}

// processedAt returns the processedAt of every order of run runID in
// MongoDB, in one scan, by priority.
func (r *rig) processedAt(t testing.TB, runID string) map[events.Priority][]time.Time {
	t.Helper()
	cur, err := r.db.Collection(events.CollectionOrders).Find(t.Context(), bson.D{{Key: "runId", Value: runID}},
		options.Find().SetProjection(bson.D{{Key: "priority", Value: 1}, {Key: "processedAt", Value: 1}}))
	must(t, err)
	defer func() { _ = cur.Close(t.Context()) }()
	out := map[events.Priority][]time.Time{}
	for cur.Next(t.Context()) {
		var doc struct {
			Priority    events.Priority `bson:"priority"`
			ProcessedAt time.Time       `bson:"processedAt"`
		}
		must(t, cur.Decode(&doc))
		out[doc.Priority] = append(out[doc.Priority], doc.ProcessedAt)
	}
	must(t, cur.Err())
	return out
}

// snapshot is what a request that changes nothing must leave as it was:
// the run's phase and counters, the Bull view, the pending orders and the
// documents of MongoDB.
type snapshot struct {
	Run       string
	Phase     events.Phase
	Queue     string // the operator's pause, as stored
	Counters  events.RunCounters
	Bull      redisstate.JobCounts
	Pending   uint64
	Orders    int64
	Runs      int64
	Generated events.ByPriority
}

// snapshot reads a snapshot from the stores themselves, not through the api.
func (r *rig) snapshot(t testing.TB) snapshot {
	t.Helper()
	run := r.run(t)
	s := snapshot{
		Run: run.ID, Phase: run.Phase, Counters: r.counters(t, run.ID), Bull: r.bullCounts(t),
		Pending: r.pendingOrders(t), Orders: r.count(t, events.CollectionOrders), Runs: r.count(t, events.CollectionRuns),
	}
	if e, err := r.kv.Get(t.Context(), events.KeyQueue); err == nil {
		s.Queue = string(e.Value())
	}
	if e, err := r.kv.Get(t.Context(), events.KeyGeneration); err == nil {
		var g events.Generation
		must(t, json.Unmarshal(e.Value(), &g))
		s.Generated = g.Published
	}
	return s
}

// settled waits until two snapshots a quarter of a second apart agree and
// returns the second.
func (r *rig) settled(t testing.TB) snapshot {
	t.Helper()
	var last snapshot
	var same bool
	eventually(t, rigTimeout, func() error {
		s := r.snapshot(t)
		same, last = fmt.Sprint(s) == fmt.Sprint(last), s
		if !same {
			return fmt.Errorf("not settled: %+v", s)
		}
		return nil
	})
	return last
}

// holds checks f repeatedly for d, failing t as soon as it fails.
func holds(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if err := f(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// errorBody is the one error shape of the api.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

// checkErrorBody checks that body is the api's error shape for status.
func checkErrorBody(status int, body []byte) error {
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("error body %s: %w", body, err)
	}
	if e.StatusCode != status || e.Error != http.StatusText(status) || e.Message == "" {
		return fmt.Errorf("error body %s for status %d", body, status)
	}
	return nil
}

// latest returns the latest of ts, and the zero time for none.
func latest(ts ...[]time.Time) time.Time {
	var out time.Time
	for _, l := range ts {
		if len(l) > 0 {
			if m := slices.MaxFunc(l, time.Time.Compare); m.After(out) {
				out = m
			}
		}
	}
	return out
}
