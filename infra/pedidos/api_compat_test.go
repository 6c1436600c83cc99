package pedidos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

// TestAPIForceGenerate starts a slow run, then another with force=true
// while the first processes its VIP orders, through GET /pedidos/generate
// as the original's clients may: the answer is a 202 with the new run's
// id; the first run is ABORTED, its pending orders purged, none of its
// orders processed after the answer; the new run goes through to DONE.
// Along the way GET /orders, GET /diagnostics/queue and GET /pedidos/logs
// answer with the original's shapes.
func TestAPIForceGenerate(t *testing.T) {
	t.Parallel()
	r := startRig(t, rigConfig{batchSize: slow.batchSize, concurrency: slow.concurrency, logs: true})
	const quantity = 6000
	first := r.start(t, quantity)
	r.awaitStatus(t, "VIP orders being processed", func(st rigStatus) bool { return st.Counts.VIP > 0 })
	checkCompatViews(t, r, first)

	var a struct {
		Message      string       `json:"message"`
		RunID        string       `json:"runId"`
		Phase        events.Phase `json:"phase"`
		Quantity     int64        `json:"quantity"`
		Forced       bool         `json:"forced"`
		AbortedRunID string       `json:"abortedRunId"`
		Method       string       `json:"method"`
	}
	r.call(t, http.MethodGet, "/generate?quantity=300&force=true", http.StatusAccepted, &a)
	answered := time.Now()
	if a.RunID == "" || a.RunID == first || a.Phase != events.PhaseGenerating || a.Quantity != 300 || !a.Forced ||
		a.AbortedRunID != first || a.Method != http.MethodGet || a.Message == "" {
		t.Fatalf("GET /generate?force=true answered %+v, want a new run of 300, forced, %s aborted", a, first)
	}
	if phase := r.awaitEnd(t, a.RunID); phase != events.PhaseDone {
		t.Fatalf("the forced run ended in %s", phase)
	}
	if c := r.counters(t, a.RunID); c.Processed.Total()+c.Failed.Total() != 300 {
		t.Errorf("the forced run processed %+v, want 300 orders", c)
	}

	// The first run: ABORTED, nothing of it processed after the answer,
	// nothing of it left pending.
	var report events.RunReport
	must(t, r.db.Collection(events.CollectionRuns).FindOne(t.Context(), bson.D{{Key: "_id", Value: first}}).Decode(&report))
	if report.Status != events.PhaseAborted {
		t.Errorf("run %s report status %s, want ABORTED", first, report.Status)
	}
	stored := r.processedAt(t, first)
	if last := latest(stored[events.PriorityVIP], stored[events.PriorityNormal]); last.After(answered) {
		t.Errorf("an order of the cancelled run was processed at %v, after the forced generate's answer at %v", last, answered)
	}
	if n := int64(len(stored[events.PriorityVIP]) + len(stored[events.PriorityNormal])); n == 0 || n >= quantity {
		t.Errorf("the cancelled run has %d orders in MongoDB, want some, not all %d", n, quantity)
	}
	if n := r.pendingOrders(t); n != 0 {
		t.Errorf("the ORDERS stream holds %d orders after the forced run", n)
	}
}

// checkCompatViews reads the original's views of a running run.
func checkCompatViews(t *testing.T, r *rig, runID string) {
	t.Helper()
	root := strings.TrimSuffix(r.base, "/pedidos")

	var o struct {
		ContractVersion int              `json:"contractVersion"`
		Phase           events.Phase     `json:"phase"`
		RunID           string           `json:"runId"`
		Target          int64            `json:"target"`
		Counts          map[string]int64 `json:"counts"`
		State           struct {
			HasActiveGeneration bool `json:"hasActiveGeneration"`
		} `json:"state"`
		Timestamp int64 `json:"timestamp"`
	}
	getJSON(t, root+"/orders", &o)
	if o.ContractVersion != 2 || !o.Phase.Active() || o.RunID != runID || o.Target == 0 || o.Counts["vip"] == 0 ||
		o.Counts["total"] != o.Counts["vip"]+o.Counts["normal"] || !o.State.HasActiveGeneration || o.Timestamp == 0 {
		t.Errorf("GET /orders during run %s = %+v", runID, o)
	}

	var d struct {
		MemoryPhase events.Phase `json:"memoryPhase"`
		Persisted   struct {
			Run events.Run `json:"run"`
		} `json:"persisted"`
		Counts     map[string]int64 `json:"counts"`
		SampleJobs []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"sampleJobs"`
	}
	getJSON(t, root+"/diagnostics/queue", &d)
	if !d.MemoryPhase.Active() || d.Persisted.Run.ID != runID || d.Counts["waiting"]+d.Counts["paused"] == 0 || len(d.SampleJobs) == 0 {
		t.Errorf("GET /diagnostics/queue during run %s: phase %s, persisted run %s, counts %v, %d sample jobs",
			runID, d.MemoryPhase, d.Persisted.Run.ID, d.Counts, len(d.SampleJobs))
	}

	// The services' log files: control logged the run's start.
	var l struct {
		ProcessLog struct {
			TotalProcessedVIP int64        `json:"totalProcessedVIP"`
			Target            int64        `json:"target"`
			Phase             events.Phase `json:"phase"`
		} `json:"processLog"`
		Status struct {
			RunID string `json:"runId"`
		} `json:"status"`
		Logs struct {
			LogMessages []string `json:"logMessages"`
			Entries     struct {
				LogMessages []struct {
					Process string `json:"process"`
					Msg     string `json:"msg"`
				} `json:"logMessages"`
			} `json:"entries"`
		} `json:"logs"`
	}
	eventually(t, rigTimeout, func() error {
		getJSON(t, r.base+"/logs?lines=100", &l)
		for _, line := range l.Logs.LogMessages {
			if strings.Contains(line, " INFO control run started ") && strings.Contains(line, "run_id="+runID) {
				return nil
			}
		}
		return fmt.Errorf("no line of the run's start among %q", l.Logs.LogMessages)
	})
	if l.ProcessLog.TotalProcessedVIP == 0 || l.ProcessLog.Target == 0 || !l.ProcessLog.Phase.Active() ||
		l.Status.RunID != runID || len(l.Logs.Entries.LogMessages) != len(l.Logs.LogMessages) {
		t.Errorf("GET /pedidos/logs during run %s = %+v", runID, l)
	}
}

// getJSON GETs url, which must answer 200, and decodes the answer.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	code, body := get(t.Context(), t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: decoding %s: %v", url, body, err)
	}
}
