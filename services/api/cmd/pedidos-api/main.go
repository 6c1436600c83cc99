// Command pedidos-api serves the HTTP API of Pedidos. It is configured from
// the environment (see api.ConfigFromEnv); LOG_FORMAT (text or json; by
// default text on a terminal, json otherwise), LOG_LEVEL (debug, info,
// warn, error; default info) and BACKEND_LOGS (default true: log files
// under DATA_DIR/logs) shape its logs (see infra/logs.FromEnv).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api"
)

func main() { logs.Main("api", configure) }

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
