package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/services/api/socketio"
)

// socketIOPath is where the socket.io endpoint is served (after
// PATH_PREFIX), as socket.io clients look for it by default.
const socketIOPath = "/socket.io"

// errOriginRefused answers a socket.io request from an origin CORS_ORIGINS
// does not allow.
var errOriginRefused = echo.NewHTTPError(http.StatusForbidden, "origin not allowed (CORS_ORIGINS)")

// serveSocketIO handles PathPrefix/socket.io/: the original project's
// socket.io gateway, its events fed by the hub of GET /pedidos/events (see
// package socketio). Its CORS is the API's: the middleware answered the
// preflight and allowed the request's origin, or not. A request from an
// origin it did not allow is refused here, since a browser does not hold a
// websocket to CORS.
func (s *server) serveSocketIO(c echo.Context) error {
	r := c.Request()
	if r.Header.Get(echo.HeaderOrigin) != "" && c.Response().Header().Get(echo.HeaderAccessControlAllowOrigin) == "" {
		return errOriginRefused
	}
	err := s.sockets.Serve(c.Response(), r)
	var refused *socketio.RequestError
	switch {
	case errors.Is(err, socketio.ErrClosed):
		return echo.NewHTTPError(http.StatusServiceUnavailable, "shutting down")
	case errors.As(err, &refused):
		return echo.NewHTTPError(refused.Status, refused.Message)
	}
	return err
}
