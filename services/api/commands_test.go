package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api"
)

// answerFunc answers one command request of the stand-in control: a reply
// to encode as JSON, or a refusal.
type answerFunc func(req []byte) (any, *events.CommandError)

// reply answers every request with v.
func reply(v any) answerFunc {
	return func([]byte) (any, *events.CommandError) { return v, nil }
}

// refuse refuses every request with sentinel's code and msg.
func refuse(sentinel *events.CommandError, msg string) answerFunc {
	return func([]byte) (any, *events.CommandError) {
		return nil, events.Refusal(sentinel, "%s", msg)
	}
}

// commandStub stands in for the control service's commands and records the
// requests it gets, by command.
type commandStub struct {
	mu   sync.Mutex
	reqs map[string][]string
}

// stubCommands serves answers, by command name (events.CommandCancel, …),
// as the control micro service does.
func (e *testEnv) stubCommands(answers map[string]answerFunc) *commandStub {
	e.t.Helper()
	stub := &commandStub{reqs: map[string][]string{}}
	svc, err := micro.AddService(e.nc, micro.Config{Name: events.ControlService, Version: "0.0.0"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = svc.Stop() })
	g := svc.AddGroup(events.CommandGroup)
	for name, answer := range answers {
		err := g.AddEndpoint(name, micro.HandlerFunc(func(r micro.Request) {
			stub.mu.Lock()
			stub.reqs[name] = append(stub.reqs[name], string(r.Data()))
			stub.mu.Unlock()
			v, cerr := answer(r.Data())
			if cerr != nil {
				_ = r.Error(cerr.Code, cerr.Message, nil)
				return
			}
			_ = r.RespondJSON(v)
		}))
		if err != nil {
			e.t.Fatal(err)
		}
	}
	// The server knows the endpoints once it answered a ping sent after them.
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	return stub
}

// requests returns the bodies of the requests command got.
func (s *commandStub) requests(command string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs[command]...)
}

// total returns how many requests the stub got.
func (s *commandStub) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		n += len(r)
	}
	return n
}

// allCommands answers every command but generate with a success.
func allCommands() map[string]answerFunc {
	return map[string]answerFunc{
		events.CommandCancel:       reply(events.CancelReply{RunID: "r1", Aborted: true, Message: "run r1 aborted"}),
		events.CommandReset:        reply(events.ResetReply{Message: "reset done"}),
		events.CommandPause:        reply(events.QueueReply{Paused: true, Processors: 2}),
		events.CommandResume:       reply(events.QueueReply{Paused: false, Processors: 2}),
		events.CommandRetryFailed:  reply(events.RetryReply{Retried: 5}),
		events.CommandClean:        reply(events.CleanReply{Removed: 3, State: "failed"}),
		events.CommandRecoverStuck: reply(events.RecoverReply{Recovered: 2, Message: "Recuperados 2 jobs ativos que estavam travados"}),
	}
}

