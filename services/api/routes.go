package api

import "github.com/labstack/echo/v4"

// basePath prefixes every route, as in the original project.
const basePath = "/pedidos"

// routes registers every endpoint of the api. Each handler binds and
// validates its input, calls one method, and answers.
func (s *server) routes(e *echo.Echo) {
	g := e.Group(basePath)

	// Runs.
	g.GET("", s.getStatus)
	g.POST("/generate", s.generate)
	g.GET("/events", s.streamEvents)

	// Probes.
	g.GET("/health/live", s.live)
	g.GET("/health/ready", s.ready)
}
