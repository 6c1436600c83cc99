// Command pedidos-control runs the control service of Pedidos on its own, as in a
// container. Configuration comes from the environment; see the README.
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

	"github.com/pedidos/pedidos/services/control"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pedidos-control:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	log, err := newLogger(getenv("LOG_FORMAT"), getenv("LOG_LEVEL"), stdout)
	if err != nil {
		return err
	}
	cfg, err := control.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	cfg.Logger = log
	log.Info("starting", "service", "control", "config", cfg)
	return control.Run(ctx, cfg)
}

// newLogger returns a colourful logger for a terminal (LOG_FORMAT=text, the
// default) or a JSON one (LOG_FORMAT=json).
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", level)
		}
	}
	switch format {
	case "", "text":
		f, ok := w.(*os.File)
		tty := false
		if ok {
			fi, err := f.Stat()
			tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
		}
		return slog.New(tint.NewTextHandler(w, &tint.Options{Level: lvl, TimeFormat: time.TimeOnly, NoColor: !tty})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	}
	return nil, fmt.Errorf("LOG_FORMAT=%q: want text or json", format)
}
