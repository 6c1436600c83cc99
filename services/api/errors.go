package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
)

// errorBody is the one shape of every error answer, as NestJS answers:
// {"statusCode":400,"message":"...","error":"Bad Request"}.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

// errPanic replaces a recovered panic, whose text is not for clients.
var errPanic = errors.New("panic in handler")

// handleError answers err with the error body. Handlers return
// *echo.HTTPError for their own refusals and *events.CommandError for the
// control service's; anything else is a 500, logged with its cause.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	r := c.Request()
	status, msg := http.StatusInternalServerError, "internal server error"
	var (
		he *echo.HTTPError
		ce *events.CommandError
	)
	switch {
	case errors.As(err, &ce):
		status, msg = commandStatus(ce), ce.Message
	case errors.As(err, &he):
		status, msg = he.Code, fmt.Sprint(he.Message)
		if he == echo.ErrNotFound || he == echo.ErrMethodNotAllowed { // the router's
			msg = fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)
		}
	}
	// A panic was logged where it was recovered; a closed queue is what an
	// operator asked for.
	if status >= http.StatusInternalServerError && !errors.Is(err, errPanic) && !errors.Is(err, errQueueClosed) {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Any("error", err))
	}
	var werr error
	if r.Method == http.MethodHead {
		werr = c.NoContent(status)
	} else {
		werr = c.JSON(status, errorBody{StatusCode: status, Message: msg, Error: statusText(status)})
	}
	if werr != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelDebug, "writing error answer", slog.Any("error", werr))
	}
}

// commandStatus is the HTTP status of a refusal of the control service.
func commandStatus(err *events.CommandError) int {
	switch {
	case errors.Is(err, events.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, events.ErrRunActive), errors.Is(err, events.ErrNoActiveRun):
		return http.StatusConflict
	case errors.Is(err, events.ErrBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, events.ErrInternal):
		return http.StatusInternalServerError
	}
	return http.StatusBadGateway // an answer the api does not understand
}

// statusText is http.StatusText, never empty.
func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// badRequest is a 400 with msg.
func badRequest(msg string) error {
	return echo.NewHTTPError(http.StatusBadRequest, msg)
}
