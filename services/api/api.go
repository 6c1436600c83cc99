// Package api is the HTTP service of Pedidos. It serves the dashboard at /
// (the static files of package web, see web.go) and the API under /pedidos
// (routes.go lists it), both under PATH_PREFIX when one is set. The API
// starts, cancels and resets runs, and pauses, resumes, cleans and retries
// the queue, by asking the control service over NATS; it reports the
// current run from the run state in the JetStream KV bucket and the
// counters in Redis, the queue from its Bull 4 view in Redis, the history
// of runs from MongoDB and the services' log lines from the LOGS stream; and
// it streams phases, progress and logged warnings as server-sent events,
// and, for the original project's clients, as socket.io events (package
// socketio, fed by the same hub) at PATH_PREFIX/socket.io/. The original's
// extra views, GET /orders and GET /diagnostics/queue, and its probes sit
// beside /pedidos, as there.
//
// Every query parameter is validated (type, range, allowed values, given
// at most once) before anything is touched; unknown ones are ignored.
// Errors have one JSON shape, {"statusCode","message","error"}, and
// statuses mean what they say: 400 bad input, 401 no API key, 404, 405,
// 409 refused by the state of the run, 410 deprecated, 503 a dependency
// down.
//
// The api owns no state: the control service creates the KV bucket and the
// CONTROL stream, possibly after the api started, and the api waits for
// them in the background while it answers (phase IDLE, not ready).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/infra/redisstate"
)

// Timeouts of the service's lifecycle.
const (
	// shutdownTimeout bounds the wait for in-flight requests at shutdown.
	shutdownTimeout = 10 * time.Second
	// closeTimeout bounds closing the store connections.
	closeTimeout = 5 * time.Second
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 10 * time.Second
)

// clientName names the api's connections in the servers' client lists.
const clientName = "pedidos-api"

// Run serves the api until ctx is cancelled, then shuts down in two steps:
// it stops taking requests (ending event streams) and waits for those in
// flight, then stops its background work and closes its connections. It
// returns nil after a clean shutdown and an error if it cannot start.
//
// The store clients connect lazily and reconnect forever: a server that is
// down makes the api not ready (GET /pedidos/health/ready), not fail.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	logger := cfg.Logger
	ln := cfg.Listener
	if ln == nil {
		var err error
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			return fmt.Errorf("listening on port %d: %w", cfg.Port, err)
		}
	}
	st, err := connect(ctx, cfg)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	s, err := newServer(cfg, st) //nolint:contextcheck // its middleware logs with each request's context, not Run's
	if err != nil {
		return errors.Join(err, st.close(ctx), ln.Close())
	}
	var unused unusedConns
	httpServer := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnState:         unused.track,
	}
	// http.Server.Shutdown does not cancel requests; event streams and
	// socket.io long polls would hold it until its timeout, and it does not
	// see websockets at all.
	httpServer.RegisterOnShutdown(s.hub.Close)
	httpServer.RegisterOnShutdown(s.sockets.Close)

	// Background work outlives ctx until the HTTP server has stopped.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Go(func() { s.cache.follow(workCtx, st.js) })
	wg.Go(func() { s.hub.Run(workCtx) })
	wg.Go(func() { s.sockets.Run(workCtx) })
	wg.Go(func() { s.counters.refresh(workCtx, s.stores.state, s.cache) })

	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- httpServer.Serve(ln) })
	logger.LogAttrs(ctx, slog.LevelInfo, "api listening", slog.String("addr", ln.Addr().String()))

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serving http: %w", err)
	}

	// Step 1: stop taking requests; wait for those in flight.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutDown := make(chan struct{})
	wg.Go(func() { unused.closeAfterGrace(shutDown) })
	serr := httpServer.Shutdown(sctx)
	close(shutDown)
	if serr != nil {
		logger.LogAttrs(ctx, slog.LevelWarn, "http shutdown timed out; closing connections", slog.Any("error", serr))
		_ = httpServer.Close() // its error is the listener's, already closed
	}
	// Step 2: disconnect the socket.io clients whose handshake was in
	// flight when it began, stop the background work, then close the
	// connections.
	s.sockets.Close()
	stopWork()
	wg.Wait()
	cctx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancelClose()
	if cerr := st.close(cctx); cerr != nil {
		logger.LogAttrs(ctx, slog.LevelWarn, "closing connections", slog.Any("error", cerr))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "api stopped")
	return err
}

// stores are the api's connections.
type stores struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	mongo *mongo.Client
	// redis (through state) reads the run counters; queue reads the Bull
	// view, and is the connection POST /pedidos/queue/close closes.
	redis *redis.Client
	state *redisstate.Store
	queue *queueConn
}

// connect creates the clients of NATS, MongoDB and Redis. None of them
// waits for its server: they connect in the background and reconnect.
func connect(ctx context.Context, cfg Config) (*stores, error) {
	logger := cfg.Logger
	nc, err := nats.Connect(cfg.NATSURL,
		nats.Name(clientName),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.LogAttrs(ctx, slog.LevelInfo, "nats connected", slog.String("url", redactURL(nc.ConnectedUrl())))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.LogAttrs(ctx, slog.LevelWarn, "nats disconnected", slog.Any("error", err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.LogAttrs(ctx, slog.LevelInfo, "nats reconnected", slog.String("url", redactURL(nc.ConnectedUrl())))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(cfg.MongoURI).SetAppName(clientName))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("creating mongodb client: %w", err)
	}
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil { // ConfigFromEnv checked it; a Config built by hand may not be
		nc.Close()
		return nil, errors.Join(fmt.Errorf("parsing redis url: %w", err), mc.Disconnect(ctx))
	}
	ropts.ClientName = clientName
	qopts := *ropts
	qopts.ClientName = clientName + "-queue"
	rdb := redis.NewClient(ropts)
	return &stores{nc: nc, js: js, mongo: mc, redis: rdb, state: redisstate.New(rdb, redisstate.Options{}),
		queue: newQueueConn(&qopts)}, nil
}

// close closes every connection.
func (s *stores) close(ctx context.Context) error {
	s.nc.Close()
	return errors.Join(
		s.redis.Close(),
		s.queue.close(),
		s.mongo.Disconnect(ctx),
	)
}
