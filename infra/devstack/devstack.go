// Package devstack starts, on loopback, the servers Pedidos needs when their
// URLs are not given: NATS with JetStream and a MongoDB-compatible server
// (FerretDB on SQLite) in-process, and Redis either as a redis-server child
// process or, when none is installed, as an in-process miniredis.
//
// It backs both the all-in-one binary of `make run` and the integration
// tests of the repository (see package devstacktest). StartNATSCluster
// starts a JetStream cluster of nats-servers routed on loopback instead of
// the single server, for tests of replicated streams. Data lives under
// Config.Dir, so a stack restarted on the same directory finds its JetStream
// messages, its documents and, with redis-server, its Redis keys again.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// startTimeout bounds how long Start waits for the servers to accept
// connections when its ctx has no earlier deadline.
const startTimeout = 30 * time.Second

// Config says which servers to start and where.
type Config struct {
	// Dir is the data directory; the servers store under Dir/nats,
	// Dir/mongo and Dir/redis. Required when any server is embedded.
	Dir string
	// Host is the listen host; "" means "127.0.0.1".
	Host string
	// NATSPort, MongoPort and RedisPort are the listen ports; 0 picks a
	// free random port (tests), make run passes 4222, 27017 and 6379.
	NATSPort, MongoPort, RedisPort int
	// NATSURL, MongoURI and RedisURL, when set, name a server that is
	// already running: it is not started and the URL is returned as is.
	NATSURL, MongoURI, RedisURL string
	// Redis says how Redis is embedded; see RedisMode.
	Redis RedisMode
	// Logger receives the stack's logs; nil discards them.
	Logger *slog.Logger
}

// RedisMode says which Redis implementation Start embeds.
type RedisMode string

// The Redis modes.
const (
	// RedisAuto runs redis-server from PATH if found, else miniredis.
	RedisAuto RedisMode = ""
	// RedisServer runs redis-server from PATH as a child process, with an
	// append-only file under Dir/redis; Start fails if it is not found.
	RedisServer RedisMode = "redis-server"
	// RedisMiniredis runs miniredis in-process: no persistence, slow Lua.
	RedisMiniredis RedisMode = "miniredis"
)

// Server kinds, as reported in Server.Kind.
const (
	// KindInProcess is a server running inside this process.
	KindInProcess = "in-process"
	// KindChild is a server running as a child process of this one.
	KindChild = "child"
)

// Server describes one server embedded by Start.
type Server struct {
	// Name is "nats", "mongo" or "redis".
	Name string
	// Kind is KindInProcess or KindChild.
	Kind string
	// URL is what clients connect to.
	URL string
	// PID is the process the server runs in: os.Getpid() for in-process
	// servers, the child's pid otherwise.
	PID int
}

// Stack is a set of running servers. Its URL fields are set whether a
// server was embedded or given in Config.
type Stack struct {
	NATSURL, MongoURI, RedisURL string

	servers []embedded

	closeOnce sync.Once
	closeErr  error
}

// embedded is a server Start started, with what stops it.
type embedded struct {
	Server
	stop func() error
}

// Start starts the servers whose URL cfg does not give, each on cfg.Host,
// and waits until each accepts connections, for at most 30 s. ctx bounds the
// start-up only: the servers run until Close. On error, Start stops what it
// started.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	return start(ctx, cfg, "nats", "mongo", "redis")
}

// StartRedis starts Redis only, as Start would; the Stack's other URLs are
// empty. It serves tests of code that needs nothing else.
func StartRedis(ctx context.Context, cfg Config) (*Stack, error) {
	cfg.NATSURL, cfg.MongoURI = "", ""
	return start(ctx, cfg, "redis")
}

// start starts the named servers whose URL cfg does not give.
func start(ctx context.Context, cfg Config, names ...string) (*Stack, error) {
	cfg, err := cfg.withDefaults(names)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	s := &Stack{NATSURL: cfg.NATSURL, MongoURI: cfg.MongoURI, RedisURL: cfg.RedisURL}
	steps := []struct {
		name  string
		url   *string
		start func(context.Context, Config) (embedded, error)
	}{
		{"nats", &s.NATSURL, startNATS},
		{"mongo", &s.MongoURI, startMongo},
		{"redis", &s.RedisURL, startRedis},
	}
	for _, step := range steps {
		if *step.url != "" || !slices.Contains(names, step.name) {
			continue
		}
		began := time.Now()
		srv, err := step.start(ctx, cfg)
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.servers = append(s.servers, srv)
		*step.url = srv.URL
		cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "embedded server started",
			slog.String("server", srv.Name), slog.String("kind", srv.Kind),
			slog.String("url", srv.URL), slog.Int("pid", srv.PID),
			slog.Duration("took", time.Since(began)))
	}
	return s, nil
}

// Close stops every server Start started, in reverse order. It is safe to
// call more than once and concurrently; later calls return the first
// call's result. Disconnect clients first: FerretDB gives connections still
// open up to 3 s to close before it returns.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, srv := range slices.Backward(s.servers) {
			if err := srv.stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping %s: %w", srv.Name, err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Servers returns the servers Start embedded, in start order. It is empty
// when Config gave every URL.
func (s *Stack) Servers() []Server {
	out := make([]Server, len(s.servers))
	for i, srv := range s.servers {
		out[i] = srv.Server
	}
	return out
}

// withDefaults validates c and fills in its defaults. It creates the data
// directories of the named servers it is to embed.
func (c Config) withDefaults(names []string) (Config, error) {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch c.Redis {
	case RedisAuto, RedisServer, RedisMiniredis:
	default:
		return c, fmt.Errorf("config: unknown redis mode %q (want %q, %q or %q)", c.Redis, RedisAuto, RedisServer, RedisMiniredis)
	}
	for _, p := range []struct {
		name string
		port int
	}{{"NATSPort", c.NATSPort}, {"MongoPort", c.MongoPort}, {"RedisPort", c.RedisPort}} {
		if p.port < 0 || p.port > 65535 {
			return c, fmt.Errorf("config: %s %d out of [0, 65535]", p.name, p.port)
		}
	}
	for _, d := range []struct{ name, url string }{{"nats", c.NATSURL}, {"mongo", c.MongoURI}, {"redis", c.RedisURL}} {
		if d.url != "" || !slices.Contains(names, d.name) {
			continue
		}
		if c.Dir == "" {
			return c, fmt.Errorf("config: Dir is required to embed %s", d.name)
		}
		if err := os.MkdirAll(filepath.Join(c.Dir, d.name), 0o750); err != nil {
			return c, fmt.Errorf("config: creating data directory of %s: %w", d.name, err)
		}
	}
	return c, nil
}
