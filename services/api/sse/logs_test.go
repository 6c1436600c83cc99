package sse

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pedidos/pedidos/infra/logs"
)

func TestLogLinesDroppedForSlowClientOnly(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{ClientBuffer: 2})
	slow, _ := h.subscribe("")
	fast, _ := h.subscribe("")
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.FixedZone("BRT", -3*3600))
	for i := range 3 {
		h.publishLog(logs.Line{Time: at, Level: slog.LevelWarn, Process: "processor", Msg: "slow write", Attrs: map[string]any{"n": i}})
		m := <-fast.logs
		want := "event: log\ndata: {\"time\":\"2026-11-27T15:00:00Z\",\"level\":\"WARN\",\"process\":\"processor\",\"msg\":\"slow write\"}\n\n"
		if m.String() != want {
			t.Fatalf("log event = %q, want %q", m.String(), want)
		}
	}
	// The slow client kept the first two lines and missed the third, and
	// it is still connected: log lines are not worth a reconnect.
	if n := len(slow.logs); n != 2 {
		t.Errorf("slow client holds %d log events, want 2", n)
	}
	select {
	case <-slow.dropped:
		t.Error("a client slow to take log lines was disconnected")
	default:
	}
	if n := h.Clients(); n != 2 {
		t.Errorf("Clients() = %d, want 2", n)
	}
	if !strings.Contains((<-slow.logs).String(), "event: log") {
		t.Error("the slow client's buffer does not hold log events")
	}
}
