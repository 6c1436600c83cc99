// Package generator builds the orders of a run and publishes them to
// JetStream. It watches the run state control writes; when a run enters
// GENERATING it publishes the run's orders chunk by chunk, recording its
// progress after each acknowledged chunk so that a restart resumes where it
// stopped.
package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// Version is reported by the generator micro service.
const Version = "0.1.0"

// Run connects to NATS and generates every run control starts, until ctx is
// cancelled.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-generator"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURL(cfg.NATSURL), err)
	}
	defer nc.Close()
	pub, err := newPublisher(nc, cfg.PublishWindow)
	if err != nil {
		return err
	}
	var bull *jobs
	if cfg.BullState {
		ropts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("parsing redis url %s: %w", redactURL(cfg.RedisURL), err)
		}
		rdb := redis.NewClient(ropts)
		defer func() { _ = rdb.Close() }()
		bull = newJobs(rdb)
	}
	kv, err := waitBucket(ctx, pub.js, log)
	if err != nil {
		return err
	}
	g := &generator{kv: kv, pub: pub, jobs: bull, log: log}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        events.GeneratorService,
		Version:     Version,
		Description: "Builds and publishes the orders of a run.",
	})
	if err != nil {
		return fmt.Errorf("starting the generator micro service: %w", err)
	}
	defer func() { _ = svc.Stop() }()
	err = svc.AddEndpoint("stop", micro.HandlerFunc(g.serveStop), micro.WithEndpointSubject(events.SubjectGeneratorStop))
	if err != nil {
		return fmt.Errorf("serving stop: %w", err)
	}
	log.Info("generator ready")
	return g.watch(ctx)
}

// waitBucket waits until control has created the state bucket.
func waitBucket(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (jetstream.KeyValue, error) {
	delay := 100 * time.Millisecond
	for logged := false; ; {
		kv, err := js.KeyValue(ctx, events.BucketState)
		if err == nil {
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("opening bucket %s: %w", events.BucketState, err)
		}
		if !logged {
			log.Info("waiting for control to create the state bucket", "bucket", events.BucketState)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

type generator struct {
	kv   jetstream.KeyValue
	pub  *publisher
	jobs *jobs // nil when the Bull view is off
	log  *slog.Logger

	mu      sync.Mutex
	current *job // the generation going on, if any
}

// watch follows the run key and keeps exactly one generation going while the
// current run is GENERATING.
func (g *generator) watch(ctx context.Context) error {
	w, err := g.kv.Watch(ctx, events.KeyRun)
	if err != nil {
		return fmt.Errorf("watching %s: %w", events.KeyRun, err)
	}
	defer func() { _ = w.Stop() }()
	defer g.stop("")
	for {
		var entry jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return nil
		case entry = <-w.Updates():
		}
		if entry == nil || entry.Operation() != jetstream.KeyValuePut {
			continue
		}
		var run events.Run
		if err := json.Unmarshal(entry.Value(), &run); err != nil {
			g.log.Error("ignoring unreadable run state", "err", err)
			continue
		}
		g.follow(ctx, run)
	}
}

// follow starts generating run if it is GENERATING and not already being
// generated, and stops any other generation.
func (g *generator) follow(ctx context.Context, run events.Run) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if run.Phase == events.PhaseGenerating && g.current != nil && g.current.runID == run.ID {
		return
	}
	g.current.stop()
	g.current = nil
	if run.Phase == events.PhaseGenerating {
		g.current = g.start(ctx, run)
	}
}

// stop stops the generation of runID ("" for any) and reports whether one
// was going. When it returns, every publish of that generation is settled.
func (g *generator) stop(runID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil || (runID != "" && g.current.runID != runID) {
		return false
	}
	g.current.stop()
	g.current = nil
	return true
}

// job is one run's generation in progress.
type job struct {
	runID  string
	cancel context.CancelFunc
	done   chan struct{}
}

// start generates run in the background until it is done or stopped.
func (g *generator) start(ctx context.Context, run events.Run) *job {
	ctx, cancel := context.WithCancel(ctx)
	j := &job{runID: run.ID, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		g.generate(ctx, run)
	}()
	return j
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
		g.log.Info("generation stopped on request", "run_id", in.RunID)
	}
	if err := req.RespondJSON(events.StopReply{Stopped: stopped}); err != nil {
		g.log.Warn("answering stop", "err", err)
	}
}

// stop cancels the generation and waits for it to return; a nil job is a no-op.
func (j *job) stop() {
	if j == nil {
		return
	}
	j.cancel()
	<-j.done
}
