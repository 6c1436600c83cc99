package pedidos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// TestAPIPauseResume pauses a run in its middle: while paused no order is
// processed (the counters stay, and MongoDB holds no order processed in the
// pause), the api says paused; after resume the run completes.
func TestAPIPauseResume(t *testing.T) {
	t.Parallel()
	r := startRig(t, slow)
	const quantity = 3000
	runID := r.start(t, quantity)
	r.awaitStatus(t, "orders being processed", func(st rigStatus) bool { return st.Counts.Total() > 0 })

	var paused struct {
		Paused     bool `json:"paused"`
		Processors int  `json:"processors"`
	}
	r.call(t, http.MethodPost, "/queue/pause", http.StatusOK, &paused)
	pausedAt := time.Now()
	if !paused.Paused || paused.Processors != 1 {
		t.Errorf("POST /queue/pause answered %+v", paused)
	}
	var qs struct{ Paused bool }
	r.call(t, http.MethodGet, "/queue/status", http.StatusOK, &qs)
	var health struct {
		Status    string
		Processor struct{ IsProcessing bool }
	}
	r.call(t, http.MethodGet, "/health/queue", http.StatusOK, &health)
	// Paused mid-run, the run is still processing: isProcessing follows the
	// phase, as in the original.
	if !qs.Paused || health.Status != "paused" || !health.Processor.IsProcessing {
		t.Errorf("while paused: queue status %+v, health %+v", qs, health)
	}

	// Twice, a second apart, and all along: not one more order.
	first := r.counters(t, runID)
	holds(t, time.Second, func() error {
		if now := r.counters(t, runID); fmt.Sprint(now) != fmt.Sprint(first) {
			return fmt.Errorf("orders processed while paused: %+v, then %+v", first, now)
		}
		return nil
	})
	if st := r.status(t); st.Counts != first.Processed || !st.Phase.Active() {
		t.Errorf("GET /pedidos a second into the pause = %+v, want the counts %+v of an active run", st, first.Processed)
	}
	if first.Processed.Total() >= quantity {
		t.Fatalf("the run was over before the pause: %+v", first.Processed)
	}

	resumedAt := time.Now()
	var resumed struct{ Resumed bool }
	r.call(t, http.MethodPost, "/queue/resume", http.StatusOK, &resumed)
	if !resumed.Resumed {
		t.Errorf("POST /queue/resume answered %+v", resumed)
	}
	if phase := r.awaitEnd(t, runID); phase != events.PhaseDone {
		t.Fatalf("the run ended in %s after resuming, want DONE", phase)
	}
	stored := r.processedAt(t, runID)
	total := 0
	for _, ts := range stored {
		total += len(ts)
		for _, at := range ts {
			if at.After(pausedAt) && at.Before(resumedAt) {
				t.Errorf("an order was processed at %v, between the pause (%v) and the resume (%v)", at, pausedAt, resumedAt)
				break
			}
		}
	}
	if total != quantity {
		t.Errorf("MongoDB holds %d orders of the run, want %d", total, quantity)
	}
}

