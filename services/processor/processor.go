// Package processor consumes orders from JetStream and writes each one, once,
// to MongoDB in its final state. A batch is written with one unordered
// InsertMany; a duplicate _id means an earlier delivery was already written.
// Only after MongoDB acknowledged the write is the batch counted in Redis and
// acked on JetStream. Any number of processor instances may run together.
package processor

import (
	"context"
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
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// Version is reported by the processor micro service.
const Version = "0.1.0"

// Run processes orders until ctx is cancelled, then stops fetching and lets
// the batches in flight finish, for up to cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-processor"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURL(cfg.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(cfg.MongoURI).SetAppName("pedidos-processor"))
	if err != nil {
		return fmt.Errorf("connecting to mongodb at %s: %w", redactURL(cfg.MongoURI), err)
	}
	defer func() { _ = mc.Disconnect(context.WithoutCancel(ctx)) }()
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("parsing redis url %s: %w", redactURL(cfg.RedisURL), err)
	}
	rdb := redis.NewClient(ropts)
	defer func() { _ = rdb.Close() }()

	var orders inserter = mc.Database(events.Database).Collection(events.CollectionOrders)
	if cfg.discardWrites {
		orders = discard{}
		log.Warn("BENCHMARK BUILD: orders are NOT written to MongoDB (BENCH_DISCARD_WRITES)")
	}
	b := &batcher{
		orders:      orders,
		counters:    newCounters(rdb),
		maxAttempts: cfg.MaxAttempts,
		log:         log,
	}
	if cfg.BullState {
		b.jobs = newJobs(rdb, cfg.KeepCompleted, cfg.KeepFailed)
	}
	g := newGate(cfg.Writers)
	svc, err := micro.AddService(nc, micro.Config{
		Name:        events.ProcessorService,
		Version:     Version,
		Description: "Writes orders to MongoDB; answers quiesce.",
	})
	if err != nil {
		return fmt.Errorf("starting the processor micro service: %w", err)
	}
	defer func() { _ = svc.Stop() }()
	if err := serveQuiesce(svc, g, svc.Info().ID, log); err != nil {
		return fmt.Errorf("serving quiesce: %w", err)
	}
	var consumers []*consumer
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		cons, err := waitConsumer(ctx, js, events.OrderConsumer(p), log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		consumers = append(consumers, &consumer{
			priority: p, cons: cons, batcher: b, gate: g, depth: cfg.Concurrency, writers: cfg.Writers,
			batchSize: cfg.BatchSize, fetchWait: cfg.FetchWait, log: log,
		})
	}
	log.Info("processor ready", "concurrency", cfg.Concurrency, "batch_size", cfg.BatchSize)

	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(func() { c.run(ctx, work) })
	}
	<-ctx.Done()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(cfg.ShutdownTimeout):
		log.Warn("in-flight batches did not finish in time; cancelling them", "timeout", cfg.ShutdownTimeout)
		stopWork()
		<-drained
	}
	log.Info("processor stopped")
	return nil
}

// waitConsumer waits until control has created the durable consumer.
func waitConsumer(ctx context.Context, js jetstream.JetStream, name string, log *slog.Logger) (jetstream.Consumer, error) {
	delay := 100 * time.Millisecond
	for logged := false; ; {
		cons, err := js.Consumer(ctx, events.StreamOrders, name)
		if err == nil {
			return cons, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("looking up consumer %s: %w", name, err)
		}
		if !logged {
			log.Info("waiting for control to create the consumer", "consumer", name)
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
