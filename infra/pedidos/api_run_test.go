package pedidos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

// TestAPIGenerateConcurrently sends two POST /generate at the same instant,
// 50 times: each time exactly one starts a run (202) and the other is
// refused (409), and exactly one run is started, which the chain of runs in
// the state bucket and the reports in process_runs show.
func TestAPIGenerateConcurrently(t *testing.T) {
	t.Parallel()
	r := startRig(t, fast)
	const rounds = 50
	var started []string
	previous := ""
	for round := range rounds {
		// Paused, a run cannot end while the two requests race: on a
		// loaded machine one may otherwise reach control after the other's
		// run is over, and rightly start a run of its own.
		r.call(t, http.MethodPost, "/queue/pause", http.StatusOK, nil)
		codes, bodies := r.race(t, "/generate?quantity=1")
		r.call(t, http.MethodPost, "/queue/resume", http.StatusOK, nil)
		slices.Sort(codes)
		if codes[0] != http.StatusAccepted || codes[1] != http.StatusConflict {
			t.Fatalf("round %d: statuses %v (%s), want one 202 and one 409", round, codes, bodies)
		}
		var runID string
		for _, b := range bodies {
			var a struct{ RunID string }
			if err := json.Unmarshal(b, &a); err == nil && a.RunID != "" {
				runID = a.RunID
			} else if err := checkErrorBody(http.StatusConflict, b); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if phase := r.awaitEnd(t, runID); phase != events.PhaseDone {
			t.Fatalf("round %d: run %s ended in %s", round, runID, phase)
		}
		// Control links each run to the one before it: no other run
		// started between two of ours.
		if run := r.run(t); run.ID != runID || run.PreviousRunID != previous {
			t.Fatalf("round %d: state run %s after %s, want %s after %s", round, run.ID, run.PreviousRunID, runID, previous)
		}
		previous = runID
		started = append(started, runID)
	}
	cur, err := r.db.Collection(events.CollectionRuns).Find(t.Context(), bson.D{})
	must(t, err)
	var reports []events.RunReport
	must(t, cur.All(t.Context(), &reports))
	var reported []string
	for _, rep := range reports {
		reported = append(reported, rep.RunID)
	}
	slices.Sort(reported)
	slices.Sort(started)
	if !slices.Equal(reported, started) {
		t.Errorf("process_runs holds %d runs %v, want the %d started %v", len(reported), reported, len(started), started)
	}
}

// race sends two POST requests to path at the same instant, from two
// goroutines released together, and returns their statuses and bodies.
func (r *rig) race(t *testing.T, path string) ([]int, [][]byte) {
	t.Helper()
	var (
		wg     sync.WaitGroup
		ready  sync.WaitGroup
		start  = make(chan struct{})
		codes  = make([]int, 2)
		bodies = make([][]byte, 2)
		errs   = make([]error, 2)
	)
	for i := range 2 {
		ready.Add(1)
		wg.Go(func() {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.base+path, nil)
			if err != nil {
				errs[i] = err
				ready.Done()
				return
			}
			ready.Done()
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = resp.Body.Close() }()
			codes[i] = resp.StatusCode
			bodies[i], errs[i] = io.ReadAll(resp.Body)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	return codes, bodies
}

// TestAPICancelDuringVIP cancels a run while its VIP orders are processed.
func TestAPICancelDuringVIP(t *testing.T) {
	t.Parallel()
	testAPICancel(t, events.PriorityVIP)
}

// TestAPICancelDuringNormal cancels a run while its NORMAL orders are
// processed.
func TestAPICancelDuringNormal(t *testing.T) {
	t.Parallel()
	testAPICancel(t, events.PriorityNormal)
}

// testAPICancel cancels a slow run in the middle of the orders of
// priority p, and checks what the cancel promises: no order processed after
// its answer, the waiting jobs removed, the pending orders purged, the run
// ABORTED, and a new run possible at once.
func testAPICancel(t *testing.T, p events.Priority) {
	r := startRig(t, slow)
	const quantity = 8000
	runID := r.start(t, quantity)
	st := r.awaitStatus(t, fmt.Sprintf("%s orders being processed", p), func(st rigStatus) bool {
		return st.Counts.Get(p) > 0
	})
	if p == events.PriorityVIP && (st.Counts.Normal > 0 || st.Phase.VIPDrained()) {
		t.Fatalf("status %+v: the VIP orders were done before the cancel; the test proves nothing", st)
	}

	var a struct {
		Aborted        bool   `json:"aborted"`
		QueuePaused    bool   `json:"queuePaused"`
		RemovedPending int64  `json:"removedPending"`
		Purged         bool   `json:"purged"`
		PurgedOrders   int64  `json:"purgedOrders"`
		LogsReset      bool   `json:"logsReset"`
		Message        string `json:"message"`
		RunID          string `json:"runId"`
		Processors     int    `json:"processors"`
	}
	sent := time.Now()
	r.call(t, http.MethodPost, "/cancel?purge=true&removePending=true", http.StatusOK, &a)
	answered := time.Now()
	t.Logf("cancel answered in %v: %+v", answered.Sub(sent), a)
	if !a.Aborted || !a.QueuePaused || !a.Purged || a.RunID != runID || a.Processors != 1 || a.Message == "" || a.LogsReset {
		t.Errorf("POST /cancel answered %+v", a)
	}
	if got := r.status(t); got.Phase != events.PhaseAborted || *got.RunID != runID {
		t.Errorf("GET /pedidos right after the cancel = %+v, want run %s ABORTED", got, runID)
	}

	// Nothing moves any more: the counters stay for a second.
	done := r.counters(t, runID)
	holds(t, time.Second, func() error {
		if now := r.counters(t, runID); fmt.Sprint(now) != fmt.Sprint(done) {
			return fmt.Errorf("counters moved after the cancel: %+v, then %+v", done, now)
		}
		return nil
	})
	stored := r.processedAt(t, runID)
	if last := latest(stored[events.PriorityVIP], stored[events.PriorityNormal]); last.After(answered) {
		t.Errorf("an order was processed at %v, after the cancel's answer at %v", last, answered)
	}
	vip, normal := int64(len(stored[events.PriorityVIP])), int64(len(stored[events.PriorityNormal]))
	if vip != done.Processed.VIP || normal != done.Processed.Normal {
		t.Errorf("MongoDB holds %d VIP and %d NORMAL orders; the counters say %+v", vip, normal, done.Processed)
	}
	if p == events.PriorityVIP && (vip == 0 || normal != 0) || p == events.PriorityNormal && (normal == 0 || vip+normal >= quantity) {
		t.Errorf("cancelled in the middle of %s, MongoDB holds %d VIP and %d NORMAL orders", p, vip, normal)
	}
	// removePending: no waiting job left; purge: no pending order left.
	if b := r.bullCounts(t); b.Wait != 0 || b.Paused != 0 {
		t.Errorf("Bull view after the cancel: %v, want wait and paused empty", b)
	}
	if n := r.pendingOrders(t); n != 0 {
		t.Errorf("the ORDERS stream holds %d orders after a cancel with purge", n)
	}
	if a.PurgedOrders+vip+normal > quantity || a.PurgedOrders == 0 {
		t.Errorf("purged %d orders with %d processed of %d", a.PurgedOrders, vip+normal, quantity)
	}
	var report events.RunReport
	eventually(t, rigTimeout, func() error {
		return r.db.Collection(events.CollectionRuns).FindOne(t.Context(), bson.D{{Key: "_id", Value: runID}}).Decode(&report)
	})
	if report.Status != events.PhaseAborted {
		t.Errorf("run report status %s, want ABORTED", report.Status)
	}

	// A new run starts right after and completes.
	next := r.start(t, 300)
	if phase := r.awaitEnd(t, next); phase != events.PhaseDone {
		t.Fatalf("the run after the cancel ended in %s, want DONE", phase)
	}
	if c := r.counters(t, next); c.Processed.Total()+c.Failed.Total() != 300 {
		t.Errorf("the run after the cancel processed %+v, want 300 orders", c)
	}
}

// TestAPIReset checks that reset refuses during a run, wipes everything
// with force, and that the api then shows an empty system that can run
// again.
func TestAPIReset(t *testing.T) {
	t.Parallel()
	r := startRig(t, slow)
	first := r.start(t, 300)
	r.awaitEnd(t, first)
	runID := r.start(t, 4000)
	r.awaitStatus(t, "orders being processed", func(st rigStatus) bool { return st.Counts.Total() > 0 })

	code, body := r.do(t, http.MethodPost, "/reset")
	if code != http.StatusConflict {
		t.Fatalf("POST /reset during a run = %d %s, want 409", code, body)
	}
	if err := checkErrorBody(code, body); err != nil {
		t.Error(err)
	}
	if st := r.status(t); st.Phase.Terminal() || *st.RunID != runID {
		t.Fatalf("after a refused reset: %+v, want run %s going on", st, runID)
	}

	var a struct{ Message string }
	r.call(t, http.MethodPost, "/reset?force=true", http.StatusOK, &a)
	if a.Message == "" {
		t.Error("POST /reset answered no message")
	}
	if st := r.status(t); st.Phase != events.PhaseIdle || st.RunID != nil || st.Counts.Total() != 0 {
		t.Errorf("GET /pedidos right after the reset = %+v, want IDLE", st)
	}
	if n := r.count(t, events.CollectionOrders); n != 0 {
		t.Errorf("MongoDB holds %d orders after the reset", n)
	}
	if n := r.count(t, events.CollectionRuns); n != 0 {
		t.Errorf("MongoDB holds %d runs after the reset", n)
	}
	for _, pattern := range []string{"pedidos:*", "bull:orders:*"} {
		keys, err := r.rdb.Keys(t.Context(), pattern).Result()
		must(t, err)
		// Only the mark of an empty, intact Bull view is left.
		if keys = slices.DeleteFunc(keys, func(k string) bool { return k == "pedidos:view" }); len(keys) > 0 {
			t.Errorf("Redis keys left after the reset: %v", keys)
		}
	}
	var runs struct{ Total int64 }
	r.call(t, http.MethodGet, "/runs", http.StatusOK, &runs)
	if runs.Total != 0 {
		t.Errorf("GET /runs after the reset: total %d", runs.Total)
	}
	if n := r.pendingOrders(t); n != 0 {
		t.Errorf("the ORDERS stream holds %d orders after the reset", n)
	}

	next := r.start(t, 300)
	if phase := r.awaitEnd(t, next); phase != events.PhaseDone {
		t.Fatalf("the run after the reset ended in %s, want DONE", phase)
	}
}
