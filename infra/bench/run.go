package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// Intervals and bounds of a run.
const (
	// sampleInterval is how often resident set sizes are sampled.
	sampleInterval = 250 * time.Millisecond
	// pollInterval is how often GET /pedidos is read during a run.
	pollInterval = 100 * time.Millisecond
	// progressInterval is how often the harness logs a run's progress.
	progressInterval = 5 * time.Second
	// readyTimeout bounds the services' start-up.
	readyTimeout = 2 * time.Minute
	// servicesStopGrace bounds their graceful shutdown.
	servicesStopGrace = 60 * time.Second
	// reportTimeout bounds the wait for the run's process_runs document.
	reportTimeout = 30 * time.Second
)

// runKind says which build of the services a run measures.
type runKind string

// The kinds of run.
const (
	// kindProduct is the product: orders written to MongoDB.
	kindProduct runKind = "product"
	// kindQueue is the pedidosbench build with BENCH_DISCARD_WRITES=true:
	// the MongoDB write is a sink, JetStream, Redis and acks remain.
	kindQueue runKind = "queue-layer"
)

// runResult is one run of the services, as measured.
type runResult struct {
	Kind   runKind `json:"kind"`
	Loaded bool    `json:"loaded"`
	// Redis is the Redis server of the run: redis-server or miniredis.
	RedisServer string `json:"redisServer"`
	RunID       string `json:"runId"`
	Phase       string `json:"phase"`
	// Wall is from POST /pedidos/generate until the harness saw the run
	// end (GET /pedidos every 100 ms).
	Wall ms `json:"wallMs"`
	// Report is the run's process_runs document.
	Report *events.RunReport `json:"report"`
	// Status is the last answer of GET /pedidos.
	Status json.RawMessage `json:"status"`
	// Sampled are the services (one process), each server process, the
	// harness and the load generator, from just before the run started
	// until it ended.
	Sampled sampled     `json:"sampled"`
	Redis   redisMemory `json:"redis"`
	Mongo   mongoSize   `json:"mongo"`
	Load    *loadResult `json:"load,omitempty"`
}

// runSpec says what a run measures: which build, on which Redis, under
// load or not.
type runSpec struct {
	kind   runKind
	redis  string // redisServer or miniredis
	loaded bool
}

// measureRun runs n orders through the services of spec.kind, on fresh
// servers under dir (or those given), with the load generator alongside if
// spec.loaded.
func (h *harness) measureRun(ctx context.Context, n int64, spec runSpec, dir string) (_ *runResult, err error) {
	kind, loaded := spec.kind, spec.loaded
	if spec.redis == "" {
		spec.redis = redisServer
	}
	servers, err := h.startServers(ctx, dir, spec.redis, serverNATS, serverMongo, serverRedis)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, servers.stop()) }()
	svc, api, err := h.startServices(ctx, kind, servers, dir)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			err = errors.Join(err, svc.stop(servicesStopGrace))
		}
	}()
	if err := api.waitReady(ctx, svc, readyTimeout); err != nil {
		return nil, err
	}
	if len(h.given) > 0 {
		// Servers of earlier runs: start from nothing, as fresh ones do.
		if err := api.reset(ctx); err != nil {
			return nil, err
		}
	}
	var load *loadProc
	if loaded {
		if load, err = h.startLoad(ctx, api.base, n, dir); err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, load.kill()) }()
	}

	res := &runResult{Kind: kind, Loaded: loaded, RedisServer: spec.redis}
	pids := withPID(servers.pids, "services", svc.pid())
	pids["harness"] = os.Getpid()
	if load != nil {
		pids["load"] = load.c.pid()
	}
	smp := startSampler(pids, sampleInterval)
	began := time.Now()
	res.RunID, err = api.generate(ctx, n)
	if err == nil {
		err = h.follow(ctx, api, svc, res, n)
	}
	res.Wall = ms(time.Since(began))
	// The sampler stops before the load generator is told to finish: once
	// it exits, its CPU time can no longer be read.
	res.Sampled = smp.finish()
	if load != nil {
		var lerr error
		res.Load, lerr = load.finish(ctx)
		err = errors.Join(err, lerr)
	}
	if err != nil {
		return res, err
	}
	if err := h.collect(ctx, servers, res); err != nil {
		return res, err
	}
	stopped = true
	if err := svc.stop(servicesStopGrace); err != nil {
		return res, fmt.Errorf("stopping the services: %w", err)
	}
	if res.Phase != string(events.PhaseDone) {
		return res, fmt.Errorf("run %s ended in %s: %s", res.RunID, res.Phase, res.Report.Reason)
	}
	return res, nil
}

