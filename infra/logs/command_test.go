package logs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun checks what every program of Pedidos gets from Run: its
// environment, a logger that writes to stdout and to its log files, and
// the command's own error back; a bad logging variable stops it before the
// command runs.
func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LOG_FORMAT": "json", "PORT": "3001"}
	getenv := func(k string) string { return env[k] }
	var stdout bytes.Buffer
	failed := errors.New("the command failed")
	err := Run(t.Context(), "control", getenv, &stdout, func(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
		port := getenv("PORT")
		return func(_ context.Context, log *slog.Logger) error {
			log.Info("started", slog.Any("port", port))
			return failed
		}, nil
	})
	if !errors.Is(err, failed) {
		t.Errorf("Run = %v, want the command's error", err)
	}
	if !strings.Contains(stdout.String(), `"msg":"started","port":"3001"`) {
		t.Errorf("stdout %q: want the command's record with its environment", stdout.String())
	}
	file, err := os.ReadFile(filepath.Join(dir, "logs", "control.info.log"))
	if err != nil || !strings.Contains(string(file), `"msg":"started"`) {
		t.Errorf("control.info.log = %q (%v): want the command's record", file, err)
	}

	// A bad configuration stops Run before any log file is created.
	fresh := t.TempDir()
	env["DATA_DIR"] = fresh
	badPort := errors.New("PORT: not a number")
	err = Run(t.Context(), "control", getenv, &stdout, func(func(string) string) (func(context.Context, *slog.Logger) error, error) {
		return nil, badPort
	})
	if !errors.Is(err, badPort) {
		t.Errorf("Run with a bad service configuration = %v, want its error", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "logs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bad configuration left %s/logs (%v)", fresh, err)
	}
	env["LOG_LEVEL"] = "loud"
	err = Run(t.Context(), "control", getenv, &stdout, func(func(string) string) (func(context.Context, *slog.Logger) error, error) {
		t.Error("the command was configured with an invalid LOG_LEVEL")
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("Run with LOG_LEVEL=loud = %v, want an error naming LOG_LEVEL", err)
	}
}
