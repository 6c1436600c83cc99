package logs

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	l, err := parseLine([]byte(`{"time":"2025-06-01T12:00:00.5Z","level":"WARN+2","msg":"m","a":1.5,"g":{"b":"c"}}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	want := Line{
		Time: time.Date(2025, 6, 1, 12, 0, 0, 5e8, time.UTC), Level: slog.LevelWarn + 2, Process: "api", Msg: "m",
		Attrs: map[string]any{"a": json.Number("1.5"), "g": map[string]any{"b": "c"}},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("parseLine = %+v, want %+v", l, want)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"time":"2025-06-01T12:00:00.5Z","level":"WARN+2","process":"api","msg":"m","attrs":{"a":1.5,"g":{"b":"c"}}}` {
		t.Errorf("Line as JSON = %s", got)
	}
}

// FuzzParseLine checks that parseLine never panics, and that what it
// accepts survives being written back as a log line and parsed again.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"time":"2025-06-01T12:00:00.123Z","level":"INFO","msg":"hello","n":1,"g":{"a":"b"}}`))
	f.Add([]byte(`{"time":"2025-06-01T12:00:00+02:00","level":"ERROR-1","msg":""}`))
	f.Add([]byte(`{"time":1,"level":"INFO","msg":"x"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLine(b, "api")
		if err != nil {
			return
		}
		fields := map[string]any{}
		for k, v := range l.Attrs {
			fields[k] = v
		}
		fields["time"] = l.Time.Format(time.RFC3339Nano)
		fields["level"] = l.Level.String()
		fields["msg"] = l.Msg
		again, err := json.Marshal(fields)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", l, err)
		}
		l2, err := parseLine(again, "api")
		if err != nil {
			t.Fatalf("parsing %s (from %q) again: %v", again, b, err)
		}
		if !l2.Time.Equal(l.Time) || l2.Level != l.Level || l2.Msg != l.Msg || l2.Process != "api" ||
			!reflect.DeepEqual(l2.Attrs, l.Attrs) {
			t.Errorf("%q parsed as %+v, written back and parsed again as %+v", b, l, l2)
		}
	})
}
