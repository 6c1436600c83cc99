// Package control owns the run: it creates the JetStream topology, accepts
// commands over NATS request/reply, and drives each run through its phases,
// deciding when every VIP order is processed so that NORMAL orders may start.
// All run state lives in a JetStream key-value bucket, so control can be
// restarted at any moment.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/metrics"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// Version is reported by the control micro service.
const Version = "0.1.0"

// Run serves control commands and drives runs until ctx is cancelled: as
// the leader, or standing by while another instance leads (see lease.go).
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
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("pedidos-control"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to nats at %s: %w", redactURLs(cfg.NATSURL), err)
	}
	defer nc.Close()
	defer logs.Publish(log, nc)() // the api serves the lines from the LOGS stream
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

	stateKV, leaderKV, err := awaitTopology(ctx, js, cfg.Replicas, log)
	if err != nil {
		return err
	}
	db := mc.Database(events.Database)
	indexed, err := ensureIndexes(ctx, db, cfg.Indexes)
	if err != nil {
		return err
	}
	log.Info("topology ready", slog.Int("nats_replicas", max(cfg.Replicas, 1)), slog.Bool("mongo_indexes", indexed))
	ops.SetReady(readyChecks(nc, mc, rdb)...)

	d := &deps{
		cfg: cfg, log: log, nc: nc, js: js, db: db, state: state{kv: stateKV},
		view: redisstate.New(rdb, redisstate.Options{ViewOff: !cfg.BullState}), meters: newMeters(reg),
	}
	l := &lease{kv: leaderKV, id: nuid.Next(), log: log}
	for ctx.Err() == nil {
		rev, err := l.acquire(ctx)
		if err != nil {
			break
		}
		log.Info("control leads", slog.String("instance", l.id))
		if err := d.lead(ctx, l, rev); err != nil && ctx.Err() == nil {
			log.Warn("control stopped leading; standing by", slog.Any(logs.ErrorKey, err))
		}
	}
	log.Info("control stopped")
	return nil
}

// awaitTopology creates the topology, again until it can: a cluster that
// is still forming, or has lost the servers that NATS_REPLICAS asks for,
// refuses replicated streams until enough servers are back.
func awaitTopology(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (stateKV, leaderKV jetstream.KeyValue, err error) {
	down := logs.NewOutage(log, "creating the streams and buckets", 10*time.Second)
	delay := 100 * time.Millisecond
	for {
		stateKV, leaderKV, err = ensureTopology(ctx, js, replicas)
		if err == nil {
			down.OK(ctx)
			return stateKV, leaderKV, nil
		}
		down.Fail(ctx, err, 1)
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// deps are what a leading control instance works with.
type deps struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	db     *mongo.Database
	state  state
	view   *redisstate.Store
	meters *meters
}

// lead serves the commands and drives the runs while the lease holds, from
// revision rev, and lets it go on a clean stop.
func (d *deps) lead(ctx context.Context, l *lease, rev uint64) error {
	ctx, lost := context.WithCancelCause(ctx)
	held := make(chan struct{})
	go func() {
		defer close(held)
		last, err := l.hold(ctx, rev)
		if errors.Is(err, context.Canceled) && errors.Is(context.Cause(ctx), context.Canceled) {
			l.release(context.WithoutCancel(ctx), last) // a clean stop: a standby takes over at once
			return
		}
		lost(err)
	}()
	err := d.serve(ctx)
	lost(nil)
	<-held
	if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
		return cause // the lease was lost
	}
	return err
}

// serve is the leader's work: the phase machine, the commands, the
// counters, the Bull view's upkeep, until ctx ends.
func (d *deps) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	cfg, log, js := d.cfg, d.log, d.js
	cons := consumers{js: js}
	proj := newProjector(js, d.view, log)
	m := &machine{
		lock: make(chan struct{}, 1), state: d.state, cons: cons, proj: proj, view: d.view,
		reports: reports{db: d.db, proj: proj, log: log}, phases: phases{js: js}, meters: d.meters,
		tick: cfg.Tick, log: log, wake: make(chan struct{}, 1),
	}
	defer m.wg.Wait()
	defer cancel() // before the wait: the goroutines stop with ctx
	defer m.stopVerify(true)
	m.wg.Go(func() { proj.run(ctx, cfg.Tick) })
	m.wg.Go(func() { newReclaimer(d.nc, cons, log).run(ctx) })
	if cfg.BullState {
		k := &keeper{js: js, state: d.state, cons: cons, view: d.view, log: log,
			down: logs.NewOutage(log, "keeping the Bull view", 30*time.Second)}
		m.wg.Go(func() { k.run(ctx) })
	}
	if err := d.view.Sweep(ctx); err != nil {
		log.Warn("deleting jobs left removed by a previous control", slog.Any(logs.ErrorKey, err))
	}
	svc, err := micro.AddService(d.nc, micro.Config{
		Name:        events.ControlService,
		Version:     Version,
		Description: "Starts and steers Pedidos runs.",
	})
	if err != nil {
		return fmt.Errorf("starting the control micro service: %w", err)
	}
	defer func() { _ = svc.Stop() }()
	cmds := &commands{m: m, workers: workers{nc: d.nc}, orders: ordersStream{js: js}, db: d.db, view: d.view, cfg: cfg, log: log}
	cmds.dropOrphanTasks(ctx)
	if err := cmds.register(ctx, svc); err != nil {
		return err
	}
	log.Info("control ready")
	m.loop(ctx)
	return nil
}
