package logs

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
)

// Defaults of Config.
const (
	DefaultMaxSizeMB  = 10     // size of a log file that triggers its rotation
	DefaultMaxBackups = 3      // rotated files kept per process and level
	DefaultDataDir    = "data" // DATA_DIR when unset
)

// Config says how New builds a logger.
type Config struct {
	// Format of stdout: "text" (tint, coloured only on a terminal), "json"
	// (slog's JSON), or "" for text on a terminal and JSON otherwise.
	Format string
	// Level is the lowest level logged, to stdout and to the files alike
	// (LOG_LEVEL).
	Level slog.Level
	// Dir is where the log files go; "" writes none. Callers pass
	// DATA_DIR/logs.
	Dir string
	// Stream publishes the INFO, WARN and ERROR records on NATS, once a
	// service attaches its connection (Publish), for the api to serve.
	Stream bool
	// Process names the process in the file names and the log subjects:
	// "pedidos" (all in one), "api", "control", "generator" or
	// "processor". Letters, digits, '_' and '-' only. Required when Dir or
	// Stream is set.
	Process string
	// MaxSizeMB is the size in megabytes at which a file is rotated
	// (0: DefaultMaxSizeMB); MaxBackups is how many rotated files are kept
	// per process and level (0: DefaultMaxBackups).
	MaxSizeMB, MaxBackups int
}

// FromEnv reads the logging configuration of process from getenv:
// LOG_FORMAT (text or json; unset: text on a terminal, json otherwise),
// LOG_LEVEL (debug, info, warn or error; default info), BACKEND_LOGS (true
// or false, default true) and DATA_DIR (default "data"): when BACKEND_LOGS
// is true, the files go to DATA_DIR/logs and the records to the LOGS
// stream. Every invalid variable is reported, each by name.
func FromEnv(getenv func(string) string, process string) (Config, error) {
	cfg := Config{Process: process}
	var errs []error
	switch v := getenv("LOG_FORMAT"); v {
	case "", "text", "json":
		cfg.Format = v
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", v))
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		level, err := parseLevel(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: %w", v, err))
		}
		cfg.Level = level
	}
	switch v := getenv("BACKEND_LOGS"); v {
	case "", "true", "1":
		dataDir := getenv("DATA_DIR")
		if dataDir == "" {
			dataDir = DefaultDataDir
		}
		cfg.Dir = filepath.Join(dataDir, "logs")
		cfg.Stream = true
	case "false", "0":
	default:
		errs = append(errs, fmt.Errorf("BACKEND_LOGS=%q: want true or false", v))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// parseLevel parses one of the four level names, in any case.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("want debug, info, warn or error")
}
