package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
)

// statusAnswer is the part of GET /pedidos these tests look at.
type statusAnswer struct {
	GenerationTimeMs *int64 `json:"generationTimeMs"`
	Processing       struct {
		VIP struct {
			Start  *string `json:"start"`
			End    *string `json:"end"`
			TimeMs *int64  `json:"timeMs"`
			Count  int64   `json:"count"`
		} `json:"vip"`
	} `json:"processing"`
	TotalTimeMs *int64            `json:"totalTimeMs"`
	Counts      events.ByPriority `json:"counts"`
	Failed      events.ByPriority `json:"failed"`
	Phase       events.Phase      `json:"phase"`
	LastRunID   *string           `json:"lastRunId"`
	RunID       *string           `json:"runId"`
	ETA         struct {
		EstimatedMs     *int64  `json:"estimatedMs"`
		ProgressPercent float64 `json:"progressPercent"`
	} `json:"eta"`
	Progress struct {
		Target         int64 `json:"target"`
		Generated      int64 `json:"generated"`
		ProcessedTotal int64 `json:"processedTotal"`
	} `json:"progress"`
	Timeline []struct {
		Phase events.Phase `json:"phase"`
		At    string       `json:"at"`
	} `json:"timeline"`
}

func TestStatusFollowsRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()

	// Control has not created the bucket yet: IDLE, and not ready.
	st := e.status()
	if st.Phase != events.PhaseIdle || st.RunID != nil || st.LastRunID != nil || st.TotalTimeMs != nil || len(st.Timeline) != 0 {
		t.Fatalf("status before any run = %+v", st)
	}
	code, body := e.do(http.MethodGet, "/health/ready")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), events.BucketState) {
		t.Errorf("ready before the bucket exists = %d %s, want 503 naming the bucket", code, body)
	}

	kv := e.createControlResources()
	e.waitReady()
	st = e.status()
	if st.Phase != events.PhaseIdle {
		t.Fatalf("status of an empty bucket = %+v", st)
	}

	// A run in progress: VIP orders are processed while generation goes on.
	start := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond)
	run := events.Run{
		ID: "run-a", Quantity: 1000, ChunkSize: 100, Phase: events.PhaseGenerating, StartedAt: start,
		Timeline: []events.PhaseMark{{Phase: events.PhaseGenerating, At: start}}, PreviousRunID: "run-0",
	}
	putJSON(t, kv, events.KeyRun, run)
	putJSON(t, kv, events.KeyGeneration, events.Generation{
		RunID: "run-a", Quantity: 1000, ChunkSize: 100, ChunksDone: 6,
		Published: events.ByPriority{VIP: 150, Normal: 450}, StartedAt: start,
	})
	first, last := start.Add(100*time.Millisecond), start.Add(1100*time.Millisecond)
	counters := events.RunCounters{
		Processed: events.ByPriority{VIP: 120}, Failed: events.ByPriority{VIP: 2},
		VIP: events.Window{First: &first, Last: &last},
	}
	e.setCounters("run-a", counters)
	eventually(t, func() error {
		st = e.status()
		// The counters come from a cache refreshed every 50 ms: they may
		// lag the run's entry by that much.
		if st.Phase != events.PhaseGenerating || st.Progress.Generated != 600 || st.Counts.VIP != 120 {
			return fmt.Errorf("status = %+v, want the run in progress", st)
		}
		return nil
	})
	if *st.RunID != "run-a" || *st.LastRunID != "run-0" || st.Counts.VIP != 120 || st.Failed.VIP != 2 ||
		st.Processing.VIP.Count != 120 || *st.Processing.VIP.TimeMs != 1000 ||
		*st.Processing.VIP.Start != first.Format("2006-01-02T15:04:05.000Z") ||
		st.Progress.Target != 1000 || st.Progress.ProcessedTotal != 120 ||
		st.ETA.EstimatedMs == nil || st.ETA.ProgressPercent != 12.2 ||
		*st.TotalTimeMs < 2000 || *st.GenerationTimeMs < 2000 {
		t.Errorf("status during the run = %+v", st)
	}

	// The run ends: clocks stop, the run becomes the last one.
	end := start.Add(3 * time.Second)
	run.Phase, run.FinishedAt = events.PhaseDone, &end
	run.Timeline = append(run.Timeline, events.PhaseMark{Phase: events.PhaseDone, At: end})
	putJSON(t, kv, events.KeyRun, run)
	counters.Processed.Normal = 878
	e.setCounters("run-a", counters)
	eventually(t, func() error {
		st = e.status()
		if st.Phase != events.PhaseDone || st.Counts.Normal != 878 {
			return fmt.Errorf("phase = %s with %d NORMAL processed, want DONE with 878", st.Phase, st.Counts.Normal)
		}
		return nil
	})
	if *st.LastRunID != "run-a" || *st.TotalTimeMs != 3000 || *st.ETA.EstimatedMs != 0 || st.ETA.ProgressPercent != 100 ||
		st.Counts.Normal != 878 || len(st.Timeline) != 2 || st.Timeline[1].At != end.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("status after the run = %+v", st)
	}

	// The generation entry is the generator's; deleting it drops its numbers.
	if err := kv.Delete(t.Context(), events.KeyGeneration); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		st = e.status()
		if st.GenerationTimeMs != nil {
			return fmt.Errorf("generationTimeMs = %d after the entry was deleted", *st.GenerationTimeMs)
		}
		return nil
	})
}

func TestReadinessFollowsRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	addr := mr.Addr()
	e := newEnv(t, devstack.Config{RedisURL: "redis://" + addr})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r", Quantity: 1, Phase: events.PhaseGenerating, StartedAt: time.Now()})

	mr.Close()
	eventually(t, func() error {
		status, body := e.do(http.MethodGet, "/health/ready")
		if status != http.StatusServiceUnavailable {
			return fmt.Errorf("ready = %d %s, want 503", status, body)
		}
		var r struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if r.Status != "unavailable" || r.Checks["nats"] != "ok" || r.Checks["mongo"] != "ok" || r.Checks["redis"] == "ok" || r.Checks["redis"] == "" {
			return fmt.Errorf("ready = %+v, want only redis failing", r)
		}
		return nil
	})
	// The status needs the counters: it says Redis is down, in the error shape.
	status, body := e.do(http.MethodGet, "")
	assertError(t, status, body, http.StatusServiceUnavailable, "redis unavailable")

	// Redis comes back on the same address.
	if err := mr.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	e.waitReady()
}

func TestLiveness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	status, body := e.do(http.MethodGet, "/health/live")
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("live = %d %s", status, body)
	}
}

// TestStatusAfterBucketRecreated covers a reset that deletes and re-creates
// the state bucket: the api follows the new bucket.
func TestStatusAfterBucketRecreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	kv := e.createControlResources()
	putJSON(t, kv, events.KeyRun, events.Run{ID: "old", Quantity: 5, Phase: events.PhaseDone, StartedAt: time.Now()})
	e.startAPI()
	eventually(t, func() error {
		if st := e.status(); st.RunID == nil || *st.RunID != "old" {
			return fmt.Errorf("status = %+v, want run old", st)
		}
		return nil
	})

	if err := e.js.DeleteKeyValue(t.Context(), events.BucketState); err != nil {
		t.Fatal(err)
	}
	kv, err := e.js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: events.BucketState, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	putJSON(t, kv, events.KeyRun, events.Run{ID: "new", Quantity: 5, Phase: events.PhaseGenerating, StartedAt: time.Now()})
	eventually(t, func() error {
		if st := e.status(); st.RunID == nil || *st.RunID != "new" {
			return fmt.Errorf("status = %+v, want run new", st)
		}
		return nil
	})
}
