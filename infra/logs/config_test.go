package logs

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"defaults", nil,
			Config{Level: slog.LevelInfo, Dir: filepath.Join("data", "logs"), Stream: true, Process: "api"}},
		{"everything set", map[string]string{
			"LOG_FORMAT": "json", "LOG_LEVEL": "debug", "BACKEND_LOGS": "true", "DATA_DIR": "/var/pedidos",
		}, Config{Format: "json", Level: slog.LevelDebug, Dir: "/var/pedidos/logs", Stream: true, Process: "api"}},
		{"text, warn, in capitals", map[string]string{"LOG_FORMAT": "text", "LOG_LEVEL": "WARN"},
			Config{Format: "text", Level: slog.LevelWarn, Dir: filepath.Join("data", "logs"), Stream: true, Process: "api"}},
		{"error level", map[string]string{"LOG_LEVEL": "error", "BACKEND_LOGS": "1"},
			Config{Level: slog.LevelError, Dir: filepath.Join("data", "logs"), Stream: true, Process: "api"}},
		{"no files, no stream", map[string]string{"BACKEND_LOGS": "false", "DATA_DIR": "/var/pedidos"},
			Config{Level: slog.LevelInfo, Process: "api"}},
		{"no files, 0", map[string]string{"BACKEND_LOGS": "0"},
			Config{Level: slog.LevelInfo, Process: "api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromEnv(func(k string) string { return tc.env[k] }, "api")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("FromEnv = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want []string // in the error
	}{
		{map[string]string{"LOG_FORMAT": "xml"}, []string{`LOG_FORMAT="xml"`, "text or json"}},
		{map[string]string{"LOG_FORMAT": "JSON"}, []string{`LOG_FORMAT="JSON"`}},
		{map[string]string{"LOG_LEVEL": "loud"}, []string{`LOG_LEVEL="loud"`, "debug, info, warn or error"}},
		{map[string]string{"LOG_LEVEL": "info+2"}, []string{`LOG_LEVEL="info+2"`}},
		{map[string]string{"BACKEND_LOGS": "yes"}, []string{`BACKEND_LOGS="yes"`, "true or false"}},
		{map[string]string{"LOG_FORMAT": "xml", "LOG_LEVEL": "loud", "BACKEND_LOGS": "no"},
			[]string{"LOG_FORMAT", "LOG_LEVEL", "BACKEND_LOGS"}},
	} {
		_, err := FromEnv(func(k string) string { return tc.env[k] }, "api")
		if err == nil {
			t.Errorf("FromEnv(%v) = nil error, want one", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("FromEnv(%v) = %q, want it to mention %s", tc.env, err, w)
			}
		}
	}
}
