// Package opsserver serves the operational HTTP endpoints of a Pedidos
// service that has no HTTP API of its own (control, generator, processor):
// liveness (/health/live) and readiness (/health/ready) probes, on one
// listener, METRICS_ADDR, on which the service's Prometheus metrics
// (/metrics) are meant to be served too: Handle adds them. It also holds
// the client side of the probes, which a program's -healthcheck flag runs
// (see Flags), so that a container's HEALTHCHECK needs no shell and no curl.
//
//	ops, err := opsserver.Start(ctx, opsserver.Config{Addr: cfg.MetricsAddr, Logger: log})
//	if err != nil { … }
//	defer func() { _ = ops.Stop(context.WithoutCancel(ctx)) }()
//	… connect, wait for the topology …
//	ops.SetReady(opsserver.Check{Name: "nats", Check: natsConnected}, …)
//
// The package depends on the standard library only.
package opsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Paths of the probes.
const (
	// PathLive answers 200 while the process serves HTTP.
	PathLive = "/health/live"
	// PathReady answers 200 when every check passes, 503 otherwise, and
	// 503 while the service is starting (before SetReady).
	PathReady = "/health/ready"
)

// Status values of the probes' answers.
const (
	StatusOK          = "ok"
	StatusStarting    = "starting"
	StatusUnavailable = "unavailable"
)

// Timeouts of the server.
const (
	// CheckTimeout bounds each readiness check.
	CheckTimeout = 2 * time.Second
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 5 * time.Second
)

// Check is one readiness check: Check returns nil when the dependency
// Name names is usable.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config says where a Server listens.
type Config struct {
	// Addr is the listen address, e.g. ":9090" (METRICS_ADDR); "" serves
	// nothing.
	Addr string
	// Listener, when set, is served instead of Addr; tests pass one.
	Listener net.Listener
	// Logger receives the server's errors; nil discards them.
	Logger *slog.Logger
}

// Server serves the probes, and whatever Handle adds, on one listener.
// A Server started without an address serves nothing, and its methods
// still work.
type Server struct {
	mux    *http.ServeMux
	srv    *http.Server // nil when serving nothing
	ln     net.Listener
	checks atomic.Pointer[[]Check] // nil until SetReady
	done   chan struct{}           // closed when Serve returned
	stop   sync.Once
	err    error
}

// Readiness is the answer of PathReady: the status, and "ok" or what is
// wrong per check.
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Start listens on cfg.Addr (or serves cfg.Listener) and serves the probes
// in the background until Stop. It fails when the address cannot be
// listened on, so that a port clash stops the service at start-up.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux(), ln: cfg.Listener, done: make(chan struct{})}
	s.mux.HandleFunc("GET "+PathLive, s.live)
	s.mux.HandleFunc("GET "+PathReady, s.ready)
	if s.ln == nil && cfg.Addr == "" {
		close(s.done)
		return s, nil
	}
	if s.ln == nil {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("ops server: listening on %s: %w", cfg.Addr, err)
		}
		s.ln = ln
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops server stopped", slog.Any("addr", s.ln.Addr().String()), slog.Any("error", err))
		}
	}()
	return s, nil
}

// Addr is the address the server listens on, nil when it serves nothing.
func (s *Server) Addr() net.Addr {
	if s.srv == nil {
		return nil
	}
	return s.ln.Addr()
}

// Handle serves h for pattern (a net/http ServeMux pattern such as
// "GET /metrics") beside the probes. It may be called while serving.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// SetReady makes PathReady run checks, all at once, each bounded by
// CheckTimeout. Until it is first called the service is starting: a
// service calls it once its dependencies are connected and what it waits
// for at start-up (its stream, its consumer, its bucket) exists. With no
// check the service is ready from then on.
func (s *Server) SetReady(checks ...Check) {
	checks = append([]Check(nil), checks...)
	s.checks.Store(&checks)
}

// Stop stops serving: it closes the listener and waits, up to ctx's
// deadline, for the requests in flight. It is safe to call more than once;
// every call returns the first one's error.
func (s *Server) Stop(ctx context.Context) error {
	s.stop.Do(func() {
		if s.srv == nil {
			return
		}
		s.err = s.srv.Shutdown(ctx)
		<-s.done
	})
	return s.err
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Readiness{Status: StatusOK})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	checks := s.checks.Load()
	if checks == nil {
		writeJSON(w, http.StatusServiceUnavailable, Readiness{Status: StatusStarting})
		return
	}
	res := Readiness{Status: StatusOK, Checks: make(map[string]string, len(*checks))}
	results := runChecks(r.Context(), *checks)
	code := http.StatusOK
	for i, c := range *checks {
		res.Checks[c.Name] = StatusOK
		if err := results[i]; err != nil {
			res.Checks[c.Name] = err.Error()
			code, res.Status = http.StatusServiceUnavailable, StatusUnavailable
		}
	}
	writeJSON(w, code, res)
}

// runChecks runs checks at once, each bounded by CheckTimeout, and returns
// their results in order.
func runChecks(ctx context.Context, checks []Check) []error {
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			results[i] = c.Check(ctx)
		})
	}
	wg.Wait()
	return results
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
