// Package processor consumes orders from JetStream and writes each one, once,
// to MongoDB in its final state. A batch is written with one unordered
// InsertMany; a duplicate _id means an earlier delivery was already written.
// Only after MongoDB acknowledged the write, and JetStream stored the batch's
// report on the RESULTS stream (what the run's counters are made of), is the
// batch acked. Any number of processor instances may run together.
package processor

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/pedidos/pedidos/infra/fleet"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/metrics"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// Version is reported by the processor micro service.
const Version = "0.1.0"

// Run processes orders until ctx is cancelled, then stops fetching and lets
// the batches in flight finish, for up to cfg.ShutdownTimeout.
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
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-processor"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURLs(cfg.NATSURL), err)
	}
	defer nc.Close()
	defer logs.Publish(log, nc)() // the api serves the lines from the LOGS stream
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
	view := redisstate.New(rdb, redisstate.Options{
		KeepCompleted: cfg.KeepCompleted, KeepFailed: cfg.KeepFailed, ViewOff: !cfg.BullState,
	})
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
	instance := svc.Info().ID
	// Control watches this instance from now on: should it die holding
	// orders, they are delivered again at once, not after the ack wait.
	if err := nc.Publish(events.SubjectProcessorStarted, []byte(instance)); err == nil {
		_ = nc.Flush()
	}
	if err := serveQuiesce(svc, g, instance, log); err != nil {
		return fmt.Errorf("serving quiesce: %w", err)
	}
	b := newBatcher(orders, &reporter{js: js, instance: instance}, view, cfg.MaxAttempts, log, newMeters(reg))
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
	if err := reclaim(ctx, nc, js, instance, consumers, log); err != nil {
		log.Warn("delivering again what a stopped processor held", slog.Any(logs.ErrorKey, err))
	}
	ops.SetReady(readyChecks(nc, mc, rdb)...)
	log.Info("processor ready", slog.Any("concurrency", cfg.Concurrency), slog.Any("batch_size", cfg.BatchSize))

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
		log.Warn("in-flight batches did not finish in time; cancelling them", slog.Any("timeout", cfg.ShutdownTimeout))
		stopWork()
		<-drained
	}
	// Every batch is settled: control need not deliver again what this
	// instance held.
	if err := nc.Publish(events.SubjectProcessorStopped, []byte(instance)); err == nil {
		_ = nc.Flush()
	}
	log.Info("processor stopped")
	return nil
}

// reclaim resets the consumers to their ack floor when no other processor
// runs: whatever they have delivered and not seen acked was held by
// processors that are gone (the whole stack was killed, say), and would
// otherwise be delivered again only after the ack wait.
func reclaim(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, self string, consumers []*consumer, log *slog.Logger) error {
	ids, err := fleet.Instances(ctx, nc, events.ProcessorService)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id != self {
			return nil // control watches the others
		}
	}
	for _, c := range consumers {
		info, err := c.cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending == 0 {
			continue
		}
		if _, err := js.ResetConsumer(ctx, events.StreamOrders, info.Name); err != nil {
			return err
		}
		log.Info("orders a stopped processor held are delivered again", slog.Any("consumer", info.Name), slog.Any("orders", info.NumAckPending))
	}
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
			log.Info("waiting for control to create the consumer", slog.Any("consumer", name))
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