// withLogs makes the api serve the log lines of the LOGS stream, which it
// first creates as control does.
func (e *testEnv) withLogs() func(*api.Config) {
	e.t.Helper()
	_, err := e.js.CreateStream(e.t.Context(), jetstream.StreamConfig{
		Name:              events.StreamLogs,
		Subjects:          []string{events.SubjectLogs},
		MaxMsgsPerSubject: events.LogsPerSubject,
		Storage:           jetstream.FileStorage,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return func(c *api.Config) { c.Logs = true }
}

// withoutLogs makes the api serve no log lines (BACKEND_LOGS=false).
func withoutLogs(c *api.Config) { c.Logs = false }

// writeLogs logs one line per level as process does, through a logger of
// infra/logs that publishes on the env's connection, and waits until the
// LOGS stream holds them.
func (e *testEnv) writeLogs(process, msg string) {
	e.t.Helper()
	logger, closer, err := logs.New(logs.Config{Stream: true, Process: process}, io.Discard)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = closer.Close() }()
	before := e.logLines()
	detach := logs.Publish(logger, e.nc)
	logger.Info(msg, slog.Any("n", 1))
	logger.Warn(msg, slog.Any("n", 2))
	logger.Error(msg, slog.Any("n", 3))
	detach()
	eventually(e.t, func() error {
		if now := e.logLines(); now != [3]int{before[0] + 1, before[1] + 1, before[2] + 1} {
			return fmt.Errorf("the LOGS stream holds %v lines, want %v and one more of each", now, before)
		}
		return nil
	})
}

// logLines returns how many lines the LOGS stream holds, per level.
func (e *testEnv) logLines() [3]int {
	e.t.Helper()
	var n [3]int
	for i, level := range []string{"info", "warn", "error"} {
		s, err := e.js.Stream(e.t.Context(), events.StreamLogs)
		if err != nil {
			e.t.Fatal(err)
		}
		info, err := s.Info(e.t.Context(), jetstream.WithSubjectFilter(events.LogSubject(level, "*")))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range info.State.Subjects {
			n[i] += int(c)
		}
	}
	return n
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(e.withLogs())
	answers := allCommands()
	answers[events.CommandCancel] = reply(events.CancelReply{
		RunID: "r1", Aborted: true, QueuePaused: true, RemovedPending: 7, Purged: true, PurgedOrders: 9,
		Processors: 2, Message: "run r1 aborted",
	})
	stub := e.stubCommands(answers)
	e.writeLogs("control", "before the cancel")

	status, body := e.do(http.MethodPost, "/cancel")
	if status != http.StatusOK {
		t.Fatalf("POST /cancel = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"aborted":true,"queuePaused":true,"removedPending":7,"purged":true,
		"purgedOrders":9,"logsReset":false,"message":"run r1 aborted","runId":"r1","processors":2}`))
	if got := e.logLines(); got != [3]int{1, 1, 1} {
		t.Errorf("log lines after a cancel without resetLogs = %v, want them kept", got)
	}

	status, body = e.do(http.MethodPost, "/cancel?purge=false&removePending=0&resetLogs=true&unknown=x")
	if status != http.StatusOK {
		t.Fatalf("POST /cancel = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"aborted":true,"queuePaused":true,"removedPending":7,"purged":true,
		"purgedOrders":9,"logsReset":true,"message":"run r1 aborted; log lines removed","runId":"r1","processors":2}`))
	if got := e.logLines(); got != [3]int{} {
		t.Errorf("log lines after a cancel with resetLogs = %v, want none", got)
	}
	got := stub.requests(events.CommandCancel)
	want := []string{`{"purge":true,"removePending":true}`, `{"purge":false,"removePending":false}`}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("control got %q, want %q", got, want)
	}
}

func TestCancelRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(e.withLogs())
	answers := allCommands()
	answers[events.CommandCancel] = refuse(events.ErrNoActiveRun, events.ErrNoActiveRun.Error())
	e.stubCommands(answers)
	e.writeLogs("api", "kept")

	status, body := e.do(http.MethodPost, "/cancel?resetLogs=true")
	assertError(t, status, body, http.StatusConflict, "no run is active")
	if got := e.logLines(); got != [3]int{1, 1, 1} {
		t.Errorf("log lines after a refused cancel = %v, want them kept", got)
	}
}

func TestCancelWithLogsOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(withoutLogs)
	e.stubCommands(allCommands())
	status, body := e.do(http.MethodPost, "/cancel?resetLogs=1")
	if status != http.StatusOK {
		t.Fatalf("POST /cancel = %d %s", status, body)
	}
	var a struct {
		LogsReset bool   `json:"logsReset"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	if a.LogsReset || a.Message != "run r1 aborted; log lines not removed: logging for the dashboard is off (BACKEND_LOGS=false)" {
		t.Errorf("cancel with resetLogs and file logs off = %+v", a)
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(e.withLogs())
	answers := allCommands()
	answers[events.CommandReset] = func(req []byte) (any, *events.CommandError) {
		var r events.ResetRequest
		if err := json.Unmarshal(req, &r); err != nil || !r.Force {
			return nil, events.Refusal(events.ErrRunActive, "a run is already active: run r1 is in phase GENERATING")
		}
		return events.ResetReply{Message: "everything wiped"}, nil
	}
	stub := e.stubCommands(answers)
	e.writeLogs("processor", "old")

	status, body := e.do(http.MethodPost, "/reset")
	assertError(t, status, body, http.StatusConflict, "run r1 is in phase GENERATING")
	if got := e.logLines(); got != [3]int{1, 1, 1} {
		t.Errorf("log lines after a refused reset = %v, want them kept", got)
	}

	status, body = e.do(http.MethodPost, "/reset?force=true")
	if status != http.StatusOK {
		t.Fatalf("POST /reset?force=true = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"message":"everything wiped; log lines removed"}`))
	if got := e.logLines(); got != [3]int{} {
		t.Errorf("log lines after a reset = %v, want none", got)
	}
	if got := stub.requests(events.CommandReset); len(got) != 2 || got[0] != `{"force":false}` || got[1] != `{"force":true}` {
		t.Errorf("control got %q", got)
	}
}

func TestQueueCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	stub := e.stubCommands(allCommands())
	for _, tt := range []struct {
		path, command, request, answer string
	}{
		{"/queue/pause", events.CommandPause, `{}`, `{"paused":true,"processors":2}`},
		{"/queue/resume", events.CommandResume, `{}`, `{"resumed":true,"processors":2}`},
		{"/queue/retry-failed", events.CommandRetryFailed, `{}`, `{"retried":5}`},
		{"/queue/clean?state=failed&limit=10", events.CommandClean, `{"state":"failed","limit":10}`, `{"removed":3,"state":"failed"}`},
		{"/queue/clean", events.CommandClean, `{"state":"completed","limit":1000}`, `{"removed":3,"state":"failed"}`},
		{"/queue/recover-stuck?maxJobs=5", events.CommandRecoverStuck, `{"maxJobs":5}`,
			`{"recovered":2,"message":"Recuperados 2 jobs ativos que estavam travados"}`},
		{"/queue/recover-stuck", events.CommandRecoverStuck, `{"maxJobs":100}`,
			`{"recovered":2,"message":"Recuperados 2 jobs ativos que estavam travados"}`},
	} {
		status, body := e.do(http.MethodPost, tt.path)
		if status != http.StatusOK {
			t.Errorf("POST %s = %d %s", tt.path, status, body)
			continue
		}
		assertJSONEqual(t, body, []byte(tt.answer))
		if got := stub.requests(tt.command); len(got) == 0 || got[len(got)-1] != tt.request {
			t.Errorf("POST %s: control got %q, want %s last", tt.path, got, tt.request)
		}
	}
}

// TestQueuePurge empties every state between runs, and during a run is
// refused before anything is removed.
func TestQueuePurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	stub := e.stubCommands(allCommands())
	status, body := e.do(http.MethodPost, "/queue/purge?obliterate=true")
	if status != http.StatusOK {
		t.Fatalf("POST /queue/purge = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"purged":true,"obliterate":true,"removed":{"wait":3,"delayed":3,"completed":3,"failed":3}}`))
	want := []string{`{"state":"wait","limit":100000}`, `{"state":"delayed","limit":100000}`,
		`{"state":"completed","limit":100000}`, `{"state":"failed","limit":100000}`}
	if got := stub.requests(events.CommandClean); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("control got %q, want %q", got, want)
	}

	answers := allCommands()
	answers[events.CommandClean] = refuse(events.ErrRunActive, "cannot clean wait during a run")
	refused := newEnv(t, devstack.Config{})
	refused.startAPI()
	stub = refused.stubCommands(answers)
	status, body = refused.do(http.MethodPost, "/queue/purge")
	assertError(t, status, body, http.StatusConflict, "cannot clean wait during a run")
	if got := stub.requests(events.CommandClean); len(got) != 1 {
		t.Errorf("a refused purge sent control %q, want the refused clean of wait only", got)
	}
}

func TestQueueCommandsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	answers := allCommands()
	answers[events.CommandRetryFailed] = refuse(events.ErrRunActive, "a run is already active")
	answers[events.CommandClean] = refuse(events.ErrRunActive, "cannot clean wait during a run")
	e.stubCommands(answers)
	status, body := e.do(http.MethodPost, "/queue/retry-failed")
	assertError(t, status, body, http.StatusConflict, "a run is already active")
	status, body = e.do(http.MethodPost, "/queue/clean?state=wait")
	assertError(t, status, body, http.StatusConflict, "cannot clean wait during a run")
}

