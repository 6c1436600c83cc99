package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/redisstate"
	"github.com/pedidos/pedidos/services/api"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

// testEnv is an api served by Run against a fresh dev stack, with clients
// to play the other services' parts.
type testEnv struct {
	t     *testing.T
	stack *devstack.Stack
	base  string // http://host:port/pedidos
	nc    *nats.Conn
	js    jetstream.JetStream
	rdb   *redis.Client
	state *redisstate.Store
}

// newEnv starts a dev stack and connects to it; startAPI then serves the
// api on it. stackCfg may replace servers of the stack (its zero value
// embeds all three).
func newEnv(t *testing.T, stackCfg devstack.Config) *testEnv {
	t.Helper()
	stack := devstacktest.StartWith(t, stackCfg)
	nc, err := nats.Connect(stack.NATSURL, nats.Name("api-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(mustParseRedisURL(t, stack.RedisURL))
	t.Cleanup(func() { _ = rdb.Close() })
	return &testEnv{t: t, stack: stack, nc: nc, js: js, rdb: rdb, state: redisstate.New(rdb, redisstate.Options{})}
}

// setCounters writes the counters of run runID as control projects them.
func (e *testEnv) setCounters(runID string, c events.RunCounters) {
	e.t.Helper()
	if err := e.state.SaveCounters(e.t.Context(), runID, c); err != nil {
		e.t.Fatal(err)
	}
}

// startAPI runs the api on the stack until the test ends, and checks that
// it then shuts down cleanly. Each option may change its configuration.
func (e *testEnv) startAPI(options ...func(*api.Config)) {
	t := e.t
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		Listener:    ln,
		NATSURL:     e.stack.NATSURL,
		MongoURI:    e.stack.MongoURI,
		RedisURL:    e.stack.RedisURL,
		MaxOrders:   api.DefaultMaxOrders,
		CORSOrigins: []string{"*"},
		Logger:      testLogger(t),
	}
	for _, o := range options {
		o(&cfg)
	}
	done := make(chan error, 1)
	go func() { done <- api.Run(t.Context(), cfg) }()
	t.Cleanup(func() { // t.Context() is cancelled by now
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	e.base = "http://" + ln.Addr().String() + "/pedidos"
}

func mustParseRedisURL(t *testing.T, u string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// createControlResources creates the KV bucket and the CONTROL stream as
// the control service does (see notes/protocol.md).
func (e *testEnv) createControlResources() jetstream.KeyValue {
	e.t.Helper()
	ctx := e.t.Context()
	kv, err := e.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: events.BucketState, History: 1, Storage: jetstream.FileStorage,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       events.StreamControl,
		Subjects:   []string{events.SubjectPhase},
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		MaxMsgs:    events.PhaseHistory,
		Duplicates: events.PhaseDuplicateWindow,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return kv
}

// serveControl stands in for the control service: a micro service whose
// generate endpoint answers with answer. It returns the number of requests.
func (e *testEnv) serveControl(answer func(events.GenerateRequest) (events.GenerateReply, *events.CommandError)) *atomic.Int64 {
	e.t.Helper()
	var calls atomic.Int64
	svc, err := micro.AddService(e.nc, micro.Config{Name: events.ControlService, Version: "0.0.0"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = svc.Stop() })
	err = svc.AddGroup(events.CommandGroup).AddEndpoint(events.CommandGenerate, micro.HandlerFunc(func(r micro.Request) {
		calls.Add(1)
		var req events.GenerateRequest
		if err := json.Unmarshal(r.Data(), &req); err != nil {
			_ = r.Error(events.CodeBadRequest, "bad request: "+err.Error(), nil)
			return
		}
		reply, cerr := answer(req)
		if cerr != nil {
			_ = r.Error(cerr.Code, cerr.Message, nil)
			return
		}
		_ = r.RespondJSON(reply)
	}))
	if err != nil {
		e.t.Fatal(err)
	}
	// The server knows the endpoint once it answered a ping sent after it.
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	return &calls
}

// putJSON writes v under key in the state bucket.
func putJSON(t *testing.T, kv jetstream.KeyValue, key string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), key, data); err != nil {
		t.Fatal(err)
	}
}

// publishPhase publishes ev on control.phase and returns its stream sequence.
func (e *testEnv) publishPhase(ev events.PhaseEvent) uint64 {
	e.t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.js.Publish(e.t.Context(), events.SubjectPhase, data, jetstream.WithMsgID(ev.MsgID()))
	if err != nil {
		e.t.Fatal(err)
	}
	return ack.Sequence
}

// do sends a request to the api and returns the status and body.
func (e *testEnv) do(method, path string) (int, []byte) {
	e.t.Helper()
	return e.doWith(method, path, nil)
}

// doWith sends a request with header to the api and returns the status
// and body.
func (e *testEnv) doWith(method, path string, header http.Header) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// status returns the answer of GET /pedidos.
func (e *testEnv) status() statusAnswer {
	e.t.Helper()
	code, body := e.do(http.MethodGet, "")
	if code != http.StatusOK {
		e.t.Fatalf("GET /pedidos = %d %s, want 200", code, body)
	}
	var st statusAnswer
	if err := json.Unmarshal(body, &st); err != nil {
		e.t.Fatalf("GET /pedidos: decoding %s: %v", body, err)
	}
	return st
}

// waitReady waits until the api reports ready.
func (e *testEnv) waitReady() {
	e.t.Helper()
	eventually(e.t, func() error {
		status, body := e.do(http.MethodGet, "/health/ready")
		if status != http.StatusOK {
			return fmt.Errorf("ready = %d %s", status, body)
		}
		return nil
	})
}

// eventually polls check until it returns nil, failing t at waitTimeout.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %v", waitTimeout, err)
		}
		<-tick.C
	}
}

// testLogger logs warnings and errors of the api to the test log while the
// test runs.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	t      *testing.T
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// assertJSONEqual fails t unless got and want hold the same JSON value.
func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}
