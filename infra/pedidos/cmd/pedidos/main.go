// Command pedidos runs the whole of Pedidos in one process, as `make run`
// does: the four services and, for each of NATS_URL, MONGO_URI and REDIS_URL
// that is unset, the embedded server that stands in for it, on its usual
// loopback port with its data under DATA_DIR (see package pedidos).
// `pedidos -healthcheck`, run with the same environment (a container's
// HEALTHCHECK), asks the api's GET /pedidos/health/ready on PORT and exits 0
// when it is ready, 1 when not.
package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/infra/pedidos"
	"github.com/pedidos/pedidos/services/api"
)

func main() {
	if done, code := opsserver.Flags(context.Background(), os.Args, os.Getenv, os.Stderr, healthURL); done {
		os.Exit(code)
	}
	// The services' configuration depends on the embedded servers' URLs:
	// pedidos.Run reads and checks it once they run.
	logs.Main("pedidos", func(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
		return func(ctx context.Context, log *slog.Logger) error {
			if procs, changed := oversubscribe(getenv); changed {
				log.Info("GOMAXPROCS doubled, so that API requests do not wait behind batch work (set GOMAXPROCS to choose)",
					slog.Int("gomaxprocs", procs))
			}
			if addr := getenv("PPROF_ADDR"); addr != "" {
				stop, err := servePprof(ctx, addr, log)
				if err != nil {
					return err
				}
				defer stop()
			}
			return pedidos.Run(ctx, getenv, log)
		}, nil
	})
}

// healthURL is the readiness URL of the api that getenv configures: the
// api's readiness covers NATS, MongoDB and Redis, embedded or not.
func healthURL(getenv func(string) string) (string, error) {
	cfg, err := api.ConfigFromEnv(getenv)
	if err != nil {
		return "", err
	}
	return opsserver.ProbeURL(":"+strconv.Itoa(cfg.Port), cfg.ReadyPath())
}
