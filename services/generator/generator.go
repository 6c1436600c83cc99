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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

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
}

// watch follows the run key and keeps exactly one generation going while the
// current run is GENERATING.
func (g *generator) watch(ctx context.Context) error {
	w, err := g.kv.Watch(ctx, events.KeyRun)
	if err != nil {
		return fmt.Errorf("watching %s: %w", events.KeyRun, err)
	}
	defer func() { _ = w.Stop() }()

	var current *job
	defer func() { current.stop() }()
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
		if run.Phase == events.PhaseGenerating && current != nil && current.runID == run.ID {
			continue
		}
		current.stop()
		current = nil
		if run.Phase == events.PhaseGenerating {
			current = g.start(ctx, run)
		}
	}
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

// stop cancels the generation and waits for it to return; a nil job is a no-op.
func (j *job) stop() {
	if j == nil {
		return
	}
	j.cancel()
	<-j.done
}
