package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/infra/metrics"
)

// basePath prefixes every route of the API (after PATH_PREFIX), as in the
// original project.
const basePath = "/pedidos"

// routes registers every endpoint of the api, under the path prefix when
// one is set: the dashboard (web.go) and the API. Each handler of the API
// binds and validates its input, calls one method, and answers. Every POST
// changes something and requires the API key when one is set (see
// requireAPIKey), and so does GET /pedidos/generate, the original's other
// way to start a run.
func (s *server) routes(e *echo.Echo) {
	root := e.Group(s.cfg.PathPrefix)
	s.webRoutes(root)
	// The original's socket.io gateway (long-polling GET and POST, and
	// the websocket upgrade), beside the API rather than under it.
	root.Match([]string{http.MethodGet, http.MethodPost}, socketIOPath, s.serveSocketIO)
	// The original's status "contract v2", queue snapshot and probes,
	// also beside the API (the probes are under /pedidos too).
	root.GET("/orders", s.getOrders)
	root.GET("/diagnostics/queue", s.getQueueDiagnostics)
	root.GET("/health/live", s.live)
	root.GET("/health/ready", s.ready)
	// Prometheus's, and the original's, metrics.
	root.GET(metrics.Path, echo.WrapHandler(metrics.Handler(s.metrics)))
	g := root.Group(basePath)
	key := s.requireAPIKey

	// Runs.
	g.GET("", s.getStatus)
	g.POST("/generate", s.generate, key)
	g.GET("/generate", s.generate, key) // the original's; it starts a run, so it needs the key
	g.POST("/cancel", s.cancel, key)
	g.POST("/reset", s.reset, key)
	g.GET("/runs", s.getRuns)
	g.GET("/events", s.streamEvents)
	g.GET("/logs", s.getLogs)
	g.POST("/process", s.process, key)

	// The queue.
	g.GET("/queue/status", s.getQueueStatus)
	g.GET("/queue/jobs", s.getQueueJobs)
	g.POST("/queue/pause", s.pauseQueue, key)
	g.POST("/queue/resume", s.resumeQueue, key)
	g.POST("/queue/clean", s.cleanQueue, key)
	g.POST("/queue/purge", s.purgeQueue, key)
	g.POST("/queue/recover-stuck", s.recoverStuck, key)
	g.POST("/queue/retry-failed", s.retryFailed, key)
	g.POST("/queue/close", s.closeQueue, key)

	// Probes.
	g.GET("/health/live", s.live)
	g.GET("/health/ready", s.ready)
	g.GET("/health/queue", s.queueHealth)
}
