package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
)

// bullFixture is a queue in the Bull 4 layout, as the processors and
// control leave it, with the job ids in every key. It is written with
// Bull's key names: Bull tooling reads those.
type bullFixture struct {
	wait, paused, active []string // newest first; lists hold the newest at their right end
	completed, failed    []string // by increasing finishedOn
	delayed              []string
}

// bullKey is the key of a list, set or job of the queue, as Bull names it.
func bullKey(name string) string { return "bull:orders:" + name }

// orderJSON is the data of job id: an order as published.
func orderJSON(id string) string {
	return fmt.Sprintf(`{"id":%q,"runId":"r1","cliente":"Cliente 1","valor":12.5,"tier":"OURO","priority":"NORMAL","createdAt":"2026-11-27T13:04:05.678Z"}`, id)
}

// put writes f to Redis: the lists and sets, and a job hash for every job
// but those of wait and paused, for which it writes only some.
func (f bullFixture) put(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := t.Context()
	p := rdb.TxPipeline()
	for _, l := range []struct {
		name string
		ids  []string
	}{{"wait", f.wait}, {"paused", f.paused}, {"active", f.active}} {
		for i := len(l.ids) - 1; i >= 0; i-- { // RPUSH, oldest first
			p.RPush(ctx, bullKey(l.name), l.ids[i])
		}
	}
	for _, s := range []struct {
		name string
		ids  []string
	}{{"completed", f.completed}, {"failed", f.failed}, {"delayed", f.delayed}} {
		for i, id := range s.ids {
			finished := int64(1_800_000_000_000 + i)
			p.ZAdd(ctx, bullKey(s.name), redis.Z{Score: float64(finished), Member: id})
			fields := map[string]any{
				"name": "order", "data": orderJSON(id),
				"timestamp": finished - 100, "processedOn": finished - 10,
				"finishedOn": finished, "attemptsMade": 1,
			}
			if s.name == "failed" {
				fields["failedReason"] = "invalid order: " + id
				fields["attemptsMade"] = 5
			}
			p.HSet(ctx, bullKey(id), fields)
		}
	}
	for _, id := range append(append([]string(nil), f.active...), f.wait[:1]...) {
		p.HSet(ctx, bullKey(id), "data", orderJSON(id), "timestamp", 1_700_000_000_000)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestQueueStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()

	status, body := e.do(http.MethodGet, "/queue/status")
	if status != http.StatusOK {
		t.Fatalf("GET /queue/status = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"waiting":0,"active":0,"completed":0,"failed":0,"delayed":0,"paused":false,"pausedJobs":0}`))

	bullFixture{
		wait: ids("w", 4), paused: ids("p", 3), active: ids("a", 2),
		completed: ids("c", 5), failed: ids("f", 1), delayed: ids("d", 6),
	}.put(t, e.rdb)
	putJSON(t, kv, events.KeyQueue, events.QueueState{Paused: true, At: time.Now()})
	eventually(t, func() error {
		status, body = e.do(http.MethodGet, "/queue/status")
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			return err
		}
		if status != http.StatusOK || got["paused"] != true {
			return fmt.Errorf("GET /queue/status = %d %s, want paused", status, body)
		}
		return nil
	})
	assertJSONEqual(t, body, []byte(`{"waiting":4,"active":2,"completed":5,"failed":1,"delayed":6,"paused":true,"pausedJobs":3}`))
}

// jobsAnswer is the answer of GET /queue/jobs.
type jobsAnswer struct {
	Total int64    `json:"total"`
	Types []string `json:"types"`
	Range struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"range"`
	Jobs []struct {
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		State        string          `json:"state"`
		Timestamp    *int64          `json:"timestamp"`
		ProcessedOn  *int64          `json:"processedOn"`
		FinishedOn   *int64          `json:"finishedOn"`
		AttemptsMade int64           `json:"attemptsMade"`
		FailedReason *string         `json:"failedReason"`
		Data         json.RawMessage `json:"data"`
	} `json:"jobs"`
}

func (e *testEnv) jobs(query string) jobsAnswer {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/queue/jobs"+query)
	if status != http.StatusOK {
		e.t.Fatalf("GET /queue/jobs%s = %d %s", query, status, body)
	}
	var a jobsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (a jobsAnswer) ids() string {
	var out []string
	for _, j := range a.Jobs {
		out = append(out, j.State+":"+j.ID)
	}
	return fmt.Sprint(out)
}

func TestQueueJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	bullFixture{
		wait: ids("w", 4), paused: ids("p", 3), active: ids("a", 2),
		completed: ids("c", 5), failed: ids("f", 2),
	}.put(t, e.rdb)

	// Bull's getJobs order: each key on its own range, lists newest first,
	// sets by descending finishedOn; waiting is the wait and the paused
	// lists.
	a := e.jobs("?types=completed,waiting&start=1&end=2")
	if want := "[completed:c3 completed:c2 waiting:w1 waiting:w2 paused:p1 paused:p2]"; a.ids() != want {
		t.Errorf("jobs = %s, want %s", a.ids(), want)
	}
	if a.Total != 5+4+3 || fmt.Sprint(a.Types) != "[completed waiting]" || a.Range.Start != 1 || a.Range.End != 2 {
		t.Errorf("answer = total %d, types %v, range %+v", a.Total, a.Types, a.Range)
	}
	c3 := a.Jobs[0]
	if c3.Name != "order" || *c3.FinishedOn != 1_800_000_000_003 || *c3.ProcessedOn != 1_800_000_000_003-10 ||
		*c3.Timestamp != 1_800_000_000_003-100 || c3.AttemptsMade != 1 || c3.FailedReason != nil {
		t.Errorf("completed job = %+v", c3)
	}
	var order events.Order
	if err := json.Unmarshal(c3.Data, &order); err != nil || order.ID != "c3" || order.Cliente != "Cliente 1" {
		t.Errorf("data of c3 = %s (%v), want the order", c3.Data, err)
	}
	// A waiting job without a hash is still listed, with null fields.
	if w1 := a.Jobs[2]; w1.Timestamp != nil || string(w1.Data) != "null" || w1.Name != "order" {
		t.Errorf("waiting job without a hash = %+v", w1)
	}

	a = e.jobs("?types=failed,paused,failed")
	if want := "[failed:f1 failed:f0 paused:p0 paused:p1 paused:p2]"; a.ids() != want {
		t.Errorf("jobs = %s, want %s", a.ids(), want)
	}
	if f := a.Jobs[0]; f.FailedReason == nil || *f.FailedReason != "invalid order: f1" || f.AttemptsMade != 5 {
		t.Errorf("failed job = %+v", f)
	}

	// The defaults: every type, [0, 50].
	a = e.jobs("")
	if a.Total != 4+3+2+5+2 || len(a.Jobs) != 16 || a.Range.End != 50 || len(a.Types) != 6 {
		t.Errorf("default answer = total %d, %d jobs, range %+v, types %v", a.Total, len(a.Jobs), a.Range, a.Types)
	}
	a = e.jobs("?types=active&start=2")
	if a.Total != 2 || len(a.Jobs) != 0 || a.Range.Start != 2 || a.Range.End != 52 {
		t.Errorf("past the end = %+v", a)
	}
}

func TestQueueClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	e.createControlResources()
	e.waitReady()
	e.stubCommands(allCommands())
	bullFixture{wait: ids("w", 2)}.put(t, e.rdb)

	for range 2 { // closing twice is closing once
		status, body := e.do(http.MethodPost, "/queue/close")
		if status != http.StatusOK || string(body) != "{\"closed\":true}\n" {
			t.Fatalf("POST /queue/close = %d %s", status, body)
		}
	}
	for _, path := range []string{"/queue/status", "/queue/jobs"} {
		status, body := e.do(http.MethodGet, path)
		assertError(t, status, body, http.StatusServiceUnavailable, "queue connections closed")
	}
	if status, body := e.do(http.MethodGet, ""); status != http.StatusOK {
		t.Errorf("GET /pedidos with the queue closed = %d %s, want 200", status, body)
	}
	h := e.queueHealth(http.StatusOK)
	if h.Status != "degraded" || h.Queue.Connected || h.Queue.Waiting != nil || h.Checks.QueueResponsive {
		t.Errorf("health with the queue closed = %+v", h)
	}
	var logsAnswer struct {
		QueueStatus *struct{} `json:"queueStatus"`
	}
	status, body := e.do(http.MethodGet, "/logs")
	if err := json.Unmarshal(body, &logsAnswer); status != http.StatusOK || err != nil || logsAnswer.QueueStatus != nil {
		t.Errorf("GET /logs with the queue closed = %d %s, want queueStatus null", status, body)
	}

	status, body = e.do(http.MethodPost, "/queue/resume")
	if status != http.StatusOK {
		t.Fatalf("POST /queue/resume = %d %s", status, body)
	}
	status, body = e.do(http.MethodGet, "/queue/status")
	if status != http.StatusOK {
		t.Fatalf("GET /queue/status after resume = %d %s", status, body)
	}
	var st struct{ Waiting int64 }
	if err := json.Unmarshal(body, &st); err != nil || st.Waiting != 2 {
		t.Errorf("GET /queue/status after resume = %s", body)
	}
}

// healthAnswer is the answer of GET /health/queue.
type healthAnswer struct {
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	Queue     struct {
		Connected bool   `json:"connected"`
		Paused    bool   `json:"paused"`
		Waiting   *int64 `json:"waiting"`
		Active    *int64 `json:"active"`
		Completed *int64 `json:"completed"`
		Failed    *int64 `json:"failed"`
		Delayed   *int64 `json:"delayed"`
	} `json:"queue"`
	Processor struct {
		Phase        events.Phase `json:"phase"`
		IsProcessing bool         `json:"isProcessing"`
		Aborting     bool         `json:"aborting"`
	} `json:"processor"`
	Checks struct {
		QueueResponsive bool `json:"queueResponsive"`
		HasFailedJobs   bool `json:"hasFailedJobs"`
		IsStuck         bool `json:"isStuck"`
		Aborted         bool `json:"aborted"`
	} `json:"checks"`
}

func (e *testEnv) queueHealth(wantStatus int) healthAnswer {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/health/queue")
	if status != wantStatus {
		e.t.Fatalf("GET /health/queue = %d %s, want %d", status, body, wantStatus)
	}
	var h healthAnswer
	if err := json.Unmarshal(body, &h); err != nil {
		e.t.Fatal(err)
	}
	return h
}

func TestQueueHealth(t *testing.T) {
	t.Parallel()
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	e := newEnv(t, devstack.Config{RedisURL: "redis://" + mr.Addr()})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()

	h := e.queueHealth(http.StatusOK)
	if h.Status != "healthy" || h.Processor.Phase != events.PhaseIdle || !h.Queue.Connected || *h.Queue.Waiting != 0 ||
		!h.Checks.QueueResponsive || h.Processor.IsProcessing || h.Timestamp == "" {
		t.Errorf("idle health = %+v", h)
	}

	// A run going on, some jobs failed.
	run := events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseWaitingVIPDrain, StartedAt: time.Now()}
	putJSON(t, kv, events.KeyRun, run)
	bullFixture{wait: ids("w", 3), failed: ids("f", 2)}.put(t, e.rdb)
	wantHealth := func(want string, check func(h healthAnswer) bool) {
		t.Helper()
		eventually(t, func() error {
			h = e.queueHealth(http.StatusOK)
			if h.Status != want || !check(h) {
				return fmt.Errorf("health = %+v, want %s", h, want)
			}
			return nil
		})
	}
	wantHealth("degraded", func(h healthAnswer) bool {
		return h.Checks.HasFailedJobs && h.Processor.IsProcessing && *h.Queue.Waiting == 3 && *h.Queue.Failed == 2 &&
			h.Processor.Phase == events.PhaseWaitingVIPDrain && !h.Checks.IsStuck
	})
	putJSON(t, kv, events.KeyQueue, events.QueueState{Paused: true, At: time.Now()})
	// Paused mid-run, the run is still processing (as in the original,
	// which derived isProcessing from the phase).
	wantHealth("paused", func(h healthAnswer) bool { return h.Queue.Paused && h.Processor.IsProcessing })

	run.Phase = events.PhaseAborted
	putJSON(t, kv, events.KeyRun, run)
	wantHealth("aborted", func(h healthAnswer) bool { return h.Checks.Aborted && !h.Processor.IsProcessing })
	run.Phase = events.PhaseError
	putJSON(t, kv, events.KeyRun, run)
	wantHealth("error", func(h healthAnswer) bool { return !h.Checks.Aborted })

	// Redis goes away: the queue is a dependency that is down.
	mr.Close()
	h = e.queueHealth(http.StatusServiceUnavailable)
	if h.Status != "unhealthy" || h.Queue.Connected || h.Checks.QueueResponsive || h.Queue.Waiting != nil {
		t.Errorf("health without Redis = %+v", h)
	}
}