// startServices starts the all-in-one binary of kind against servers.
func (h *harness) startServices(ctx context.Context, kind runKind, servers *serverSet, dir string) (*child, *apiClient, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, nil, err
	}
	bin := h.bins.pedidos
	if kind == kindQueue {
		bin = h.bins.pedidosBench
	}
	svc, err := startChild(childSpec{
		name:    "pedidos (" + string(kind) + ")",
		path:    bin,
		env:     h.servicesEnv(kind, servers.urls, port, filepath.Join(dir, "services")),
		logPath: filepath.Join(dir, "services.log"),
	})
	if err != nil {
		return nil, nil, err
	}
	return svc, newAPIClient("http://127.0.0.1:"+strconv.Itoa(port), h.envValue("API_KEY")), nil
}

// follow reads GET /pedidos until run res.RunID ends, the services exit,
// or the run timeout, logging its progress now and then.
func (h *harness) follow(ctx context.Context, api *apiClient, svc *child, res *runResult, n int64) error {
	ctx, cancel := context.WithTimeout(ctx, h.runTimeout(n))
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastLog := time.Now()
	var lastErr error
	for {
		st, raw, err := api.status(ctx)
		switch {
		case err != nil:
			lastErr = err
		case st.RunID == nil || *st.RunID != res.RunID:
			lastErr = fmt.Errorf("GET /pedidos shows run %v, not %s", st.RunID, res.RunID)
		case st.Phase.Terminal():
			res.Phase, res.Status = string(st.Phase), raw
			return nil
		default:
			lastErr = nil
			if time.Since(lastLog) >= progressInterval {
				lastLog = time.Now()
				h.log.InfoContext(ctx, "run", slog.Any("phase", st.Phase), slog.Any("generated", st.Progress.Generated), slog.Any("processed_vip", st.Counts.VIP), slog.Any("processed_normal", st.Counts.Normal), slog.Any("of", n))
			}
		}
		select {
		case <-svc.exited:
			return errors.Join(errors.New("the services exited during the run"), svc.exitError())
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("following run %s: %w (last GET /pedidos: %w)", res.RunID, ctx.Err(), lastErr)
			}
			return fmt.Errorf("following run %s: %w", res.RunID, ctx.Err())
		case <-tick.C:
		}
	}
}

// runTimeout bounds one run of n orders: generous, it only catches a run
// that never ends.
func (h *harness) runTimeout(n int64) time.Duration {
	if h.opts.runTimeout > 0 {
		return h.opts.runTimeout
	}
	return 5*time.Minute + time.Duration(n)*time.Millisecond/2
}

// collect reads, at the end of a run, its process_runs document, Redis's
// peak memory and MongoDB's size.
func (h *harness) collect(ctx context.Context, servers *serverSet, res *runResult) (err error) {
	client, err := mongo.Connect(options.Client().ApplyURI(servers.urls[serverMongo]))
	if err != nil {
		return fmt.Errorf("connecting to mongo: %w", err)
	}
	defer func() { err = errors.Join(err, client.Disconnect(context.WithoutCancel(ctx))) }()
	if res.Report, err = readReport(ctx, client.Database(events.Database), res.RunID); err != nil {
		return err
	}
	res.Redis = readRedisMemory(ctx, servers.urls[serverRedis])
	res.Mongo = readMongoSize(ctx, client.Database(events.Database), servers.mongoDir)
	return nil
}

// readReport waits for the run's process_runs document and returns it.
func readReport(ctx context.Context, db *mongo.Database, runID string) (*events.RunReport, error) {
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var r events.RunReport
		err := db.Collection(events.CollectionRuns).FindOne(ctx, bson.D{{Key: "_id", Value: runID}}).Decode(&r)
		if err == nil {
			return &r, nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("reading the report of run %s: %w", runID, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no process_runs document for run %s: %w", runID, ctx.Err())
		case <-tick.C:
		}
	}
}

// withPID returns a copy of pids with name: pid added.
func withPID(pids map[string]int, name string, pid int) map[string]int {
	out := maps.Clone(pids)
	if out == nil {
		out = map[string]int{}
	}
	out[name] = pid
	return out
}

// freePort returns a loopback port nothing listens on right now.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	return port, nil
}
