// Package generator builds the orders of runs and publishes them to
// JetStream. Control splits a run into chunk tasks on the GENERATION work
// queue; any number of generator instances take them, publish each chunk's
// orders, record the chunk as done in the run's generation progress, then
// ack the task. A task whose generator died is delivered again to another.
package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/metrics"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// Version is reported by the generator micro service.
const Version = "0.1.0"

// Run connects to NATS and generates every run control starts, until ctx is
// cancelled.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ops, err := opsserver.Start(ctx, opsserver.Config{Addr: cfg.MetricsAddr, Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = ops.Stop(context.WithoutCancel(ctx)) }()
	reg := metrics.Or(cfg.Metrics)
	if cfg.Metrics == nil {
		ops.Handle("GET "+metrics.Path, metrics.Handler(reg))
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-generator"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURLs(cfg.NATSURL), err)
	}
	defer nc.Close()
	defer logs.Publish(log, nc)() // the api serves the lines from the LOGS stream
	pub, err := newPublisher(nc, cfg.PublishWindow)
	if err != nil {
		return err
	}
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("parsing redis url %s: %w", redactURL(cfg.RedisURL), err)
	}
	rdb := redis.NewClient(ropts)
	defer func() { _ = rdb.Close() }()
	view := redisstate.New(rdb, redisstate.Options{ViewOff: !cfg.BullState})
	kv, err := waitBucket(ctx, pub.js, log)
	if err != nil {
		return err
	}
	cons, err := waitConsumer(ctx, pub.js, log)
	if err != nil {
		return err
	}
	g := &generator{kv: kv, cons: cons, pub: pub, view: view, log: log, meters: newMeters(reg),
		viewDown: logs.NewOutage(log, "adding jobs to the Bull view in redis", 10*time.Second),
		natsDown: logs.NewOutage(log, "taking chunk tasks", 10*time.Second)}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        events.GeneratorService,
		Version:     Version,
		Description: "Builds and publishes the orders of a run.",
	})
	if err != nil {
		return fmt.Errorf("starting the generator micro service: %w", err)
	}
	defer func() { _ = svc.Stop() }()
	// Every instance answers a stop: each stops what it holds of the run.
	err = svc.AddEndpoint("stop", micro.HandlerFunc(g.serveStop),
		micro.WithEndpointSubject(events.SubjectGeneratorStop), micro.WithEndpointQueueGroupDisabled())
	if err != nil {
		return fmt.Errorf("serving stop: %w", err)
	}
	var viewRedis *redis.Client // nil when the Bull view is off
	if cfg.BullState {
		viewRedis = rdb
	}
	ops.SetReady(readyChecks(nc, viewRedis)...)
	log.Info("generator ready")
	g.work(ctx)
	log.Info("generator stopped")
	return nil
}

// waitBucket waits until control has created the state bucket.
func waitBucket(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (jetstream.KeyValue, error) {
	return waitFor(ctx, log, "the state bucket "+events.BucketState, func() (jetstream.KeyValue, error) {
		return js.KeyValue(ctx, events.BucketState)
	})
}

// waitConsumer waits until control has created the generators' consumer.
func waitConsumer(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (jetstream.Consumer, error) {
	return waitFor(ctx, log, "the consumer "+events.ConsumerGenerator, func() (jetstream.Consumer, error) {
		return js.Consumer(ctx, events.StreamGeneration, events.ConsumerGenerator)
	})
}

// waitFor calls open until what it opens exists, which control creates.
func waitFor[T any](ctx context.Context, log *slog.Logger, what string, open func() (T, error)) (T, error) {
	delay := 100 * time.Millisecond
	for logged := false; ; {
		v, err := open()
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) &&
			!errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return v, fmt.Errorf("opening %s: %w", what, err)
		}
		if !logged {
			log.Info("waiting for control to create " + what)
			logged = true
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

type generator struct {
	kv     jetstream.KeyValue
	cons   jetstream.Consumer
	pub    *publisher
	view   *redisstate.Store
	log    *slog.Logger
	meters *meters
	// viewDown logs a Redis outage once: the view is a projection that
	// control repairs, and the run goes on without it.
	viewDown *logs.Outage
	// natsDown logs once that tasks cannot be taken.
	natsDown *logs.Outage

	mu   sync.Mutex
	runs map[string]*scope // the runs this instance holds chunks of
}

// scope is what an instance holds of one run: the chunks it took, which
// end when the run is stopped.
type scope struct {
	runID   string
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	chunks  sync.WaitGroup // the chunks held
}

// enter returns the scope of run runID for one more chunk, which must call
// leave; false when the run was stopped here.
func (g *generator) enter(ctx context.Context, runID string) (*scope, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.runs[runID]
	if s == nil {
		// A task of another run means the runs before are over: forget
		// them, stopping what is left of them.
		for id, old := range g.runs {
			old.cancel()
			delete(g.runs, id)
		}
		s = &scope{runID: runID}
		s.ctx, s.cancel = context.WithCancel(ctx)
		if g.runs == nil {
			g.runs = map[string]*scope{}
		}
		g.runs[runID] = s
	}
	if s.stopped {
		return nil, false
	}
	s.chunks.Add(1)
	return s, true
}

// within returns ctx, cancelled as well when the run is stopped here, and
// the function that releases it.
func (s *scope) within(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// leave ends a chunk entered with enter.
func (s *scope) leave() { s.chunks.Done() }

// stop stops what this instance holds of run runID, and reports whether it
// held any chunk of it. When it returns every publish of the run is
// settled, and the run's tasks it takes later are dropped.
func (g *generator) stop(runID string) bool {
	g.mu.Lock()
	s := g.runs[runID]
	held := s != nil && !s.stopped
	if s == nil {
		// Remembered, so that the run's tasks taken later are dropped.
		s = &scope{runID: runID, ctx: context.Background(), cancel: func() {}}
		if g.runs == nil {
			g.runs = map[string]*scope{}
		}
		g.runs[runID] = s
	}
	s.stopped = true
	s.cancel()
	g.mu.Unlock()
	s.chunks.Wait()
	return held
}

// serveStop answers control's stop request for a run.
func (g *generator) serveStop(req micro.Request) {
	var in events.StopRequest
	if err := json.Unmarshal(req.Data(), &in); err != nil || in.RunID == "" {
		_ = req.Error("400", "want a StopRequest with a runId", nil)
		return
	}
	stopped := g.stop(in.RunID)
	if stopped {
		g.log.Info("generation stopped on request", slog.String("run_id", in.RunID))
	}
	if err := req.RespondJSON(events.StopReply{Stopped: stopped}); err != nil {
		g.log.Warn("answering stop", slog.Any(logs.ErrorKey, err))
	}
}