// TestBadRequestsNeverReachControl sends bad parameters to every endpoint
// that takes some: each gets a 400 in the error shape, and control hears
// of none.
func TestBadRequestsNeverReachControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	stub := e.stubCommands(allCommands())
	huge := make([]byte, 10_000)
	for i := range huge {
		huge[i] = '9'
	}
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/cancel?purge=yes"},
		{http.MethodPost, "/cancel?purge="},
		{http.MethodPost, "/cancel?removePending=2"},
		{http.MethodPost, "/cancel?resetLogs=true&resetLogs=true"},
		{http.MethodPost, "/cancel?purge=%zz"},
		{http.MethodPost, "/reset?force=TRUE"},
		{http.MethodPost, "/reset?force=1;x"},
		{http.MethodPost, "/queue/purge?obliterate=maybe"},
		{http.MethodPost, "/queue/recover-stuck?maxJobs=0"},
		{http.MethodPost, "/queue/recover-stuck?maxJobs=100001"},
		{http.MethodPost, "/queue/recover-stuck?maxJobs=ten"},
		{http.MethodPost, "/queue/clean?state=active"},
		{http.MethodPost, "/queue/clean?state="},
		{http.MethodPost, "/queue/clean?limit=0"},
		{http.MethodPost, "/queue/clean?limit=100001"},
		{http.MethodPost, "/queue/clean?limit=" + string(huge)},
		{http.MethodPost, "/queue/clean?state=failed&state=completed"},
		{http.MethodPost, "/queue/pause?%"},
		{http.MethodPost, "/queue/resume?a=%G1"},
		{http.MethodPost, "/queue/retry-failed?x=1;y=2"},
		{http.MethodPost, "/generate?quantity=1.5"},
		{http.MethodGet, "/queue/jobs?types=bogus"},
		{http.MethodGet, "/queue/jobs?start=-1"},
		{http.MethodGet, "/queue/jobs?start=5&end=4"},
		{http.MethodGet, "/queue/jobs?end=1001"},
		{http.MethodGet, "/runs?limit=101"},
		{http.MethodGet, "/runs?page=0"},
		{http.MethodGet, "/logs?lines=0"},
		{http.MethodGet, "/logs?lines=5001"},
	} {
		status, body := e.do(tt.method, tt.path)
		assertError(t, status, body, http.StatusBadRequest, "")
	}
	if n := stub.total(); n != 0 {
		t.Errorf("control got %d requests; bad parameters must never reach it", n)
	}
}

func TestProcessIsGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	status, body := e.do(http.MethodPost, "/process")
	assertError(t, status, body, http.StatusGone, "use POST /pedidos/generate")
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	const key = "s3cret-key"
	e.startAPI(func(c *api.Config) { c.APIKey = key })
	stub := e.stubCommands(allCommands())
	for _, path := range []string{
		"/generate?quantity=1", "/cancel", "/reset", "/process", "/queue/pause", "/queue/resume",
		"/queue/clean", "/queue/purge", "/queue/recover-stuck", "/queue/retry-failed", "/queue/close",
	} {
		status, body := e.do(http.MethodPost, path)
		assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")
		status, body = e.doWith(http.MethodPost, path, http.Header{"X-Api-Key": {key + "x"}})
		assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")
		status, body = e.doWith(http.MethodPost, path, http.Header{"X-Api-Key": {""}})
		assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")
	}
	// GET /generate starts a run too.
	status, body := e.do(http.MethodGet, "/generate?quantity=1")
	assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")
	if n := stub.total(); n != 0 {
		t.Fatalf("control got %d requests without the key", n)
	}
	// The key is checked before the parameters: a bad one does not tell
	// anything about the endpoint.
	status, body = e.do(http.MethodPost, "/cancel?purge=nope")
	assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")

	status, body = e.doWith(http.MethodPost, "/queue/pause", http.Header{"X-Api-Key": {key}})
	if status != http.StatusOK {
		t.Errorf("POST /queue/pause with the key = %d %s", status, body)
	}
	for _, path := range []string{"", "/queue/status", "/health/live", "/runs"} {
		if status, body := e.do(http.MethodGet, path); status != http.StatusOK {
			t.Errorf("GET %s without the key = %d %s, want 200: reads stay open", path, status, body)
		}
	}
	// A preflight carries no key; it is answered.
	status, _ = e.doWith(http.MethodOptions, "/cancel", http.Header{
		"Origin": {"http://dashboard.example"}, "Access-Control-Request-Method": {http.MethodPost},
	})
	if status != http.StatusNoContent {
		t.Errorf("preflight = %d, want 204", status)
	}
}
