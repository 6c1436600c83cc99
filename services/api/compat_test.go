package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/services/api"
)

// This file tests what the api does for the original project's clients
// beyond the shared endpoints: GET /pedidos/generate, force=true, GET
// /orders, GET /diagnostics/queue and the processor part of GET
// /pedidos/health/queue.

// generateReply is the answer of POST (and GET) /generate.
type generateReply struct {
	Message      string       `json:"message"`
	RunID        string       `json:"runId"`
	Phase        events.Phase `json:"phase"`
	Quantity     int64        `json:"quantity"`
	Forced       bool         `json:"forced"`
	AbortedRunID *string      `json:"abortedRunId"`
	Method       *string      `json:"method"`
}

func decodeGenerate(t *testing.T, status int, body []byte) generateReply {
	t.Helper()
	if status != http.StatusAccepted {
		t.Fatalf("generate = %d %s, want 202", status, body)
	}
	var a generateReply
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGenerateByGET(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	const key = "k3y"
	e.startAPI(func(c *api.Config) { c.APIKey = key })
	calls := e.serveControl(func(r events.GenerateRequest) (events.GenerateReply, *events.CommandError) {
		return events.GenerateReply{RunID: "run-get", Phase: events.PhaseGenerating, Quantity: r.Quantity}, nil
	})
	withKey := http.Header{"X-Api-Key": {key}}

	// It starts a run, so it needs the key like POST.
	status, body := e.do(http.MethodGet, "/generate?quantity=5")
	assertError(t, status, body, http.StatusUnauthorized, "X-API-Key")

	status, body = e.doWith(http.MethodGet, "/generate?quantity=5", withKey)
	a := decodeGenerate(t, status, body)
	if a.RunID != "run-get" || a.Quantity != 5 || a.Phase != events.PhaseGenerating || a.Method == nil || *a.Method != "GET" || a.Forced {
		t.Errorf("GET /generate = %s, want run-get of 5 orders with method GET", body)
	}
	status, body = e.doWith(http.MethodPost, "/generate?quantity=5", withKey)
	if a = decodeGenerate(t, status, body); a.Method != nil {
		t.Errorf("POST /generate = %s, want no method", body)
	}
	for _, q := range []string{"quantity=0", "quantity=x", "force=maybe", "returnOnActive=nope"} {
		status, body = e.doWith(http.MethodGet, "/generate?"+q, withKey)
		assertError(t, status, body, http.StatusBadRequest, "")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("control got %d generate requests, want 2", n)
	}
}

// scriptedControl stands in for control's cancel and generate commands,
// answering each request with the next answer of its script and
// recording the order of the requests.
type scriptedControl struct {
	mu       sync.Mutex
	order    []string
	cancels  []func() (any, *events.CommandError)
	generate []func() (any, *events.CommandError)
}

func (sc *scriptedControl) next(name string, script *[]func() (any, *events.CommandError)) answerFunc {
	return func([]byte) (any, *events.CommandError) {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		sc.order = append(sc.order, name)
		answer := (*script)[0]
		if len(*script) > 1 {
			*script = (*script)[1:]
		}
		return answer()
	}
}

func (sc *scriptedControl) requests() string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return strings.Join(sc.order, ",")
}

func aborted(runID string) func() (any, *events.CommandError) {
	return func() (any, *events.CommandError) {
		return events.CancelReply{RunID: runID, Aborted: true, Purged: true, Message: "run " + runID + " aborted"}, nil
	}
}

func started(runID string) func() (any, *events.CommandError) {
	return func() (any, *events.CommandError) {
		return events.GenerateReply{RunID: runID, Phase: events.PhaseGenerating, Quantity: 10}, nil
	}
}

func refused(sentinel *events.CommandError, detail string) func() (any, *events.CommandError) {
	return func() (any, *events.CommandError) {
		return nil, events.Refusal(sentinel, "%s%s", sentinel.Error(), detail)
	}
}

