// Command pedidos-processor runs the processor service of Pedidos on its own, as in a
// container. Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/processor"
)

func main() { logs.Main("processor", configure) }

// configure reads the configuration from getenv and returns the service,
// which runs until ctx is cancelled.
func configure(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
	cfg, err := processor.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, log *slog.Logger) error {
		cfg.Logger = log
		log.Info("starting", "service", "processor", "config", cfg)
		return processor.Run(ctx, cfg)
	}, nil
}
