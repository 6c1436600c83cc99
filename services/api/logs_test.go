package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/logs"
)

// logsAnswer is the answer of GET /logs.
type logsAnswer struct {
	ProcessLog  statusAnswer `json:"processLog"`
	QueueStatus *struct {
		Waiting int64 `json:"waiting"`
		Paused  bool  `json:"paused"`
	} `json:"queueStatus"`
	Logs struct {
		Enabled       bool      `json:"enabled"`
		Message       string    `json:"message"`
		LogMessages   []logLine `json:"logMessages"`
		WarnMessages  []logLine `json:"warnMessages"`
		ErrorMessages []logLine `json:"errorMessages"`
	} `json:"logs"`
	QuickStats struct {
		VIPProcessed    int64 `json:"vipProcessed"`
		NormalProcessed int64 `json:"normalProcessed"`
		TotalProcessed  int64 `json:"totalProcessed"`
	} `json:"quickStats"`
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
	dir := t.TempDir()
	e.startAPI(withLogDir(dir))
	kv := e.createControlResources()
	e.waitReady()

	// No file yet: no lines.
	a := e.logs("")
	if !a.Logs.Enabled || a.Logs.Message != "" || len(a.Logs.LogMessages)+len(a.Logs.WarnMessages)+len(a.Logs.ErrorMessages) != 0 ||
		a.ProcessLog.Phase != events.PhaseIdle || a.QueueStatus == nil {
		t.Errorf("GET /logs before any line = %+v", a)
	}

	for i := range 3 {
		writeLogs(t, dir, "control", fmt.Sprintf("control %d", i))
		writeLogs(t, dir, "processor", fmt.Sprintf("processor %d", i))
	}
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 100, Phase: events.PhaseWaitingNormalDrain, StartedAt: time.Now()})
	e.rdb.HSet(t.Context(), events.RunCountersKey("r1"), events.FieldProcessed(events.PriorityVIP), 25,
		events.FieldProcessed(events.PriorityNormal), 40)
	// The counters of an active run are served from a cache refreshed
	// every 50 ms: they may lag the phase by that much.
	eventually(t, func() error {
		if a = e.logs("?lines=2"); a.ProcessLog.Phase != events.PhaseWaitingNormalDrain || a.QuickStats.TotalProcessed != 65 {
			return fmt.Errorf("phase %s, %d processed", a.ProcessLog.Phase, a.QuickStats.TotalProcessed)
		}
		return nil
	})
	if got, want := msgsOf(a.Logs.LogMessages), "[control:control 2 processor:processor 2]"; got != want {
		t.Errorf("info lines = %s, want %s", got, want)
	}
	if got := msgsOf(a.Logs.WarnMessages); got != "[control:control 2 processor:processor 2]" {
		t.Errorf("warn lines = %s", got)
	}
	if got := msgsOf(a.Logs.ErrorMessages); got != "[control:control 2 processor:processor 2]" {
		t.Errorf("error lines = %s", got)
	}
	if l := a.Logs.ErrorMessages[0]; l.Level != "ERROR" || l.Attrs["n"] != float64(3) || l.Time == "" {
		t.Errorf("error line = %+v", l)
	}
	if a.QuickStats.VIPProcessed != 25 || a.QuickStats.NormalProcessed != 40 || a.QuickStats.TotalProcessed != 65 ||
		a.ProcessLog.Counts.VIP != 25 || *a.ProcessLog.RunID != "r1" {
		t.Errorf("stats = %+v, process log = %+v", a.QuickStats, a.ProcessLog)
	}
	if a = e.logs(""); len(a.Logs.WarnMessages) != 6 {
		t.Errorf("GET /logs (500 lines) gave %d warn lines, want all 6", len(a.Logs.WarnMessages))
	}
}

func TestLogsOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(withLogDir(""))
	status, body := e.do(http.MethodGet, "/logs?lines=10")
	if status != http.StatusOK {
		t.Fatalf("GET /logs = %d %s", status, body)
	}
	var a map[string]json.RawMessage
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, a["logs"], []byte(`{"enabled":false,"message":"file logging is off (BACKEND_LOGS=false)",
		"logMessages":[],"warnMessages":[],"errorMessages":[]}`))
	assertJSONEqual(t, a["quickStats"], []byte(`{"vipProcessed":0,"normalProcessed":0,"totalProcessed":0}`))
}

func TestLogEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	dir := t.TempDir()
	writeLogs(t, dir, "control", "written before the api started")
	e.startAPI(withLogDir(dir))
	s := e.connect("")

	logger, closer, err := logs.New(logs.Config{Dir: dir, Process: "processor"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closer.Close() }()
	// The hub follows the files from when it started: write until the
	// follower has surely started, and expect the newest line.
	var got logLine
	eventually(t, func() error {
		logger.Info("an info line is not an event")
		logger.Warn("disk almost full", "free_mb", 12)
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