func TestGenerateForce(t *testing.T) {
	t.Parallel()
	slipped := refused(events.ErrRunActive, ": run other is in phase GENERATING")
	for _, tt := range []struct {
		name              string
		cancels, generate []func() (any, *events.CommandError)
		status            int
		runID, aborted    string
		requests          string
	}{
		{"a run is active", []func() (any, *events.CommandError){aborted("old")}, []func() (any, *events.CommandError){started("new")},
			http.StatusAccepted, "new", "old", "cancel,generate"},
		{"no run is active", []func() (any, *events.CommandError){refused(events.ErrNoActiveRun, "")},
			[]func() (any, *events.CommandError){started("new")},
			http.StatusAccepted, "new", "", "cancel,generate"},
		// Another generate started a run between the cancel and the start:
		// that one is cancelled too.
		{"a run slips in", []func() (any, *events.CommandError){aborted("old"), aborted("other")},
			[]func() (any, *events.CommandError){slipped, started("new")},
			http.StatusAccepted, "new", "other", "cancel,generate,cancel,generate"},
		{"runs keep slipping in", []func() (any, *events.CommandError){aborted("old")}, []func() (any, *events.CommandError){slipped},
			http.StatusConflict, "", "", "cancel,generate,cancel,generate,cancel,generate"},
		{"cancel fails", []func() (any, *events.CommandError){func() (any, *events.CommandError) {
			return nil, events.Refusal(events.ErrInternal, "processors did not stop")
		}}, []func() (any, *events.CommandError){started("new")},
			http.StatusInternalServerError, "", "", "cancel"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, devstack.Config{})
			e.startAPI()
			sc := &scriptedControl{cancels: tt.cancels, generate: tt.generate}
			answers := allCommands()
			answers[events.CommandCancel] = sc.next("cancel", &sc.cancels)
			answers[events.CommandGenerate] = sc.next("generate", &sc.generate)
			stub := e.stubCommands(answers)

			status, body := e.do(http.MethodPost, "/generate?quantity=10&force=true")
			if got := sc.requests(); got != tt.requests {
				t.Errorf("control got %s, want %s", got, tt.requests)
			}
			if tt.status != http.StatusAccepted {
				assertError(t, status, body, tt.status, "")
				return
			}
			a := decodeGenerate(t, status, body)
			if a.RunID != tt.runID || a.Quantity != 10 || !a.Forced || (a.AbortedRunID == nil) != (tt.aborted == "") ||
				a.AbortedRunID != nil && *a.AbortedRunID != tt.aborted {
				t.Errorf("forced generate = %s, want run %s, forced, aborted %q", body, tt.runID, tt.aborted)
			}
			for _, req := range stub.requests(events.CommandCancel) {
				if req != `{"purge":true,"removePending":true}` {
					t.Errorf("cancel request %s, want purge and removePending, as POST /cancel", req)
				}
			}
		})
	}
}

