package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// portInUseError says that a fixed port is taken, and how to use the server
// that holds it instead.
type portInUseError struct {
	server, host string
	port         int
	// env and url name the variable that points Pedidos at a running server.
	env, url string
	err      error
}

func (e *portInUseError) Error() string {
	return fmt.Sprintf("%s: port %d on %s is already in use; stop what uses it or point Pedidos at that server with %s=%s",
		e.server, e.port, e.host, e.env, e.url)
}

// Unwrap returns the listen error, so errors.Is(err, syscall.EADDRINUSE)
// holds.
func (e *portInUseError) Unwrap() error { return e.err }

// checkPort reports, for a fixed port, whether host:port can be listened on;
// a port in use is a *portInUseError. Port 0 (random) always can. The check leaves a short window in which
// another process may take the port; the server start then fails with its
// own error.
func checkPort(ctx context.Context, server, host string, port int, env, scheme, path string) error {
	if port == 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil && !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: checking port %d on %s: %w", server, port, host, err)
	}
	if err != nil {
		return &portInUseError{
			server: server, host: host, port: port,
			env: env, url: scheme + "://" + addr + path,
			err: err,
		}
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("%s: closing port check listener: %w", server, err)
	}
	return nil
}

// freePort returns a port on host that nothing listens on right now.
func freePort(ctx context.Context, host string) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	return port, nil
}
