package devstack

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
)

// TestMinLevelHandlerIsAHandler runs slog's conformance tests through
// minLevelHandler, attributes and groups deferred included.
func TestMinLevelHandlerIsAHandler(t *testing.T) {
	var buf bytes.Buffer
	newHandler := func(*testing.T) slog.Handler {
		buf.Reset()
		return minLevelHandler{min: slog.LevelDebug, inner: slog.NewJSONHandler(&buf, nil)}
	}
	result := func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("decoding %q: %v", buf.String(), err)
		}
		return m
	}
	slogtest.Run(t, newHandler, result)
}

// countingValue counts how often a handler resolves it.
type countingValue struct{ n *int }

func (v countingValue) LogValue() slog.Value {
	*v.n++
	return slog.StringValue("resolved")
}

// TestMinLevelHandlerDefersAttrs checks that attributes added to a logger
// whose records are all dropped are never formatted, and that a record that
// gets through carries them, in their groups.
func TestMinLevelHandlerDefersAttrs(t *testing.T) {
	var buf bytes.Buffer
	resolved := 0
	log := slog.New(minLevelHandler{min: slog.LevelError, inner: slog.NewTextHandler(&buf, nil)})
	sql := log.With(slog.Any("server", "mongo")).WithGroup("tx").With(slog.Any("sql", countingValue{&resolved}))

	sql.Debug("dropped")
	sql.Info("dropped too")
	if resolved != 0 || buf.Len() != 0 {
		t.Fatalf("dropped records: attribute resolved %d times, output %q; want 0 and nothing", resolved, buf.String())
	}

	sql.Error("kept", slog.Any("n", 1))
	got := buf.String()
	for _, want := range []string{"level=ERROR", "msg=kept", "server=mongo", "tx.sql=resolved", "tx.n=1"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if resolved != 1 {
		t.Errorf("attribute resolved %d times for one record, want 1", resolved)
	}

	// Loggers derived from the same one do not see each other's attributes.
	buf.Reset()
	base := log.With(slog.Any("a", 1))
	one, two := base.With(slog.Any("b", 2)), base.With(slog.Any("c", 3))
	one.Error("one")
	two.Error("two")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "a=1 b=2") || strings.Contains(lines[0], "c=3") ||
		!strings.Contains(lines[1], "a=1 c=3") || strings.Contains(lines[1], "b=2") {
		t.Errorf("derived loggers wrote %q", lines)
	}
}