// TestGenerateForceOneAtATime sends two forced generates at once through
// one api: they do not interleave, so the second cancels the first one's
// run and starts its own.
func TestGenerateForceOneAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	var (
		mu      sync.Mutex
		order   []string
		active  string
		counter int
	)
	answers := allCommands()
	answers[events.CommandCancel] = func([]byte) (any, *events.CommandError) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, "cancel")
		if active == "" {
			return nil, events.ErrNoActiveRun
		}
		id := active
		active = ""
		return events.CancelReply{RunID: id, Aborted: true}, nil
	}
	answers[events.CommandGenerate] = func([]byte) (any, *events.CommandError) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, "generate")
		if active != "" {
			return nil, events.ErrRunActive
		}
		counter++
		active = fmt.Sprintf("run-%d", counter)
		return events.GenerateReply{RunID: active, Phase: events.PhaseGenerating, Quantity: 10}, nil
	}
	e.stubCommands(answers)

	var wg sync.WaitGroup
	results := make([]generateReply, 2)
	for i := range 2 {
		wg.Go(func() {
			status, body := e.do(http.MethodPost, "/generate?quantity=10&force=true")
			if status != http.StatusAccepted {
				t.Errorf("forced generate = %d %s", status, body)
				return
			}
			_ = json.Unmarshal(body, &results[i])
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(order, ","); got != "cancel,generate,cancel,generate" {
		t.Errorf("control got %s, want each forced generate's cancel and generate in turn", got)
	}
	if active != "run-2" || counter != 2 {
		t.Errorf("active run %s after %d starts, want run-2", active, counter)
	}
}

// ordersReply is the answer of GET /orders.
type ordersReply struct {
	ContractVersion    int              `json:"contractVersion"`
	Phase              events.Phase     `json:"phase"`
	RunID              *string          `json:"runId"`
	Target             int64            `json:"target"`
	Generated          int64            `json:"generated"`
	EnqueueVIPTimeMs   *int64           `json:"enqueueVipTimeMs"`
	TotalTimeMs        *int64           `json:"totalTimeMs"`
	WallClockElapsedMs *int64           `json:"wallClockElapsedMs"`
	Processing         map[string]any   `json:"processing"`
	Counts             map[string]int64 `json:"counts"`
	Progress           map[string]int64 `json:"progress"`
	Throughput         map[string]any   `json:"throughput"`
	ETA                map[string]any   `json:"eta"`
	HighRes            struct {
		Timeline []any                  `json:"timeline"`
		PhaseMs  map[events.Phase]int64 `json:"phaseMs"`
	} `json:"highRes"`
	State struct {
		MemoryPhase         events.Phase `json:"memoryPhase"`
		Aborting            bool         `json:"aborting"`
		HasActiveGeneration bool         `json:"hasActiveGeneration"`
	} `json:"state"`
	Timestamp int64 `json:"timestamp"`
}

func (e *testEnv) orders(root string) ordersReply {
	e.t.Helper()
	code, body := e.rawRequest(http.MethodGet, root+"/orders", "", nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET /orders = %d %s", code, body)
	}
	var o ordersReply
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

func TestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(func(c *api.Config) { c.PathPrefix = "/ops" })
	root := strings.TrimSuffix(e.base, "/pedidos") + "/ops"
	e.base = root + "/pedidos"
	kv := e.createControlResources()
	e.waitReady()

	o := e.orders(root)
	if o.ContractVersion != 2 || o.Phase != events.PhaseIdle || o.RunID != nil || o.Counts["total"] != 0 ||
		o.State.MemoryPhase != events.PhaseIdle || o.State.HasActiveGeneration ||
		time.Since(time.UnixMilli(o.Timestamp)).Abs() > time.Minute {
		t.Errorf("GET /orders before any run = %+v", o)
	}

	started := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Millisecond)
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseWaitingVIPDrain, StartedAt: started,
		Timeline: []events.PhaseMark{
			{Phase: events.PhaseGenerating, At: started},
			{Phase: events.PhaseEnqueueVIP, At: started.Add(time.Second)},
			{Phase: events.PhaseWaitingVIPDrain, At: started.Add(1250 * time.Millisecond)},
		}})
	putJSON(t, kv, events.KeyGeneration, events.Generation{RunID: "r1", Quantity: 100, ChunkSize: 100, ChunksDone: 1,
		Published: events.ByPriority{VIP: 25, Normal: 75}, StartedAt: started, FinishedAt: new(started.Add(time.Second))})
	e.setCounters("r1", events.RunCounters{Processed: events.ByPriority{VIP: 20}})
	eventually(t, func() error {
		if o = e.orders(root); o.Counts["vip"] != 20 {
			return fmt.Errorf("GET /orders = %+v", o)
		}
		return nil
	})
	if o.Phase != events.PhaseWaitingVIPDrain || *o.RunID != "r1" || o.Target != 100 || o.Generated != 100 ||
		o.Counts["total"] != 20 || o.Counts["normal"] != 0 || o.Progress["processedTotal"] != 20 ||
		*o.EnqueueVIPTimeMs != 250 || *o.TotalTimeMs < 2000 || *o.WallClockElapsedMs < *o.TotalTimeMs ||
		o.Processing["vip"] == nil || o.Throughput == nil || o.ETA == nil ||
		o.State.MemoryPhase != events.PhaseWaitingVIPDrain || !o.State.HasActiveGeneration || o.State.Aborting {
		t.Errorf("GET /orders during the run = %+v", o)
	}
	if len(o.HighRes.Timeline) != 3 || o.HighRes.PhaseMs[events.PhaseGenerating] != 1000 ||
		o.HighRes.PhaseMs[events.PhaseEnqueueVIP] != 250 || o.HighRes.PhaseMs[events.PhaseWaitingVIPDrain] < 700 {
		t.Errorf("highRes = %+v, want the timeline and 1000 ms generating, 250 ms enqueueing VIP", o.HighRes)
	}
	code, body := e.rawRequest(http.MethodGet, root+"/orders?%zz", "", nil)
	assertError(t, code, []byte(body), http.StatusBadRequest, "malformed query string")
	code, body = e.rawRequest(http.MethodGet, root+"/diagnostics/queue?a=%", "", nil)
	assertError(t, code, []byte(body), http.StatusBadRequest, "malformed query string")
	// The probes are also where the original had them.
	code, body = e.rawRequest(http.MethodGet, root+"/health/live", "", nil)
	if code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("GET /health/live = %d %s", code, body)
	}
	if code, body = e.rawRequest(http.MethodGet, root+"/health/ready", "", nil); code != http.StatusOK || !strings.Contains(body, `"checks"`) {
		t.Errorf("GET /health/ready = %d %s", code, body)
	}
	// It is not under /pedidos, as in the original.
	code, body = e.rawRequest(http.MethodGet, e.base+"/orders", "", nil)
	assertError(t, code, []byte(body), http.StatusNotFound, "Cannot GET")
}

