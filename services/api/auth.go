package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"
)

// headerAPIKey carries the API key of a mutating request.
const headerAPIKey = "X-API-Key"

// errBadAPIKey answers a mutating request without the right key.
var errBadAPIKey = echo.NewHTTPError(http.StatusUnauthorized, "missing or wrong "+headerAPIKey+" header")

// requireAPIKey guards the mutating endpoints (every POST). When API_KEY is
// set, a request must carry it in the X-API-Key header, else it gets a 401
// before anything else is looked at; without API_KEY it lets everything
// through. Reads (GET, HEAD) stay open, so that a dashboard can watch
// without the key, and CORS preflights are answered before routing.
//
// The key and the header are compared as SHA-256 digests in constant time,
// so that the time taken says nothing about the key, not even its length.
func (s *server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.APIKey == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.APIKey))
	return func(c echo.Context) error {
		got := sha256.Sum256([]byte(c.Request().Header.Get(headerAPIKey)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return errBadAPIKey
		}
		return next(c)
	}
}
