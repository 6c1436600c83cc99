package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/micro"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// commands answers the requests of the control micro service. Every command
// that changes the run holds the machine's lock, taken before the caller's
// deadline or not at all: a command either answers in time or is not
// carried out.
type commands struct {
	m       *machine
	workers workers
	orders  ordersStream
	db      *mongo.Database
	view    *redisstate.Store
	cfg     Config
	log     *slog.Logger
}

// endpoint adapts a typed command to a micro handler: it decodes the
// request, runs the command if it can start it by the time the caller asked
// (HeaderStartBy), and answers its result or its error.
func endpoint[Req, Reply any](ctx context.Context, c *commands, run func(context.Context, Req) (Reply, error)) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		var in Req
		if len(req.Data()) > 0 {
			if err := json.Unmarshal(req.Data(), &in); err != nil {
				c.respondError(req, events.Refusal(events.ErrBadRequest, "request is not a %T: %v", in, err))
				return
			}
		}
		ctx, cancel := withDeadline(ctx, req.Headers().Get(events.HeaderStartBy))
		defer cancel()
		out, err := run(ctx, in)
		if err != nil {
			c.respondError(req, err)
			return
		}
		if err := req.RespondJSON(out); err != nil {
			c.log.Warn("answering command", slog.String("subject", req.Subject()), slog.Any(logs.ErrorKey, err))
		}
	})
}

// withDeadline is ctx bounded by the start-by time a caller sent, if any.
// Commands take the run's lock under it, then go on without it once begun.
func withDeadline(ctx context.Context, deadline string) (context.Context, context.CancelFunc) {
	if t, err := time.Parse(time.RFC3339Nano, deadline); err == nil {
		return context.WithDeadline(ctx, t)
	}
	return context.WithCancel(ctx)
}

// lock takes the run's lock for a command, before ctx's deadline or not at
// all (ErrBusy: nothing was done).
func (c *commands) lock(ctx context.Context) error {
	if err := c.m.acquire(ctx); err != nil {
		return events.Refusal(events.ErrBusy, "control was busy; the command was not carried out (%v)", err)
	}
	return nil
}

// register adds every command to the service.
func (c *commands) register(ctx context.Context, svc micro.Service) error {
	group := svc.AddGroup(events.CommandGroup)
	handlers := map[string]micro.Handler{
		events.CommandGenerate:     endpoint(ctx, c, c.generate),
		events.CommandCancel:       endpoint(ctx, c, c.cancel),
		events.CommandReset:        endpoint(ctx, c, c.reset),
		events.CommandPause:        endpoint(ctx, c, c.pause),
		events.CommandResume:       endpoint(ctx, c, c.resume),
		events.CommandRetryFailed:  endpoint(ctx, c, c.retryFailed),
		events.CommandClean:        endpoint(ctx, c, c.clean),
		events.CommandRecoverStuck: endpoint(ctx, c, c.recoverStuck),
	}
	for name, h := range handlers {
		if err := group.AddEndpoint(name, h); err != nil {
			return fmt.Errorf("adding endpoint %s: %w", name, err)
		}
	}
	return nil
}

// respondError answers req with err, as a CommandError when it is one and as
// an internal failure otherwise.
func (c *commands) respondError(req micro.Request, err error) {
	var cerr *events.CommandError
	if !errors.As(err, &cerr) {
		c.log.Error("command failed", slog.String("subject", req.Subject()), slog.Any(logs.ErrorKey, err))
		cerr = events.Refusal(events.ErrInternal, "%v", err)
	}
	if err := req.Error(cerr.Code, cerr.Message, nil); err != nil {
		c.log.Warn("answering command", slog.String("subject", req.Subject()), slog.Any(logs.ErrorKey, err))
	}
}