// diagnosticsReply is the answer of GET /diagnostics/queue.
type diagnosticsReply struct {
	MemoryPhase         events.Phase `json:"memoryPhase"`
	HasActiveGeneration bool         `json:"hasActiveGeneration"`
	Aborting            bool         `json:"aborting"`
	Persisted           *struct {
		Run *struct {
			RunID string `json:"runId"`
		} `json:"run"`
		Generation json.RawMessage `json:"generation"`
		Queue      *struct {
			Paused bool `json:"paused"`
		} `json:"queue"`
	} `json:"persisted"`
	Counts     map[string]int64 `json:"counts"`
	SampleJobs []struct {
		ID           string  `json:"id"`
		Name         string  `json:"name"`
		State        string  `json:"state"`
		AttemptsMade int64   `json:"attemptsMade"`
		FailedReason *string `json:"failedReason"`
		FinishedOn   *int64  `json:"finishedOn"`
	} `json:"sampleJobs"`
}

func TestQueueDiagnostics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()
	root := strings.TrimSuffix(e.base, "/pedidos")
	get := func() diagnosticsReply {
		t.Helper()
		code, body := e.rawRequest(http.MethodGet, root+"/diagnostics/queue", "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /diagnostics/queue = %d %s", code, body)
		}
		var d diagnosticsReply
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}

	d := get()
	if d.MemoryPhase != events.PhaseIdle || d.Persisted != nil || d.SampleJobs == nil || len(d.SampleJobs) != 0 ||
		d.Counts["waiting"] != 0 {
		t.Errorf("GET /diagnostics/queue before any run = %+v", d)
	}

	bullFixture{wait: ids("w", 60), paused: ids("p", 2), active: ids("a", 1), completed: ids("c", 3), failed: ids("f", 2)}.put(t, e.rdb)
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseGenerating, StartedAt: time.Now()})
	putJSON(t, kv, events.KeyQueue, events.QueueState{Paused: true, At: time.Now()})
	eventually(t, func() error {
		if d = get(); d.Persisted == nil || d.Persisted.Run == nil || d.Persisted.Queue == nil {
			return fmt.Errorf("persisted = %+v", d.Persisted)
		}
		return nil
	})
	want := map[string]int64{"waiting": 60, "active": 1, "completed": 3, "failed": 2, "delayed": 0, "paused": 2}
	if fmt.Sprint(d.Counts) != fmt.Sprint(want) || d.MemoryPhase != events.PhaseGenerating || !d.HasActiveGeneration ||
		d.Persisted.Run.RunID != "r1" || !d.Persisted.Queue.Paused || string(d.Persisted.Generation) != "null" {
		t.Errorf("GET /diagnostics/queue = %+v, counts %v, want %v", d, d.Counts, want)
	}
	// 51 jobs of each list at most, as the original's getJobs(…, 0, 50).
	perState := map[string]int{}
	for _, j := range d.SampleJobs {
		perState[j.State]++
		if j.State == "failed" && (j.FailedReason == nil || j.AttemptsMade != 5 || j.FinishedOn == nil || j.Name == "") {
			t.Errorf("failed job %+v", j)
		}
	}
	if perState["waiting"] != 51 || perState["paused"] != 2 || perState["active"] != 1 || perState["completed"] != 3 ||
		perState["failed"] != 2 {
		t.Errorf("sample jobs by state = %v", perState)
	}

	// The Bull view's connection closed for maintenance: 503, as the
	// other queue views.
	if code, body := e.do(http.MethodPost, "/queue/close"); code != http.StatusOK {
		t.Fatalf("POST /queue/close = %d %s", code, body)
	}
	code, body := e.rawRequest(http.MethodGet, root+"/diagnostics/queue", "", nil)
	assertError(t, code, []byte(body), http.StatusServiceUnavailable, "queue connections closed")
}

