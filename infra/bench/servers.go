package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Server names, as pedidos-devstack -only takes them.
const (
	serverNATS  = "nats"
	serverMongo = "mongo"
	serverRedis = "redis"
)

// Redis servers, as pedidos-devstack -redis takes them.
const (
	redisServer = "redis-server"
	miniredis   = "miniredis"
)

// Timeouts of the servers' processes.
const (
	serverStartTimeout = 2 * time.Minute
	serverStopGrace    = 30 * time.Second
)

// serverSet is the NATS, MongoDB and Redis of one measurement: each either
// started fresh by pedidos-devstack in a process of its own, or given on the
// command line.
type serverSet struct {
	urls map[string]string
	// pids are the processes to sample, by server name; a server given on
	// the command line has none.
	pids map[string]int
	// mongoDir is the data directory of an embedded MongoDB, else "".
	mongoDir string
	procs    []*child
}

// devstackReady is the line pedidos-devstack prints once it serves.
type devstackReady struct {
	Servers []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		URL  string `json:"url"`
		PID  int    `json:"pid"`
	} `json:"servers"`
}

// startServers starts, under dir, a pedidos-devstack process for each of
// names whose URL was not given, in parallel, and waits until they serve.
// Redis is redis-server, unless redis names another mode of
// pedidos-devstack -redis.
func (h *harness) startServers(ctx context.Context, dir, redis string, names ...string) (*serverSet, error) {
	s := &serverSet{urls: map[string]string{}, pids: map[string]int{}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, name := range names {
		if url := h.given[name]; url != "" {
			s.urls[name] = url
			continue
		}
		if name == serverMongo {
			s.mongoDir = filepath.Join(dir, serverMongo)
		}
		wg.Go(func() {
			c, url, pid, err := h.startServer(ctx, dir, name, redis)
			mu.Lock()
			defer mu.Unlock()
			if c != nil {
				s.procs = append(s.procs, c)
			}
			if err != nil {
				errs = append(errs, err)
				return
			}
			s.urls[name], s.pids[name] = url, pid
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// startServer starts one pedidos-devstack -only name and returns the
// process, the server's URL and the pid serving it. On error the process,
// if any, is returned too, to be stopped.
func (h *harness) startServer(ctx context.Context, dir, name, redis string) (*child, string, int, error) {
	if redis == "" {
		redis = redisServer
	}
	c, err := startChild(childSpec{
		name:       "pedidos-devstack " + name,
		path:       h.bins.devstack,
		args:       []string{"-only", name, "-dir", dir, "-redis", redis},
		logPath:    filepath.Join(dir, "devstack-"+name+".log"),
		readStdout: true,
	})
	if err != nil {
		return nil, "", 0, err
	}
	line, err := c.readLine(ctx, serverStartTimeout)
	if err != nil {
		return c, "", 0, fmt.Errorf("starting %s: %w", name, err)
	}
	var ready devstackReady
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		return c, "", 0, fmt.Errorf("starting %s: ready line %q: %w", name, line, err)
	}
	for _, srv := range ready.Servers {
		if srv.Name == name {
			h.log.DebugContext(ctx, "server ready", slog.Any("server", name), slog.Any("kind", srv.Kind), slog.Any("url", srv.URL), slog.Any("pid", srv.PID))
			return c, srv.URL, srv.PID, nil
		}
	}
	return c, "", 0, fmt.Errorf("starting %s: ready line %q does not name it", name, line)
}

// stop stops every server process, in parallel.
func (s *serverSet) stop() error {
	errs := make([]error, len(s.procs))
	var wg sync.WaitGroup
	for i, c := range s.procs {
		wg.Go(func() { errs[i] = c.stop(serverStopGrace) })
	}
	wg.Wait()
	s.procs = nil
	return errors.Join(errs...)
}
