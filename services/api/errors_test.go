package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanicAnswers500(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s := &server{cfg: Config{}.withDefaults(), logger: slog.New(slog.NewJSONHandler(&logs, nil)), meters: testMeters()}
	e := s.newEcho()
	e.GET("/boom", func(echo.Context) error { panic("kaboom: secret detail") })

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/boom", nil))
	want := `{"statusCode":500,"message":"internal server error","error":"Internal Server Error"}`
	if rec.Code != http.StatusInternalServerError || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("panic answered %d %s, want 500 %s", rec.Code, rec.Body, want)
	}
	out := logs.String()
	for _, w := range []string{"panic in handler", "kaboom: secret detail", "errors_test.go"} {
		if !strings.Contains(out, w) {
			t.Errorf("log %s lacks %q", out, w)
		}
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("logged %d lines, want the panic once:\n%s", n, out)
	}
}

func TestHeadErrorHasNoBody(t *testing.T) {
	t.Parallel()
	s := &server{cfg: Config{}.withDefaults(), logger: slog.New(slog.DiscardHandler), meters: testMeters()}
	e := s.newEcho()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/nope", nil))
	if rec.Code != http.StatusNotFound || rec.Body.Len() != 0 {
		t.Errorf("HEAD /nope = %d %q, want 404 without a body", rec.Code, rec.Body)
	}
}

// testMeters are the api's metrics in a registry of their own, for a
// server built by hand.
func testMeters() *httpMeters {
	none := func() int { return 0 }
	return newMeters(prometheus.NewRegistry(), none, none)
}
