package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/metrics"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pedidos/pedidos/services/api/socketio"
	"github.com/pedidos/pedidos/services/api/sse"
	"github.com/pedidos/pedidos/services/api/web"
)

// server holds what the handlers share. Handlers are its methods; routes.go
// lists them.
type server struct {
	cfg    Config
	logger *slog.Logger
	stores *stores
	cache  *runCache
	hub    *sse.Hub
	// sockets serves the hub's events to socket.io clients.
	sockets *socketio.Server
	echo    *echo.Echo
	// assets are the dashboard's files, by path (see web.go).
	assets map[string]*asset
	// stall tells whether the current run is stuck.
	stall stallWatch
	// counters caches the current run's counters (see countersFresh).
	counters counterCache
	// aborting counts the cancels and forced resets in flight.
	aborting atomic.Int32
	// forcing holds a token while a forced generate runs (see
	// forceGenerate).
	forcing chan struct{}
	// logBook holds the services' last log lines; nil when logs are off.
	logBook *logs.Book
	// metrics is the process's registry, meters the api's metrics in it.
	metrics *prometheus.Registry
	meters  *httpMeters
}

func newServer(cfg Config, st *stores) (*server, error) {
	assets, err := loadAssets(web.FS)
	if err != nil {
		return nil, err
	}
	s := &server{
		assets:  assets,
		cfg:     cfg,
		logger:  cfg.Logger,
		stores:  st,
		cache:   newRunCache(cfg.Logger),
		forcing: make(chan struct{}, 1),
	}
	if cfg.Logs {
		s.logBook = logs.NewBook(st.js, maxLogLines)
	}
	s.hub = sse.NewHub(sse.Config{
		JetStream: st.js,
		Active:    s.runActive,
		Progress:  s.progress,
		Logs:      s.logBook,
		Logger:    cfg.Logger,
	})
	s.sockets = socketio.New(socketio.Config{Hub: s.hub, Status: s.progress, Logger: cfg.Logger})
	s.metrics = metrics.Or(cfg.Metrics)
	s.meters = newMeters(s.metrics, s.hub.Clients, s.sockets.Clients)
	s.echo = s.newEcho()
	return s, nil
}

// newEcho returns the router with its middleware and routes.
func (s *server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// /pedidos/ is /pedidos; the dashboard's page is PathPrefix + "/".
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{
		Skipper: func(c echo.Context) bool { return c.Request().URL.Path == s.dashboardPath() },
	}))
	e.Use(
		s.meters.middleware,
		s.logRequests(),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			StackSize:       8 << 10,
			DisableStackAll: true,
			LogErrorFunc:    s.logPanic,
		}),
		middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: s.cfg.CORSOrigins,
			AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
			AllowHeaders: []string{"Content-Type", "Last-Event-ID", "X-API-Key"},
			MaxAge:       int((10 * time.Minute).Seconds()),
		}),
		strictQuery,
	)
	s.routes(e)
	return e
}

// logRequests logs every request at debug level; it costs nothing when
// debug is off.
func (s *server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		Skipper: func(c echo.Context) bool {
			return !s.logger.Enabled(c.Request().Context(), slog.LevelDebug)
		},
		LogMethod:   true,
		LogURI:      true,
		LogStatus:   true,
		LogLatency:  true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.logger.LogAttrs(c.Request().Context(), slog.LevelDebug, "http request",
				slog.String("method", v.Method), slog.String("uri", v.URI),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency))
			return nil
		},
	})
}

// logPanic logs a recovered panic with its stack; the error handler then
// answers 500.
func (s *server) logPanic(c echo.Context, err error, stack []byte) error {
	r := c.Request()
	s.logger.LogAttrs(r.Context(), slog.LevelError, "panic in handler",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Any("error", err), slog.String("stack", string(stack)))
	return errPanic
}

// strictQuery refuses a request whose query string does not parse, on
// every route, before its handler runs: a pair url.URL.Query would drop
// silently may have been meant. Unknown parameters are the handlers' to
// ignore. A path no route matches stays a 404.
func strictQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() != "" && c.Request().URL.RawQuery != "" {
			if _, err := parseQuery(c.Request().URL.RawQuery); err != nil {
				return badRequest(err.Error())
			}
		}
		return next(c)
	}
}
