// Command pedidos-devstack runs the embedded servers of package devstack
// (NATS with JetStream, FerretDB, Redis) in a process of their own, so that
// each server can be measured, or killed, apart from the services. The
// benchmark harness (infra/pedidos/bench) starts one per server:
//
//	pedidos-devstack -dir data -only mongo
//
// Once every server it starts accepts connections it prints one JSON line on
// stdout, the URLs and the process of each server:
//
//	{"mongo":"mongodb://127.0.0.1:40123/","servers":[{"name":"mongo","kind":"in-process","url":"mongodb://127.0.0.1:40123/","pid":4242}]}
//
// It then runs until SIGINT or SIGTERM, or until its standard input is
// closed, so that a parent holding the other end of a pipe takes it down by
// dying (-stdin=false turns that off, to run it with stdin on /dev/null).
// Logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/pedidos/pedidos/infra/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pedidos-devstack:", err)
		}
		os.Exit(1)
	}
}

// allServers lists the servers pedidos-devstack can start, in start order.
const allServers = "nats,mongo,redis"

// readyLine is the JSON line printed once the servers are up.
type readyLine struct {
	NATS    string   `json:"nats,omitempty"`
	Mongo   string   `json:"mongo,omitempty"`
	Redis   string   `json:"redis,omitempty"`
	Servers []server `json:"servers"`
}

// server is one started server in readyLine.
type server struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	URL  string `json:"url"`
	PID  int    `json:"pid"`
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, watchStdin, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if watchStdin {
		// Reads until EOF; the goroutine ends with the process.
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			cancel()
		}()
	}

	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	line := readyLine{Servers: []server{}}
	for _, s := range stack.Servers() {
		line.Servers = append(line.Servers, server{Name: s.Name, Kind: s.Kind, URL: s.URL, PID: s.PID})
		switch s.Name {
		case "nats":
			line.NATS = s.URL
		case "mongo":
			line.Mongo = s.URL
		case "redis":
			line.Redis = s.URL
		}
	}
	if err := json.NewEncoder(stdout).Encode(line); err != nil {
		return errors.Join(fmt.Errorf("writing the ready line: %w", err), stack.Close())
	}

	<-ctx.Done()
	cfg.Logger.Info("stopping the servers")
	return stack.Close()
}

// parseFlags reads the command line into a devstack configuration, and
// whether to stop when stdin is closed.
func parseFlags(args []string, stderr io.Writer) (devstack.Config, bool, error) {
	fs := flag.NewFlagSet("pedidos-devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devstack.Config
	fs.StringVar(&cfg.Dir, "dir", "data", "data directory: the servers store under `dir`/nats, /mongo and /redis")
	fs.StringVar(&cfg.Host, "host", "127.0.0.1", "listen host")
	fs.IntVar(&cfg.NATSPort, "nats-port", 0, "NATS port (0: a random free port)")
	fs.IntVar(&cfg.MongoPort, "mongo-port", 0, "MongoDB (FerretDB) port (0: a random free port)")
	fs.IntVar(&cfg.RedisPort, "redis-port", 0, "Redis port (0: a random free port)")
	only := fs.String("only", allServers, "comma-separated `servers` to start, of nats, mongo, redis")
	redisMode := fs.String("redis", "auto", "how to run Redis: auto (redis-server if on PATH, else miniredis), redis-server or miniredis")
	watchStdin := fs.Bool("stdin", true, "stop when standard input is closed")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	names, err := parseOnly(*only)
	if err != nil {
		return cfg, false, err
	}
	// devstack starts every server whose URL is not given: give one (never
	// used, never printed) for each server not asked for.
	const notStarted = "not-started://"
	for name, url := range map[string]*string{"nats": &cfg.NATSURL, "mongo": &cfg.MongoURI, "redis": &cfg.RedisURL} {
		if !slices.Contains(names, name) {
			*url = notStarted
		}
	}
	switch *redisMode {
	case "auto":
		cfg.Redis = devstack.RedisAuto
	case string(devstack.RedisServer), string(devstack.RedisMiniredis):
		cfg.Redis = devstack.RedisMode(*redisMode)
	default:
		return cfg, false, fmt.Errorf("-redis %q: want auto, redis-server or miniredis", *redisMode)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return cfg, *watchStdin, nil
}

// parseOnly parses the -only list: server names, comma-separated, at least
// one.
func parseOnly(s string) ([]string, error) {
	var names []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(strings.Split(allServers, ","), name) {
			return nil, fmt.Errorf("-only %q: unknown server %q (want a comma-separated list of %s)", s, name, allServers)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}