func TestQueueHealthProcessor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()
	var h struct {
		Status    string `json:"status"`
		Processor struct {
			Phase               events.Phase `json:"phase"`
			IsProcessing        bool         `json:"isProcessing"`
			EnqueueVIPTimeMs    *int64       `json:"enqueueVipTimeMs"`
			EnqueueNormalTimeMs *int64       `json:"enqueueNormalTimeMs"`
			Aborting            bool         `json:"aborting"`
		} `json:"processor"`
	}
	read := func() string {
		code, body := e.do(http.MethodGet, "/health/queue")
		if code != http.StatusOK {
			t.Fatalf("GET /health/queue = %d %s", code, body)
		}
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	if body := read(); h.Processor.IsProcessing || h.Processor.EnqueueVIPTimeMs != nil || h.Processor.EnqueueNormalTimeMs != nil ||
		!strings.Contains(body, `"enqueueVipTimeMs":null`) || !strings.Contains(body, `"enqueueNormalTimeMs":null`) {
		t.Errorf("idle processor = %s, want not processing, enqueue times null", body)
	}

	started := time.Now().UTC().Add(-time.Second).Truncate(time.Millisecond)
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseWaitingVIPDrain, StartedAt: started,
		Timeline: []events.PhaseMark{
			{Phase: events.PhaseGenerating, At: started},
			{Phase: events.PhaseEnqueueVIP, At: started.Add(300 * time.Millisecond)},
			{Phase: events.PhaseWaitingVIPDrain, At: started.Add(420 * time.Millisecond)},
		}})
	putJSON(t, kv, events.KeyQueue, events.QueueState{Paused: true, At: time.Now()})
	eventually(t, func() error {
		if body := read(); h.Status != "paused" || h.Processor.Phase != events.PhaseWaitingVIPDrain {
			return fmt.Errorf("health = %s", body)
		}
		return nil
	})
	// Paused in the middle of a run, it is still processing, as the
	// original derived it from the phase.
	if !h.Processor.IsProcessing || h.Processor.EnqueueVIPTimeMs == nil || *h.Processor.EnqueueVIPTimeMs != 120 ||
		h.Processor.EnqueueNormalTimeMs != nil {
		t.Errorf("processor paused mid-run = %+v, want processing, enqueueVipTimeMs 120, enqueueNormalTimeMs null", h.Processor)
	}
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseDone, StartedAt: started})
	eventually(t, func() error {
		if body := read(); h.Processor.Phase != events.PhaseDone || h.Processor.IsProcessing {
			return fmt.Errorf("health = %s, want DONE and not processing", body)
		}
		return nil
	})
}
