package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds the wait for NATS when ctx has no deadline.
const natsReadyTimeout = 10 * time.Second

// startNATS runs nats-server in-process with JetStream stored under
// cfg.Dir/nats, and waits until it accepts clients.
func startNATS(ctx context.Context, cfg Config) (embedded, error) {
	if err := checkPort(ctx, "nats", cfg.Host, cfg.NATSPort, "NATS_URL", "nats", ""); err != nil {
		return embedded{}, err
	}
	port := cfg.NATSPort
	if port == 0 {
		port = server.RANDOM_PORT // 0 would mean the default, 4222
	}
	opts := &server.Options{
		ServerName: "pedidos-dev",
		Host:       cfg.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.Dir, "nats"),
		NoSigs:     true, // the embedding process owns its signals
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return embedded{}, fmt.Errorf("starting nats: %w", err)
	}
	// Always set a logger: without one nats-server is silent, and its
	// default logger exits the process on a fatal error.
	ns.SetLogger(natsLogger{cfg.Logger.With(slog.String("server", "nats"))}, false, false)
	ns.Start()

	wait := natsReadyTimeout
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}
	stop := func() error {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil
	}
	if !ns.ReadyForConnections(wait) {
		return embedded{}, errors.Join(
			fmt.Errorf("starting nats: not ready for connections after %s", wait.Round(time.Millisecond)),
			stop())
	}
	return embedded{
		Server: Server{Name: "nats", Kind: KindInProcess, URL: ns.ClientURL(), PID: os.Getpid()},
		stop:   stop,
	}, nil
}
