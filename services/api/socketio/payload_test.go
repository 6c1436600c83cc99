package socketio

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api/sse"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// status is a status as GET /pedidos answers it, trimmed to what the
// events read.
const status = `{"phase":"WAITING_NORMAL_DRAIN","runId":"r1","counts":{"vip":250,"normal":400},
	"failed":{"vip":1,"normal":0},"processing":{"vip":{"start":"2026-11-27T12:00:00.000Z","end":"2026-11-27T12:00:02.000Z",
	"timeMs":2000,"count":250},"normal":{"start":"2026-11-27T12:00:02.500Z","end":null,"timeMs":null,"count":400}},
	"eta":{"estimatedMs":900,"progressPercent":65.1},"progress":{"target":1000,"generated":1000,"processedTotal":650}}`

func testServer(t *testing.T) *Server {
	t.Helper()
	s := New(Config{
		Hub:    sse.NewHub(sse.Config{}),
		Status: func(context.Context) ([]byte, error) { return []byte(status), nil },
	})
	t.Cleanup(s.Close)
	return s
}

// encode returns the JSON a client receives.
func encode(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStatusPayload(t *testing.T) {
	t.Parallel()
	s := testServer(t)
	at := time.Date(2026, 11, 27, 12, 0, 3, 0, time.UTC)
	change := &events.PhaseEvent{RunID: "r1", Phase: events.PhaseWaitingNormalDrain, Previous: events.PhaseEnqueueNormal, At: at,
		Counts: events.Counts{Processed: events.ByPriority{VIP: 250, Normal: 1}}}
	other := &events.PhaseEvent{RunID: "r2", Phase: events.PhaseGenerating, Previous: events.PhaseDone, At: at,
		Counts: events.Counts{Generated: events.ByPriority{VIP: 3, Normal: 9}, Processed: events.ByPriority{VIP: 2}}}
	for _, tt := range []struct {
		name string
		data []byte
		ev   *events.PhaseEvent
		want map[string]any // keys that must hold these values
		none []string       // keys that must be absent
	}{
		{"periodic", []byte(status), nil, map[string]any{
			"phase": "WAITING_NORMAL_DRAIN", "runId": "r1", "target": float64(1000), "version": float64(2),
			"message": "WAITING_NORMAL_DRAIN: processing NORMAL orders",
			"counts":  map[string]any{"vip": float64(250), "normal": float64(400)},
		}, []string{"previous", "reason"}},
		{"phase change of the run", []byte(status), change, map[string]any{
			"phase": "WAITING_NORMAL_DRAIN", "previous": "ENQUEUE_NORMAL", "at": "2026-11-27T12:00:03Z", "runId": "r1",
			"counts": map[string]any{"vip": float64(250), "normal": float64(400)}, "target": float64(1000),
		}, nil},
		// The api's view of the run lags: the event speaks for itself.
		{"phase change of a newer run", []byte(status), other, map[string]any{
			"phase": "GENERATING", "previous": "DONE", "runId": "r2",
			"counts":  map[string]any{"vip": float64(2), "normal": float64(0)},
			"message": "GENERATING: generating orders; VIP orders are processed as they are published",
		}, []string{"target", "eta"}},
		{"status unreadable, phase change", nil, &events.PhaseEvent{RunID: "r3", Phase: events.PhaseAborted, Reason: "cancelled"},
			map[string]any{"phase": "ABORTED", "message": "ABORTED: run cancelled: cancelled", "reason": "cancelled"}, nil},
		{"status unreadable", nil, nil, map[string]any{"message": "status unavailable"}, []string{"phase", "processing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := encode(t, s.statusPayload(tt.data, tt.ev))
			for k, v := range tt.want {
				if gb, wb := encode(t, map[string]any{"v": got[k]}), encode(t, map[string]any{"v": v}); !jsonEqual(t, gb, wb) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			for _, k := range tt.none {
				if _, ok := got[k]; ok {
					t.Errorf("%s = %v, want none", k, got[k])
				}
			}
			if ts, ok := got["timestamp"].(float64); !ok || time.Since(time.UnixMilli(int64(ts))).Abs() > time.Minute {
				t.Errorf("timestamp = %v, want Unix ms", got["timestamp"])
			}
			if _, ok := got["monoMs"].(float64); !ok {
				t.Errorf("monoMs = %v", got["monoMs"])
			}
			if tt.ev != nil || tt.data != nil {
				if _, ok := got["processing"]; !ok {
					t.Error("no processing: the original's dashboard ignores such a status")
				}
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}

func TestProgressPayload(t *testing.T) {
	t.Parallel()
	s := testServer(t)
	got := encode(t, s.progressPayload([]byte(status)))
	want := map[string]any{
		"version": float64(2), "phase": "WAITING_NORMAL_DRAIN", "progress": 65.1, "total": float64(1000),
		"current": float64(651), "generated": float64(1000), "vipProcessed": float64(250), "normalProcessed": float64(400),
		"vipProcessingTime": float64(2000), "runId": "r1", "message": "WAITING_NORMAL_DRAIN: 651 of 1000 orders done",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["normalProcessingTime"]; ok {
		t.Errorf("normalProcessingTime = %v before the NORMAL window closed, want none", got["normalProcessingTime"])
	}
}

func TestLogPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 12, 0, 0, 123e6, time.UTC)
	got := encode(t, logPayload(logs.Line{Time: at, Level: slog.LevelWarn, Process: "processor", Msg: "slow write",
		Attrs: map[string]any{"orders": json.Number("500")}}))
	want := map[string]any{"timestamp": float64(at.UnixMilli()), "level": "warn", "message": "slow write",
		"category": "processor", "data": map[string]any{"orders": float64(500)}}
	if !jsonEqual(t, got, want) {
		t.Errorf("log event = %v, want %v", got, want)
	}
}