// generate starts a run unless one is active. The check and the start are
// one compare-and-set on the run state, so of two concurrent requests, from
// any number of api or control instances, exactly one starts a run.
func (c *commands) generate(ctx context.Context, in events.GenerateRequest) (events.GenerateReply, error) {
	if in.Quantity < 1 || in.Quantity > c.cfg.MaxOrders {
		return events.GenerateReply{}, events.Refusal(events.ErrBadRequest,
			"quantity must be an integer between 1 and %d", c.cfg.MaxOrders)
	}
	if err := c.lock(ctx); err != nil {
		return events.GenerateReply{}, err
	}
	defer c.m.release()
	m := c.m
	current, rev, err := m.state.run(ctx)
	if err != nil {
		return events.GenerateReply{}, err
	}
	if current.Phase.Active() {
		return events.GenerateReply{}, refusal(events.ErrRunActive, current)
	}
	m.stopVerify(false) // the new run needs the database more
	qs, _, err := m.state.queue(ctx)
	if err != nil {
		return events.GenerateReply{}, err
	}
	// Before any order is published: NORMAL waits for the VIP drain, VIP
	// flows unless an operator paused the queue.
	if err := m.cons.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return events.GenerateReply{}, err
	}
	if err := m.cons.setPaused(ctx, events.PriorityVIP, qs.Paused); err != nil {
		return events.GenerateReply{}, err
	}
	now := time.Now().UTC()
	run := events.Run{
		ID:            uuid.NewString(),
		Quantity:      in.Quantity,
		ChunkSize:     c.cfg.ChunkSize,
		Phase:         events.PhaseGenerating,
		StartedAt:     now,
		Timeline:      []events.PhaseMark{{Phase: events.PhaseGenerating, At: now}},
		PreviousRunID: current.ID,
	}
	// The run's generation and its chunk tasks first: a run recorded as
	// GENERATING always has them. Tasks of a run that then fails to be
	// recorded (another start won) are dropped by the generators, which
	// take only tasks of the current run.
	gen := events.Generation{RunID: run.ID, Quantity: run.Quantity, ChunkSize: run.ChunkSize, StartedAt: now}
	if err := m.state.startGeneration(ctx, gen); err != nil {
		return events.GenerateReply{}, err
	}
	if err := c.orders.publishTasks(ctx, gen); err != nil {
		c.dropTasks(ctx, run.ID)
		return events.GenerateReply{}, err
	}
	if _, err := m.state.save(ctx, run, rev); err != nil {
		c.dropTasks(ctx, run.ID)
		if errors.Is(err, errConflict) {
			return events.GenerateReply{}, refusal(events.ErrRunActive, current)
		}
		return events.GenerateReply{}, err
	}
	c.log.Info("run started", slog.String("run_id", run.ID), slog.Int64("quantity", run.Quantity))
	if err := m.announce(ctx, run, nil); err != nil {
		// The run is started and recorded; the phase is announced again by
		// the machine's next restart. Say so, but do not refuse.
		c.log.Error("announcing a started run", slog.String("run_id", run.ID), slog.Any(logs.ErrorKey, err))
	}
	m.nudge()
	return events.GenerateReply{RunID: run.ID, Phase: run.Phase, Quantity: run.Quantity}, nil
}

// dropTasks drops the chunk tasks of a run that did not start.
func (c *commands) dropTasks(ctx context.Context, runID string) {
	if err := c.orders.dropTasks(context.WithoutCancel(ctx), runID); err != nil {
		c.log.Warn("dropping the chunk tasks of a run that did not start", slog.String("run_id", runID), slog.Any(logs.ErrorKey, err))
	}
}

// dropOrphanTasks drops the chunk tasks of a run a previous leader
// recorded the generation of but died before it recorded the run.
func (c *commands) dropOrphanTasks(ctx context.Context) {
	run, _, err := c.m.state.run(ctx)
	if err != nil {
		c.log.Warn("reading the run to drop orphan chunk tasks", slog.Any(logs.ErrorKey, err))
		return
	}
	gen, _, err := c.m.state.generation(ctx, run.ID)
	if err != nil {
		c.log.Warn("reading the generation to drop orphan chunk tasks", slog.Any(logs.ErrorKey, err))
		return
	}
	if gen.RunID != "" && gen.RunID != run.ID {
		c.dropTasks(ctx, gen.RunID)
	}
}

// refusal is the refusal of a command the run's state does not allow.
func refusal(sentinel *events.CommandError, run events.Run) error {
	if run.ID == "" {
		return sentinel
	}
	return events.Refusal(sentinel, "%s: run %s is in phase %s", sentinel.Message, run.ID, run.Phase)
}
