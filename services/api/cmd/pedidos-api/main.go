// Command pedidos-api serves the HTTP API of Pedidos. It is configured from
// the environment (see api.ConfigFromEnv); LOG_FORMAT (text or json; by
// default text on a terminal, json otherwise) and LOG_LEVEL (debug, info,
// warn, error; default info) shape its logs.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/services/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pedidos-api:", err)
		os.Exit(1)
	}
}

// run reads the configuration from getenv, logs to stdout, and serves until
// ctx is cancelled.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	logger, err := newLogger(getenv, stdout)
	if err != nil {
		return err
	}
	cfg, err := api.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	// go-redis logs through a process-wide logger, to stderr by default.
	// What it says (mostly dial failures) the api reports already, as
	// readiness and as request errors: keep it at debug level.
	redis.SetLogger(redisLogger{logger})
	logger.LogAttrs(ctx, slog.LevelInfo, "starting pedidos-api", slog.Any("config", cfg))
	return api.Run(ctx, cfg)
}

// newLogger returns the logger LOG_FORMAT and LOG_LEVEL ask for.
func newLogger(getenv func(string) string, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("config: LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	format := getenv("LOG_FORMAT")
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(tint.NewTextHandler(w, &tint.Options{
			Level:      level,
			TimeFormat: time.TimeOnly,
			NoColor:    !isTerminal(w),
		})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
	return nil, fmt.Errorf("config: LOG_FORMAT=%q: want text or json", format)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// redisLogger is the go-redis logger, writing to slog at debug level.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.logger.Enabled(ctx, slog.LevelDebug) {
		l.logger.LogAttrs(ctx, slog.LevelDebug, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
	}
}
