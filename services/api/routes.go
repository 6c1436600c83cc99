package api

import "github.com/labstack/echo/v4"

// basePath prefixes every route of the API (after PATH_PREFIX), as in the
// original project.
const basePath = "/pedidos"

// routes registers every endpoint of the api, under the path prefix when
// one is set: the dashboard (web.go) and the API. Each handler of the API
// binds and validates its input, calls one method, and answers. Every POST
// changes something and requires the API key when one is set (see
// requireAPIKey).
func (s *server) routes(e *echo.Echo) {
	root := e.Group(s.cfg.PathPrefix)
	s.webRoutes(root)
	g := root.Group(basePath)
	key := s.requireAPIKey

	// Runs.
	g.GET("", s.getStatus)
	g.POST("/generate", s.generate, key)
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
	g.POST("/queue/retry-failed", s.retryFailed, key)
	g.POST("/queue/close", s.closeQueue, key)

	// Probes.
	g.GET("/health/live", s.live)
	g.GET("/health/ready", s.ready)
	g.GET("/health/queue", s.queueHealth)
}
