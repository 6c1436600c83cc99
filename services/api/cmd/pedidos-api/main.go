// Command pedidos-api serves the HTTP API of Pedidos. It is configured from
// the environment (see api.ConfigFromEnv); LOG_FORMAT (text or json; by
// default text on a terminal, json otherwise), LOG_LEVEL (debug, info,
// warn, error; default info) and BACKEND_LOGS (default true: log files
// under DATA_DIR/logs) shape its logs (see infra/logs.FromEnv).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/infra/logs"
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

// run reads the configuration from getenv, logs to stdout (and the log
// files), and serves until ctx is cancelled.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) (err error) {
	logCfg, err := logs.FromEnv(getenv, "api")
	if err != nil {
		return err
	}
	cfg, err := api.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	logger, logFiles, err := logs.New(logCfg, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, logFiles.Close()) }()
	cfg.Logger = logger
	// go-redis logs through a process-wide logger, to stderr by default.
	// What it says (mostly dial failures) the api reports already, as
	// readiness and as request errors: keep it at debug level.
	redis.SetLogger(redisLogger{logger})
	logger.LogAttrs(ctx, slog.LevelInfo, "starting pedidos-api", slog.Any("config", cfg))
	return api.Run(ctx, cfg)
}

// redisLogger is the go-redis logger, writing to slog at debug level.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.logger.Enabled(ctx, slog.LevelDebug) {
		l.logger.LogAttrs(ctx, slog.LevelDebug, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
	}
}
