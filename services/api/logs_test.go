package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/logs"
)

// logsAnswer is the answer of GET /logs.
type logsAnswer struct {
	ProcessLog  processLogAnswer `json:"processLog"`
	Status      statusAnswer     `json:"status"`
	QueueStatus *struct {
		Waiting int64 `json:"waiting"`
		Paused  bool  `json:"paused"`
	} `json:"queueStatus"`
	Logs struct {
		Enabled       bool     `json:"enabled"`
		Message       string   `json:"message"`
		LogMessages   []string `json:"logMessages"`
		WarnMessages  []string `json:"warnMessages"`
		ErrorMessages []string `json:"errorMessages"`
		Entries       struct {
			LogMessages   []logLine `json:"logMessages"`
			WarnMessages  []logLine `json:"warnMessages"`
			ErrorMessages []logLine `json:"errorMessages"`
		} `json:"entries"`
	} `json:"logs"`
	QuickStats struct {
		VIPProcessed    int64 `json:"vipProcessed"`
		NormalProcessed int64 `json:"normalProcessed"`
		TotalProcessed  int64 `json:"totalProcessed"`
	} `json:"quickStats"`
}

// processLogAnswer is the original's processLog.
type processLogAnswer struct {
	GenerationTimeMs       *int64       `json:"generationTimeMs"`
	ProcessingTimeVIPMs    *int64       `json:"processingTimeVIPMs"`
	ProcessingTimeNormalMs *int64       `json:"processingTimeNormalMs"`
	StartVIP               *string      `json:"startVIP"`
	EndVIP                 *string      `json:"endVIP"`
	StartNormal            *string      `json:"startNormal"`
	EndNormal              *string      `json:"endNormal"`
	TotalProcessedVIP      *int64       `json:"totalProcessedVIP"`
	TotalProcessedNormal   *int64       `json:"totalProcessedNormal"`
	TotalTimeMs            *int64       `json:"totalTimeMs"`
	EnqueueVIPTimeMs       *int64       `json:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs    *int64       `json:"enqueueNormalTimeMs"`
	Phase                  events.Phase `json:"phase"`
	Throughput             *struct {
		VIP, Normal, Overall float64
	} `json:"throughput"`
	ETA *struct {
		EstimatedMs     *int64  `json:"estimatedMs"`
		ProgressPercent float64 `json:"progressPercent"`
	} `json:"eta"`
	Target      *int64  `json:"target"`
	Generated   *int64  `json:"generated"`
	WallClockMs *int64  `json:"wallClockMs"`
	RunID       *string `json:"runId"`
}

type logLine struct {
	Time    string         `json:"time"`
	Level   string         `json:"level"`
	Process string         `json:"process"`
	Msg     string         `json:"msg"`
	Attrs   map[string]any `json:"attrs"`
}

func (e *testEnv) logs(query string) logsAnswer {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/logs"+query)
	if status != http.StatusOK {
		e.t.Fatalf("GET /logs%s = %d %s", query, status, body)
	}
	var a logsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func msgsOf(lines []logLine) string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Process+":"+l.Msg)
	}
	return fmt.Sprint(out)
}

func TestLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(e.withLogs())
	kv := e.createControlResources()
	e.waitReady()

	// No line yet.
	a := e.logs("")
	if !a.Logs.Enabled || a.Logs.Message != "" || len(a.Logs.LogMessages)+len(a.Logs.WarnMessages)+len(a.Logs.ErrorMessages) != 0 ||
		len(a.Logs.Entries.LogMessages)+len(a.Logs.Entries.WarnMessages)+len(a.Logs.Entries.ErrorMessages) != 0 ||
		a.ProcessLog.Phase != events.PhaseIdle || a.Status.Phase != events.PhaseIdle || a.QueueStatus == nil {
		t.Errorf("GET /logs before any line = %+v", a)
	}

	for i := range 3 {
		e.writeLogs("control", fmt.Sprintf("control %d", i))
		e.writeLogs("processor", fmt.Sprintf("processor %d", i))
	}
	started := time.Now().UTC().Add(-3 * time.Second).Truncate(time.Millisecond)
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseWaitingNormalDrain, StartedAt: started,
		Timeline: []events.PhaseMark{
			{Phase: events.PhaseGenerating, At: started},
			{Phase: events.PhaseEnqueueVIP, At: started.Add(time.Second)},
			{Phase: events.PhaseWaitingVIPDrain, At: started.Add(1100 * time.Millisecond)},
			{Phase: events.PhaseEnqueueNormal, At: started.Add(2 * time.Second)},
			{Phase: events.PhaseWaitingNormalDrain, At: started.Add(2050 * time.Millisecond)},
		}})
	vipStart, vipEnd := started.Add(100*time.Millisecond), started.Add(1900*time.Millisecond)
	normalStart := started.Add(2100 * time.Millisecond)
	e.setCounters("r1", events.RunCounters{
		Processed: events.ByPriority{VIP: 25, Normal: 40},
		VIP:       events.Window{First: &vipStart, Last: &vipEnd},
		Normal:    events.Window{First: &normalStart},
	})
	// The counters of an active run are served from a cache refreshed
	// every 50 ms: they may lag the phase by that much.
	eventually(t, func() error {
		if a = e.logs("?lines=2"); a.ProcessLog.Phase != events.PhaseWaitingNormalDrain || a.QuickStats.TotalProcessed != 65 {
			return fmt.Errorf("phase %s, %d processed", a.ProcessLog.Phase, a.QuickStats.TotalProcessed)
		}
		return nil
	})
	entries := a.Logs.Entries
	if got, want := msgsOf(entries.LogMessages), "[control:control 2 processor:processor 2]"; got != want {
		t.Errorf("info entries = %s, want %s", got, want)
	}
	if got := msgsOf(entries.WarnMessages); got != "[control:control 2 processor:processor 2]" {
		t.Errorf("warn entries = %s", got)
	}
	if got := msgsOf(entries.ErrorMessages); got != "[control:control 2 processor:processor 2]" {
		t.Errorf("error entries = %s", got)
	}
	if l := entries.ErrorMessages[0]; l.Level != "ERROR" || l.Attrs["n"] != float64(3) || l.Time == "" {
		t.Errorf("error entry = %+v", l)
	}
	// The same lines as text, one string each: time level process message
	// attributes.
	for level, lines := range map[string][]string{"INFO": a.Logs.LogMessages, "WARN": a.Logs.WarnMessages, "ERROR": a.Logs.ErrorMessages} {
		n := map[string]string{"INFO": "1", "WARN": "2", "ERROR": "3"}[level]
		if len(lines) != 2 {
			t.Errorf("%s lines = %q, want 2", level, lines)
			continue
		}
		for i, process := range []string{"control", "processor"} {
			ts, rest, _ := strings.Cut(lines[i], " ")
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts); err != nil {
				t.Errorf("%s line %q does not start with an ISO time: %v", level, lines[i], err)
			}
			if want := fmt.Sprintf("%s %s %s 2 n=%s", level, process, process, n); rest != want {
				t.Errorf("%s line %q, want the time then %q", level, lines[i], want)
			}
		}
	}
	if a.QuickStats.VIPProcessed != 25 || a.QuickStats.NormalProcessed != 40 || a.QuickStats.TotalProcessed != 65 ||
		a.Status.Counts.VIP != 25 || *a.Status.RunID != "r1" {
		t.Errorf("stats = %+v, status = %+v", a.QuickStats, a.Status)
	}
	// processLog: the original's run fields, from the same status.
	pl := a.ProcessLog
	if pl.Phase != events.PhaseWaitingNormalDrain || *pl.RunID != "r1" || *pl.TotalProcessedVIP != 25 ||
		*pl.TotalProcessedNormal != 40 || *pl.Target != 100 || *pl.ProcessingTimeVIPMs != 1800 ||
		*pl.ProcessingTimeNormalMs != 0 || *pl.EnqueueVIPTimeMs != 100 || *pl.EnqueueNormalTimeMs != 50 ||
		*pl.GenerationTimeMs != 0 || pl.Throughput == nil || pl.ETA == nil || *pl.Generated != 0 {
		t.Errorf("processLog = %+v", pl)
	}
	if pl.StartVIP == nil || *pl.StartVIP != vipStart.Format("2006-01-02T15:04:05.000Z") ||
		pl.EndVIP == nil || *pl.EndVIP != vipEnd.Format("2006-01-02T15:04:05.000Z") ||
		pl.StartNormal == nil || *pl.StartNormal != normalStart.Format("2006-01-02T15:04:05.000Z") || pl.EndNormal != nil {
		t.Errorf("processLog windows: VIP %v–%v, NORMAL %v–%v", pl.StartVIP, pl.EndVIP, pl.StartNormal, pl.EndNormal)
	}
	if *pl.TotalTimeMs < 3000 || *pl.WallClockMs < *pl.TotalTimeMs {
		t.Errorf("processLog totalTimeMs %d, wallClockMs %d: want the run's wall clock, 3 s and more",
			*pl.TotalTimeMs, *pl.WallClockMs)
	}
	if a = e.logs(""); len(a.Logs.WarnMessages) != 6 || len(a.Logs.Entries.WarnMessages) != 6 {
		t.Errorf("GET /logs (500 lines) gave %d warn lines, want all 6", len(a.Logs.WarnMessages))
	}
}

func TestLogsOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(withoutLogs)
	status, body := e.do(http.MethodGet, "/logs?lines=10")
	if status != http.StatusOK {
		t.Fatalf("GET /logs = %d %s", status, body)
	}
	var a map[string]json.RawMessage
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, a["logs"], []byte(`{"enabled":false,"message":"logging for the dashboard is off (BACKEND_LOGS=false)",
		"logMessages":[],"warnMessages":[],"errorMessages":[],
		"entries":{"logMessages":[],"warnMessages":[],"errorMessages":[]}}`))
	assertJSONEqual(t, a["quickStats"], []byte(`{"vipProcessed":0,"normalProcessed":0,"totalProcessed":0}`))
}

func TestLogEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	withLogs := e.withLogs()
	e.writeLogs("control", "written before the api started")
	e.startAPI(withLogs)
	s := e.connect("")

	logger, closer, err := logs.New(logs.Config{Stream: true, Process: "processor"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closer.Close() }()
	defer logs.Publish(logger, e.nc)()
	// The hub follows the stream from when it started: log until the
	// follower has surely started, and expect the newest line.
	var got logLine
	eventually(t, func() error {
		logger.Info("an info line is not an event")
		logger.Warn("disk almost full", slog.Any("free_mb", 12))
		select {
		case ev := <-s.events:
			if ev.Type != "log" {
				return fmt.Errorf("%s event", ev.Type)
			}
			if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
				t.Fatalf("log event %q: %v", ev.Data, err)
			}
			return nil
		default:
			return fmt.Errorf("no log event yet")
		}
	})
	if got.Level != "WARN" || got.Process != "processor" || got.Msg != "disk almost full" || got.Time == "" || got.Attrs != nil {
		t.Errorf("log event = %+v", got)
	}
	logger.Error("write failed")
	for {
		ev := s.next("log")
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatal(err)
		}
		if got.Msg == "written before the api started" {
			t.Fatalf("a line written before the hub started was sent: %+v", got)
		}
		if got.Msg == "write failed" {
			break
		}
	}
	if got.Level != "ERROR" {
		t.Errorf("error event = %+v", got)
	}
}
