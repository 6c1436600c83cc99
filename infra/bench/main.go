// Command bench is the benchmark harness of Pedidos (make bench). For each
// order count N it measures, each on fresh servers started by
// pedidos-devstack, one process per server (or on the servers given):
//
//   - the floor: N documents of the processor's shape inserted into MongoDB
//     with nothing else running, in the processor's batches and write
//     concurrency;
//   - a run of N orders through the all-in-one binary, as shipped;
//   - the queue layer: the same with the MongoDB write replaced by a sink
//     (the pedidosbench build, BENCH_DISCARD_WRITES=true);
//   - with -fallback, the same run on the in-process miniredis (what a
//     machine without redis-server falls back to);
//   - with -paused, generation and publish alone: the queue paused, so
//     nothing is processed;
//   - with -load, for the largest N only, a run while a second process
//     sends GET /pedidos at 200 requests/s and holds 200 SSE clients.
//
// It prints a table per N with the targets beside the figures they
// concern, then a summary across N, and writes everything, with a
// description of the machine, to a JSON file. It reports; it asserts
// nothing.
//
//	go run ./infra/bench -n 100000,500000,1500000
//	go run ./infra/bench -n 20000 -skip-floor -env ORDERS_BATCH_SIZE=1000
//
// `bench load` is the load generator, run by the harness as a second process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"

	"github.com/pedidos/pedidos/services/processor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == "load" {
		err = runLoad(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Getenv, os.Environ(), os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// params are the command-line flags.
type params struct {
	sizes []int64
	out   string
	// given are the server URLs of -nats, -mongo and -redis, by server name.
	given      map[string]string
	skipFloor  bool
	skipQueue  bool
	fallback   bool
	paused     bool
	load       bool
	loadRPS    int
	loadSSE    int
	dir        string
	env        envList
	runTimeout time.Duration
	verbose    bool
}

// harness holds what every measurement needs.
type harness struct {
	opts  params
	given map[string]string
	bins  binaries
	// work is the harness's temporary directory: binaries, default data.
	work string
	// baseEnv is the harness's environment, which the services inherit.
	baseEnv []string
	getenv  func(string) string
	// batchSize and writers are the processor's ORDERS_BATCH_SIZE and
	// MONGO_WRITE_CONCURRENCY as the services will see them.
	batchSize, writers int
	log                *slog.Logger
}

func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if opts.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(tint.NewTextHandler(stderr, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)}))
	h := &harness{opts: opts, given: opts.given, baseEnv: environ, getenv: getenv, log: log}
	// The floor writes as the processor will: its defaults and limits are
	// the processor's own.
	proc, err := processor.ConfigFromEnv(h.envValue)
	if err != nil {
		return err
	}
	h.batchSize, h.writers = proc.BatchSize, proc.Writers

	root, err := repoRoot(ctx)
	if err != nil {
		return err
	}
	if h.work, err = os.MkdirTemp("", "pedidos-bench-"); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(h.work); err != nil {
			log.Warn("removing the work directory", slog.Any("dir", h.work), slog.Any("error", err))
		}
	}()
	log.Info("building the binaries", slog.Any("dir", filepath.Join(h.work, "bin")))
	if h.bins, err = build(ctx, root, filepath.Join(h.work, "bin"), !opts.skipQueue); err != nil {
		return err
	}

	out := opts.out
	if out == "" {
		out = filepath.Join(root, "bench-results", "bench-"+time.Now().Format("20060102-150405")+".json")
	}
	res := &results{
		StartedAt: time.Now().UTC(),
		Command:   append([]string{"bench"}, args...),
		Machine:   describeMachine(ctx, root),
		Settings:  h.settings(),
	}
	var failed []error
	largest := slices.Max(opts.sizes)
	for _, n := range opts.sizes {
		sr := h.measureSize(ctx, n, opts.load && n == largest)
		res.Sizes = append(res.Sizes, sr)
		writeTable(stdout, sr)
		for _, e := range sr.Errors {
			failed = append(failed, fmt.Errorf("size %d: %s", n, e))
		}
		res.FinishedAt = time.Now().UTC()
		if err := writeJSON(out, res); err != nil {
			return err
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Summary = summarize(res.Sizes)
	writeSummary(stdout, res.Summary)
	if err := writeJSON(out, res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", out)
	return errors.Join(failed...)
}

// measureSize measures N orders: floor, run, queue layer and, if loaded,
// a run under load, each on fresh servers. A phase that fails is recorded
// and the next one runs.
func (h *harness) measureSize(ctx context.Context, n int64, loaded bool) sizeResult {
	sr := sizeResult{N: n}
	phase := func(name string, measure func(dir string) error) {
		if ctx.Err() != nil {
			sr.Errors = append(sr.Errors, name+": "+ctx.Err().Error())
			return
		}
		h.log.InfoContext(ctx, "measuring", slog.Any("n", n), slog.Any("phase", name))
		dir, cleanup, err := h.dataDir(n, name)
		if err == nil {
			err = measure(dir)
			cleanup()
		}
		if err != nil {
			h.log.ErrorContext(ctx, "measurement failed", slog.Any("n", n), slog.Any("phase", name), slog.Any("error", err))
			sr.Errors = append(sr.Errors, name+": "+err.Error())
		}
	}
	var err error
	if !h.opts.skipFloor {
		phase("floor", func(dir string) error { sr.Floor, err = h.measureFloor(ctx, n, dir); return err })
	}
	phase("run", func(dir string) error {
		sr.Run, err = h.measureRun(ctx, n, runSpec{kind: kindProduct}, dir)
		return err
	})
	if h.opts.fallback {
		phase("miniredis", func(dir string) error {
			sr.Fallback, err = h.measureRun(ctx, n, runSpec{kind: kindProduct, redis: miniredis}, dir)
			return err
		})
	}
	if h.opts.paused {
		phase("paused", func(dir string) error { sr.Paused, err = h.measurePaused(ctx, n, dir); return err })
	}
	if !h.opts.skipQueue {
		phase("queue", func(dir string) error {
			sr.Queue, err = h.measureRun(ctx, n, runSpec{kind: kindQueue}, dir)
			return err
		})
	}
	if loaded {
		phase("load", func(dir string) error {
			sr.Loaded, err = h.measureRun(ctx, n, runSpec{kind: kindProduct, loaded: true}, dir)
			return err
		})
	}
	sr.Figures = derive(sr)
	return sr
}

// dataDir returns a fresh data directory for one phase of size n, and what
// removes it: -dir/n<N>/<phase>, kept afterwards, or a temporary one.
func (h *harness) dataDir(n int64, phase string) (string, func(), error) {
	name := "n" + strconv.FormatInt(n, 10) + "-" + phase
	if h.opts.dir != "" {
		dir := filepath.Join(h.opts.dir, name)
		// The harness's own layout: whatever is there is an earlier run's.
		if err := os.RemoveAll(dir); err != nil {
			return "", nil, fmt.Errorf("clearing %s: %w", dir, err)
		}
		return dir, func() {}, os.MkdirAll(dir, 0o750)
	}
	dir := filepath.Join(h.work, name)
	cleanup := func() {
		if err := os.RemoveAll(dir); err != nil {
			h.log.Warn("removing a data directory", slog.Any("dir", dir), slog.Any("error", err))
		}
	}
	return dir, cleanup, os.MkdirAll(dir, 0o750)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseFlags reads the command line.
func parseFlags(args []string, stderr io.Writer) (params, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := params{given: map[string]string{}}
	sizes := fs.String("n", "100000", "comma-separated order counts `N` to measure, e.g. 100000,500000,1500000")
	fs.StringVar(&opts.out, "out", "", "JSON results `file` (default bench-results/bench-<timestamp>.json at the repository root)")
	natsURL := fs.String("nats", "", "NATS `URL` to use instead of an embedded server")
	mongoURI := fs.String("mongo", "", "MongoDB `URI` to use instead of an embedded server")
	redisURL := fs.String("redis", "", "Redis `URL` to use instead of an embedded server")
	fs.BoolVar(&opts.skipFloor, "skip-floor", false, "do not measure the floor")
	fs.BoolVar(&opts.skipQueue, "skip-queue", false, "do not measure the queue layer")
	fs.BoolVar(&opts.fallback, "fallback", false, "also measure each run on the in-process miniredis, the fallback of a machine without redis-server")
	fs.BoolVar(&opts.paused, "paused", false, "also measure generation and publish with processing paused")
	fs.BoolVar(&opts.load, "load", false, "also measure, for the largest N, a run under load (GET /pedidos and SSE clients)")
	fs.IntVar(&opts.loadRPS, "load-rps", defaultLoadRPS, "with -load: GET /pedidos per second (0: none, only the SSE clients)")
	fs.IntVar(&opts.loadSSE, "load-sse", defaultLoadSSE, "with -load: SSE clients")
	fs.StringVar(&opts.dir, "dir", "", "keep the data under `dir`/n<N>-<phase> (default: a temporary directory per phase, removed)")
	fs.Var(&opts.env, "env", "`KEY=VALUE` passed to the services, e.g. ORDERS_BATCH_SIZE=1000 (repeatable)")
	fs.DurationVar(&opts.runTimeout, "run-timeout", 0, "give up on a run after this long (default 5m + 0.5ms per order)")
	fs.BoolVar(&opts.verbose, "v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if opts.sizes, err = parseSizes(*sizes); err != nil {
		return opts, err
	}
	for name, url := range map[string]string{serverNATS: *natsURL, serverMongo: *mongoURI, serverRedis: *redisURL} {
		if url != "" {
			opts.given[name] = url
		}
	}
	if opts.loadRPS < 0 || opts.loadSSE < 0 {
		return opts, errors.New("-load-rps and -load-sse must be ≥ 0")
	}
	return opts, nil
}

// parseSizes parses -n: positive integers, comma-separated; underscores
// may group digits.
func parseSizes(s string) ([]int64, error) {
	var sizes []int64
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(f), "_", ""), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n %q: %q is not a positive integer", s, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// envList is the repeatable -env flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

// Set adds one KEY=VALUE.
func (e *envList) Set(s string) error {
	if k, _, ok := strings.Cut(s, "="); !ok || k == "" || strings.ContainsAny(k, " \t") {
		return fmt.Errorf("%q: want KEY=VALUE", s)
	}
	*e = append(*e, s)
	return nil
}

// envValue returns the value the services will see for key: the last
// -env for it, else the harness's environment.
func (h *harness) envValue(key string) string {
	for _, kv := range slices.Backward(h.opts.env) {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return h.getenv(key)
}

// servicesEnv is the environment of the services of kind: the harness's,
// then the harness's defaults, then -env, then what points them at the
// servers (exec keeps the last value of a key).
func (h *harness) servicesEnv(kind runKind, urls map[string]string, port int, dataDir string) []string {
	env := slices.Clone(h.baseEnv)
	env = append(env,
		"LOG_FORMAT=json",
		"MAX_ORDERS="+strconv.FormatInt(max(1_500_000, slices.Max(h.opts.sizes)), 10))
	env = append(env, h.opts.env...)
	env = append(env,
		"NATS_URL="+urls[serverNATS],
		"MONGO_URI="+urls[serverMongo],
		"REDIS_URL="+urls[serverRedis],
		"PORT="+strconv.Itoa(port),
		"DATA_DIR="+dataDir)
	if kind == kindQueue {
		env = append(env, "BENCH_DISCARD_WRITES=true")
	}
	return env
}
