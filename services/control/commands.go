package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// commands answers the requests of the control micro service. Every command
// that changes the run holds the machine's lock, so it sees and leaves the
// run between two steps of the phase machine.
type commands struct {
	m   *machine
	cfg Config
	log *slog.Logger
}

// endpoint adapts a typed command to a micro handler: it decodes the
// request, runs the command and answers its result or its error.
func endpoint[Req, Reply any](ctx context.Context, c *commands, run func(context.Context, Req) (Reply, error)) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		var in Req
		if len(req.Data()) > 0 {
			if err := json.Unmarshal(req.Data(), &in); err != nil {
				c.respondError(req, &events.CommandError{Status: http.StatusBadRequest,
					Message: fmt.Sprintf("request is not a %T: %v", in, err)})
				return
			}
		}
		out, err := run(ctx, in)
		if err != nil {
			c.respondError(req, err)
			return
		}
		if err := req.RespondJSON(out); err != nil {
			c.log.Warn("answering command", "subject", req.Subject(), "err", err)
		}
	})
}

// register adds every command to the service.
func (c *commands) register(ctx context.Context, svc micro.Service) error {
	group := svc.AddGroup(events.CommandGroup)
	handlers := map[string]micro.Handler{
		events.CommandGenerate:    endpoint(ctx, c, c.generate),
		events.CommandCancel:      endpoint(ctx, c, c.cancel),
		events.CommandReset:       endpoint(ctx, c, c.reset),
		events.CommandPause:       endpoint(ctx, c, c.pause),
		events.CommandResume:      endpoint(ctx, c, c.resume),
		events.CommandRetryFailed: endpoint(ctx, c, c.retryFailed),
		events.CommandClean:       endpoint(ctx, c, c.clean),
	}
	for name, h := range handlers {
		if err := group.AddEndpoint(name, h); err != nil {
			return fmt.Errorf("adding endpoint %s: %w", name, err)
		}
	}
	return nil
}

// respondError answers req with err, as a CommandError when it is one and as
// a 500 otherwise.
func (c *commands) respondError(req micro.Request, err error) {
	var cerr *events.CommandError
	if !errors.As(err, &cerr) {
		c.log.Error("command failed", "subject", req.Subject(), "err", err)
		cerr = &events.CommandError{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	if err := req.Error(cerr.Code(), cerr.Message, nil); err != nil {
		c.log.Warn("answering command", "subject", req.Subject(), "err", err)
	}
}

// generate starts a run unless one is active. The check and the start are
// one compare-and-set on the run state, so of two concurrent requests, from
// any number of api or control instances, exactly one starts a run.
func (c *commands) generate(ctx context.Context, in events.GenerateRequest) (events.GenerateReply, error) {
	if in.Quantity < 1 || in.Quantity > c.cfg.MaxOrders {
		return events.GenerateReply{}, &events.CommandError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("quantity must be an integer between 1 and %d", c.cfg.MaxOrders)}
	}
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	current, rev, err := m.state.run(ctx)
	if err != nil {
		return events.GenerateReply{}, err
	}
	if current.Phase.Active() {
		return events.GenerateReply{}, conflict(events.ErrRunActive, current)
	}
	qs, _, err := m.state.queue(ctx)
	if err != nil {
		return events.GenerateReply{}, err
	}
	// Before any order is published: NORMAL waits for the VIP drain, VIP
	// flows unless an operator paused the queue.
	if err := m.setPaused(ctx, events.PriorityNormal, true); err != nil {
		return events.GenerateReply{}, err
	}
	if err := m.setPaused(ctx, events.PriorityVIP, qs.Paused); err != nil {
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
	if _, err := m.state.save(ctx, run, rev); err != nil {
		if errors.Is(err, errConflict) {
			return events.GenerateReply{}, conflict(events.ErrRunActive, current)
		}
		return events.GenerateReply{}, err
	}
	c.log.Info("run started", "run_id", run.ID, "quantity", run.Quantity)
	if err := m.announce(ctx, run, nil); err != nil {
		// The run is started and recorded; the phase is announced again by
		// the machine's next restart. Say so, but do not refuse.
		c.log.Error("announcing a started run", "run_id", run.ID, "err", err)
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return events.GenerateReply{RunID: run.ID, Phase: run.Phase, Quantity: run.Quantity}, nil
}

// conflict is the 409 of a command the run's state refuses.
func conflict(err error, run events.Run) error {
	msg := err.Error()
	if run.ID != "" {
		msg = fmt.Sprintf("%v: run %s is in phase %s", err, run.ID, run.Phase)
	}
	return &events.CommandError{Status: http.StatusConflict, Message: msg}
}
