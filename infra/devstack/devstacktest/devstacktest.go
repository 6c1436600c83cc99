// Package devstacktest starts the embedded dev stack for a test: NATS with
// JetStream, FerretDB and Redis on random loopback ports, with their data in
// the test's temporary directory, stopped when the test ends.
//
//	func TestSomething(t *testing.T) {
//		stack := devstacktest.Start(t)
//		nc, err := nats.Connect(stack.NATSURL)
//		...
//	}
//
// Redis is redis-server when it is on PATH (CI installs it), else the
// in-process miniredis; the test log says which. StartNATSCluster starts a
// three-node JetStream cluster instead, for replicated streams.
package devstacktest

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pedidos/pedidos/infra/devstack"
)

// Start starts a full embedded stack for one test on random ports with data
// in t.TempDir(), and stops it in t.Cleanup. It fails the test if the stack
// does not start.
func Start(t testing.TB) *devstack.Stack {
	t.Helper()
	return StartWith(t, devstack.Config{})
}

// StartWith is Start with a Config whose Dir and ports default as above:
// an empty Dir becomes t.TempDir() and zero ports are random. A nil Logger
// becomes one that writes warnings and errors to the test log.
func StartWith(t testing.TB, cfg devstack.Config) *devstack.Stack {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Logger == nil {
		w := &testWriter{t: t}
		t.Cleanup(w.close) // registered first, so it runs after Close below
		cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	stack, err := devstack.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("starting the dev stack: %v", err)
	}
	t.Cleanup(func() {
		if err := stack.Close(); err != nil {
			t.Errorf("stopping the dev stack: %v", err)
		}
	})
	for _, s := range stack.Servers() {
		switch {
		case s.Name != "redis":
		case s.Kind == devstack.KindChild:
			t.Logf("devstack: redis is redis-server (pid %d) at %s", s.PID, s.URL)
		case cfg.Redis == devstack.RedisMiniredis:
			t.Logf("devstack: redis is the in-process miniredis at %s, as the config asks", s.URL)
		default:
			t.Logf("devstack: redis is the in-process miniredis at %s: redis-server is not on PATH", s.URL)
		}
	}
	return stack
}

// testWriter writes log lines to the test log until close: the testing
// package panics on a log call once the test is over, and a server's
// goroutine may still log while it stops.
type testWriter struct {
	t testing.TB

	mu     sync.Mutex
	closed bool
}

var _ io.Writer = (*testWriter)(nil)

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// StartNATSCluster starts a JetStream cluster of nodes nats-servers (0:
// devstack.DefaultClusterNodes) routed to each other on loopback, with
// their data in t.TempDir(), and stops it in t.Cleanup. Its warnings and
// errors go to the test log. It fails the test if the cluster does not
// start.
func StartNATSCluster(t testing.TB, nodes int) *devstack.NATSCluster {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs after Close below
	c, err := devstack.StartNATSCluster(t.Context(), devstack.NATSClusterConfig{
		Dir:    t.TempDir(),
		Nodes:  nodes,
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("starting the nats cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("stopping the nats cluster: %v", err)
		}
	})
	return c
}
