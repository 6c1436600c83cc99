// Command pedidos-api serves the HTTP API of Pedidos. It is configured from
// the environment (see api.ConfigFromEnv); LOG_FORMAT (text or json; by
// default text on a terminal, json otherwise), LOG_LEVEL (debug, info,
// warn, error; default info) and BACKEND_LOGS (default true: log files
// under DATA_DIR/logs) shape its logs (see infra/logs.FromEnv).
// `pedidos-api -healthcheck`, run with the same environment (a container's
// HEALTHCHECK), asks the running api's GET /pedidos/health/ready on PORT
// and exits 0 when it is ready, 1 when not.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/services/api"
)

func main() {
	if done, code := opsserver.Flags(context.Background(), os.Args, os.Getenv, os.Stderr, healthURL); done {
		os.Exit(code)
	}
	logs.Main("api", configure)
}

// healthURL is the readiness URL of the api that getenv configures.
func healthURL(getenv func(string) string) (string, error) {
	cfg, err := api.ConfigFromEnv(getenv)
	if err != nil {
		return "", err
	}
	return opsserver.ProbeURL(":"+strconv.Itoa(cfg.Port), cfg.ReadyPath())
}

// run is the program with its environment and stdout given.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return logs.Run(ctx, "api", getenv, stdout, configure)
}

// configure reads the configuration from getenv and returns the api, which
// serves until ctx is cancelled.
func configure(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
	cfg, err := api.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, logger *slog.Logger) error {
		cfg.Logger = logger
		// go-redis logs through a process-wide logger, to stderr by
		// default. What it says (mostly dial failures) the api reports
		// already, as readiness and as request errors: keep it at debug
		// level.
		redis.SetLogger(redisLogger{logger})
		logger.LogAttrs(ctx, slog.LevelInfo, "starting pedidos-api", slog.Any("config", cfg))
		return api.Run(ctx, cfg)
	}, nil
}

// redisLogger is the go-redis logger, writing to slog at debug level.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.logger.Enabled(ctx, slog.LevelDebug) {
		l.logger.LogAttrs(ctx, slog.LevelDebug, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
	}
}
