// Package control owns the run: it creates the JetStream topology, accepts
// commands over NATS request/reply, and drives each run through its phases,
// deciding when every VIP order is processed so that NORMAL orders may start.
// All run state lives in a JetStream key-value bucket, so control can be
// restarted at any moment.
package control

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// Version is reported by the control micro service.
const Version = "0.1.0"

// Run serves control commands and drives runs until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-control"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURL(cfg.NATSURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("creating jetstream context: %w", err)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(cfg.MongoURI).SetAppName("pedidos-control"))
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

	kv, err := ensureTopology(ctx, js)
	if err != nil {
		return err
	}
	db := mc.Database(events.Database)
	indexed, err := ensureIndexes(ctx, db, cfg.Indexes)
	if err != nil {
		return err
	}
	log.Info("topology ready", "mongo_indexes", indexed)

	m := &machine{
		nc: nc, js: js, state: state{kv: kv}, rdb: rdb, jobs: newJobs(rdb), db: db, cfg: cfg, log: log,
		wake: make(chan struct{}, 1), shortSince: map[events.Priority]time.Time{},
	}
	defer m.wg.Wait()
	if err := m.jobs.sweep(ctx); err != nil {
		log.Warn("deleting jobs left removed by a previous control", "err", err)
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        events.ControlService,
		Version:     Version,
		Description: "Starts and steers Pedidos runs.",
	})
	if err != nil {
		return fmt.Errorf("starting the control micro service: %w", err)
	}
	defer func() { _ = svc.Stop() }()
	cmds := &commands{m: m, cfg: cfg, log: log}
	if err := cmds.register(ctx, svc); err != nil {
		return err
	}
	log.Info("control ready")
	m.loop(ctx)
	log.Info("control stopped")
	return nil
}
