// Command pedidos-generator runs the generator service of Pedidos on its own, as in a
// container. Configuration comes from the environment; see the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/generator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pedidos-generator:", err)
		os.Exit(1)
	}
}

// run reads the configuration from getenv, logs to stdout (and the log
// files), and runs the service until ctx is cancelled.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) (err error) {
	logCfg, err := logs.FromEnv(getenv, "generator")
	if err != nil {
		return err
	}
	cfg, err := generator.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	log, logFiles, err := logs.New(logCfg, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, logFiles.Close()) }()
	cfg.Logger = log
	log.Info("starting", "service", "generator", "config", cfg)
	return generator.Run(ctx, cfg)
}
