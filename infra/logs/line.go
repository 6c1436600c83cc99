package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Line is one record read back from the LOGS stream.
type Line struct {
	Time    time.Time  `json:"time"`
	Level   slog.Level `json:"level"`
	Process string     `json:"process"` // from the subject: "api", "pedidos", ...
	Msg     string     `json:"msg"`
	// Attrs are the record's other fields, as decoded from JSON, except
	// that numbers are json.Number (no precision lost on ids and times).
	// Groups are nested maps. Nil when there are none.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// parseLine parses one record of process: a JSON object with at least
// "time" (RFC 3339), "level" and "msg", as slog's JSON handler writes.
func parseLine(b []byte, process string) (Line, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return Line{}, fmt.Errorf("parsing log line: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Line{}, errors.New("parsing log line: data after the JSON object")
	}
	l := Line{Process: process}
	var ok bool
	var ts, level string
	if ts, ok = fields["time"].(string); !ok {
		return Line{}, errors.New("parsing log line: no time")
	}
	var err error
	if l.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return Line{}, fmt.Errorf("parsing log line: %w", err)
	}
	if level, ok = fields["level"].(string); !ok {
		return Line{}, errors.New("parsing log line: no level")
	}
	if err := l.Level.UnmarshalText([]byte(level)); err != nil {
		return Line{}, fmt.Errorf("parsing log line: %w", err)
	}
	if l.Msg, ok = fields["msg"].(string); !ok {
		return Line{}, errors.New("parsing log line: no msg")
	}
	delete(fields, "time")
	delete(fields, "level")
	delete(fields, "msg")
	if len(fields) > 0 {
		l.Attrs = fields
	}
	return l, nil
}