// TestAPIRunsAndJobs checks the history of runs with its paging, and that
// the completed jobs of the queue carry the orders MongoDB stored.
func TestAPIRunsAndJobs(t *testing.T) {
	t.Parallel()
	r := startRig(t, fast)
	var started []string
	for _, q := range []int64{100, 200, 300} {
		id := r.start(t, q)
		if phase := r.awaitEnd(t, id); phase != events.PhaseDone {
			t.Fatalf("run %s ended in %s", id, phase)
		}
		started = append(started, id)
	}
	newestFirst := slices.Clone(started)
	slices.Reverse(newestFirst)

	type runsAnswer struct {
		Limit, Page, Count, Total int64
		Runs                      []events.RunReport
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", newestFirst},
		{"?limit=2", newestFirst[:2]},
		{"?limit=2&page=2", newestFirst[2:]},
		{"?limit=2&page=3", nil},
		{"?limit=1&page=3", newestFirst[2:]},
	} {
		var a runsAnswer
		r.call(t, http.MethodGet, "/runs"+tt.query, http.StatusOK, &a)
		var got []string
		for _, rep := range a.Runs {
			got = append(got, rep.RunID)
			if rep.Status != events.PhaseDone || rep.TotalProcessedVIP+rep.TotalProcessedNormal != rep.Quantity {
				t.Errorf("GET /runs%s: report %+v", tt.query, rep)
			}
		}
		if !slices.Equal(got, tt.want) || a.Total != 3 || a.Count != int64(len(tt.want)) {
			t.Errorf("GET /runs%s = %+v, want runs %v of 3", tt.query, a, tt.want)
		}
	}

	var jobs struct {
		Total int64
		Types []string
		Jobs  []struct {
			ID           string
			Name         string
			State        string
			FinishedOn   *int64
			AttemptsMade int64
			Data         json.RawMessage
		}
	}
	r.call(t, http.MethodGet, "/queue/jobs?types=completed&start=0&end=9", http.StatusOK, &jobs)
	if jobs.Total != 600 || len(jobs.Jobs) != 10 || !slices.Equal(jobs.Types, []string{"completed"}) {
		t.Fatalf("GET /queue/jobs = total %d, %d jobs, types %v; want 10 of 600 completed", jobs.Total, len(jobs.Jobs), jobs.Types)
	}
	for i, j := range jobs.Jobs {
		var o events.Order
		must(t, json.Unmarshal(j.Data, &o))
		var stored events.Order
		err := r.db.Collection(events.CollectionOrders).FindOne(t.Context(), bson.D{{Key: "_id", Value: j.ID}}).Decode(&stored)
		if err != nil {
			t.Errorf("job %s: no order in MongoDB: %v", j.ID, err)
			continue
		}
		stored.ID = j.ID // _id in MongoDB
		if o.ID != j.ID || o.RunID != stored.RunID || o.Cliente != stored.Cliente || o.Valor != stored.Valor ||
			o.Tier != stored.Tier || o.Priority != stored.Priority || !o.CreatedAt.Equal(stored.CreatedAt) {
			t.Errorf("job %s: data %+v, MongoDB holds %+v", j.ID, o, stored)
		}
		if j.State != "completed" || j.Name != redisstate.BullJobName || j.FinishedOn == nil || j.AttemptsMade < 1 {
			t.Errorf("job %+v", j)
		}
		if i > 0 && *j.FinishedOn > *jobs.Jobs[i-1].FinishedOn {
			t.Errorf("jobs not newest first: %d after %d", *j.FinishedOn, *jobs.Jobs[i-1].FinishedOn)
		}
	}

	// Between runs, a purge empties the queue's view; the runs' orders stay.
	var purge struct {
		Purged  bool
		Removed map[string]int64
	}
	r.call(t, http.MethodPost, "/queue/purge", http.StatusOK, &purge)
	if !purge.Purged || purge.Removed["completed"] != 600 || purge.Removed["wait"] != 0 {
		t.Errorf("POST /queue/purge = %+v, want the 600 completed jobs removed", purge)
	}
	var qs struct{ Waiting, Active, Completed, Failed int64 }
	r.call(t, http.MethodGet, "/queue/status", http.StatusOK, &qs)
	if qs.Waiting != 0 || qs.Active != 0 || qs.Completed != 0 || qs.Failed != 0 {
		t.Errorf("GET /queue/status after a purge = %+v, want an empty queue", qs)
	}
	// Between runs no processor holds a job: none is stuck.
	var recovered struct {
		Recovered int64
		Message   string
	}
	r.call(t, http.MethodPost, "/queue/recover-stuck?maxJobs=10", http.StatusOK, &recovered)
	if recovered.Recovered != 0 || recovered.Message != "Recuperados 0 jobs ativos que estavam travados" {
		t.Errorf("POST /queue/recover-stuck = %+v, want none recovered", recovered)
	}
	n, err := r.db.Collection(events.CollectionOrders).CountDocuments(t.Context(), bson.D{})
	must(t, err)
	if n != 600 {
		t.Errorf("MongoDB holds %d orders after a purge, want the 600 of the runs", n)
	}
}
