package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOutageLogsOncePerIntervalAndItsEnd(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	o := NewOutage(log, "writing batches", time.Hour)
	ctx := t.Context()
	boom := errors.New("connection refused")
	for range 50 {
		o.Fail(ctx, boom, 1000, slog.String("priority", "VIP"))
	}
	o.OK(ctx)
	o.OK(ctx) // no outage: nothing
	var lines []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines for one outage of 50 failures, want 2:\n%s", len(lines), buf.String())
	}
	first, last := lines[0], lines[1]
	if first["level"] != "WARN" || first["msg"] != "writing batches failed" || first["error"] != "connection refused" ||
		first["failures"] != 1.0 || first["items"] != 1000.0 || first["priority"] != "VIP" {
		t.Errorf("first line = %v", first)
	}
	if last["level"] != "INFO" || last["msg"] != "writing batches works again" || last["failures"] != 50.0 || last["items"] != 50000.0 {
		t.Errorf("last line = %v", last)
	}
}

func TestOutageRepeatsAfterItsInterval(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutage(slog.New(slog.NewJSONHandler(&buf, nil)), "x", 0)
	for range 3 {
		o.Fail(t.Context(), errors.New("down"), 1)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("%d lines with no interval, want 3", n)
	}
}
