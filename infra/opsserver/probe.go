package opsserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProbeTimeout bounds a probe by Flags' -healthcheck: less than the 5 s
// HEALTHCHECK timeout of the images.
const ProbeTimeout = 4 * time.Second

// ProbeURL is the http URL of path on the server listening on addr, as a
// probe from the same host or container reaches it: a listen address with
// no host or a wildcard host (":9090", "0.0.0.0:9090", "[::]:9090") is
// probed on 127.0.0.1.
func ProbeURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("listen address %q: no port to probe", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// ReadyURL is the readiness URL of a service whose ops server listens on
// metricsAddr (METRICS_ADDR), for its -healthcheck. An empty address is an
// error: that service serves no probe.
func ReadyURL(metricsAddr string) (string, error) {
	if metricsAddr == "" {
		return "", errors.New("METRICS_ADDR is not set, so the service serves no health endpoint")
	}
	return ProbeURL(metricsAddr, PathReady)
}

// CheckAddr checks a listen address such as METRICS_ADDR: host:port, the
// host possibly empty, the port a number in [0, 65535].
func CheckAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("want host:port, e.g. :9090 (%w)", err)
	}
	return nil
}

// Probe GETs url and returns nil when it answers 200 OK, else an error that
// says what it answered (the start of its body) or why it did not.
func Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// A URLFunc returns the URL that a program's -healthcheck probes, read
// from its configuration in getenv: the same environment the running
// service was started with, as a container's HEALTHCHECK runs with it.
type URLFunc func(getenv func(string) string) (string, error)

// Flags handles the command line of a service program before it runs the
// service. With no argument it returns done false, and the program goes
// on. With -healthcheck it probes the URL that url reads from getenv, for
// at most ProbeTimeout, and returns done true with the exit status: 0 when
// the service is ready, 1 when not (and why, on stderr). Anything else
// prints the usage to stderr and returns status 2.
//
//	func main() {
//		if done, code := opsserver.Flags(context.Background(), os.Args, os.Getenv, os.Stderr, healthURL); done {
//			os.Exit(code)
//		}
//		…
//	}
func Flags(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, url URLFunc) (done bool, code int) {
	name := "program"
	if len(args) > 0 {
		name, args = filepath.Base(args[0]), args[1:]
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	healthcheck := fs.Bool("healthcheck", false,
		"probe the readiness of the service running with this environment, then exit: 0 ready, 1 not")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [-healthcheck]\n\nIt is configured from the environment (see the README).\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, 0
		}
		return true, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		fs.Usage()
		return true, 2
	}
	if !*healthcheck {
		return false, 0
	}
	u, err := url(getenv)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		defer cancel()
		err = Probe(ctx, u)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: not healthy: %v\n", name, err)
		return true, 1
	}
	return true, 0
}
