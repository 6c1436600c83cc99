// Command pedidos-control runs the control service of Pedidos on its own, as in a
// container. Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/control"
)

func main() { logs.Main("control", configure) }

// configure reads the configuration from getenv and returns the service,
// which runs until ctx is cancelled.
func configure(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
	cfg, err := control.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, log *slog.Logger) error {
		cfg.Logger = log
		log.Info("starting", "service", "control", "config", cfg)
		return control.Run(ctx, cfg)
	}, nil
}
