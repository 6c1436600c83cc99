// Command pedidos-processor runs the processor service of Pedidos on its own, as in a
// container. Configuration comes from the environment; see the README. With
// METRICS_ADDR set it serves its health probes there, and
// `pedidos-processor -healthcheck`, run with the same environment (a container's
// HEALTHCHECK), exits 0 when the running service is ready, 1 when not.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/services/processor"
)

func main() {
	if done, code := opsserver.Flags(context.Background(), os.Args, os.Getenv, os.Stderr, healthURL); done {
		os.Exit(code)
	}
	logs.Main("processor", configure)
}

// healthURL is the readiness URL of the service that getenv configures.
func healthURL(getenv func(string) string) (string, error) {
	cfg, err := processor.ConfigFromEnv(getenv)
	if err != nil {
		return "", err
	}
	return opsserver.ReadyURL(cfg.MetricsAddr)
}

// configure reads the configuration from getenv and returns the service,
// which runs until ctx is cancelled.
func configure(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
	cfg, err := processor.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, log *slog.Logger) error {
		cfg.Logger = log
		log.LogAttrs(ctx, slog.LevelInfo, "starting", slog.String("service", "processor"), slog.Any("config", cfg))
		return processor.Run(ctx, cfg)
	}, nil
}
