package control

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/fleet"
	"github.com/pedidos/pedidos/infra/logs"
)

// A processor that dies holds the orders it fetched and had not settled:
// JetStream would deliver them again only after the ack wait (a minute).
// Control watches the processor instances, and when one vanishes it resets
// the consumers to their ack floor, so that what it held is delivered again
// at once. A live processor that held some of those orders too settles
// them as usual; their second delivery is found already written. (A
// processor that starts while no other runs resets them itself: see package
// processor.) A processor says when it starts, before it fetches an order,
// so that one that dies before control's next count is watched too. And
// when control's connection to NATS comes back after a loss (a restarted
// server), the orders on their way to the processors were lost with it:
// control resets the consumers then as well.

// watchEvery is how often the processor instances are counted.
const watchEvery = 2 * time.Second

// reclaimer resets the consumers when a processor instance dies.
type reclaimer struct {
	nc   *nats.Conn
	cons consumers
	log  *slog.Logger
	down *logs.Outage
	// seen are the instances of the last count; gone those missed in it.
	seen, gone map[string]bool

	mu      sync.Mutex
	stopped map[string]bool // instances that said they stopped cleanly
	started map[string]bool // instances that said they started since the last count
}

func newReclaimer(nc *nats.Conn, cons consumers, log *slog.Logger) *reclaimer {
	return &reclaimer{nc: nc, cons: cons, log: log, down: logs.NewOutage(log, "watching the processors", 30*time.Second),
		seen: map[string]bool{}, gone: map[string]bool{}, stopped: map[string]bool{}, started: map[string]bool{}}
}

// run counts the instances every watchEvery until ctx ends.
func (r *reclaimer) run(ctx context.Context) {
	for subject, into := range map[string]map[string]bool{events.SubjectProcessorStopped: r.stopped, events.SubjectProcessorStarted: r.started} {
		sub, err := r.nc.Subscribe(subject, func(msg *nats.Msg) {
			r.mu.Lock()
			into[string(msg.Data)] = true
			r.mu.Unlock()
		})
		if err != nil {
			r.log.Error("listening for processors that start or stop", slog.String("subject", subject), slog.Any(logs.ErrorKey, err))
			continue
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	reconnects, resetDue := r.nc.Stats().Reconnects, false
	for first := true; ; first = false {
		if !first { // the first count is at once: the processors that started before control are watched
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		// After NATS came back (a restarted server, a lost node), what
		// was on its way to the processors is lost with their pull
		// requests and held until the ack wait: delivered again at once.
		if n := r.nc.Stats().Reconnects; n != reconnects {
			reconnects, resetDue = n, true
		}
		if resetDue {
			if err := r.reclaim(ctx, slog.String("because", "nats reconnected")); err != nil && ctx.Err() == nil {
				r.down.Fail(ctx, err, 1)
				continue
			}
			resetDue = false
		}
		if err := r.check(ctx); err != nil && ctx.Err() == nil {
			r.down.Fail(ctx, err, 1)
			continue
		}
		r.down.OK(ctx)
	}
}

// check counts the instances; one missed by two counts in a row is dead,
// and what it held is delivered again.
func (r *reclaimer) check(ctx context.Context) error {
	ids, err := fleet.Instances(ctx, r.nc, events.ProcessorService)
	if err != nil {
		return err
	}
	now := make(map[string]bool, len(ids))
	for _, id := range ids {
		now[id] = true
	}
	var dead []string
	r.mu.Lock()
	stopped := maps.Clone(r.stopped)
	clear(r.stopped)
	for id := range r.started {
		r.seen[id] = true // watched even if it died since it started
	}
	clear(r.started)
	r.mu.Unlock()
	for id := range r.seen {
		switch {
		case now[id]:
			delete(r.gone, id)
		case stopped[id]:
		case r.gone[id]:
			dead = append(dead, id)
			delete(r.gone, id)
		default:
			r.gone[id] = true
			now[id] = true // missed once: counted again next time
		}
	}
	for id := range r.gone {
		if !r.seen[id] {
			delete(r.gone, id)
		}
	}
	r.seen = now
	if len(dead) == 0 {
		return nil
	}
	return r.reclaim(ctx, slog.Any("dead_processors", dead))
}

// reclaim resets both consumers to their ack floor; why says why in the
// log.
func (r *reclaimer) reclaim(ctx context.Context, why slog.Attr) error {
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		held, err := r.cons.reset(ctx, p)
		if err != nil {
			return err
		}
		if held > 0 {
			r.log.Info("orders held are delivered again", slog.String("consumer", events.OrderConsumer(p)),
				slog.Int("orders", held), why)
		}
	}
	return nil
}
