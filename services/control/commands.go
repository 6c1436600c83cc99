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
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// commands answers the requests of the control micro service.
type commands struct {
	js      jetstream.JetStream
	state   state
	machine *machine
	cfg     Config
	log     *slog.Logger
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

func (c *commands) respond(req micro.Request, v any) {
	if err := req.RespondJSON(v); err != nil {
		c.log.Warn("answering command", "subject", req.Subject(), "err", err)
	}
}

// generate starts a run unless one is active. The check and the start are
// one compare-and-set on the run state, so of two concurrent requests, from
// any number of api or control instances, exactly one starts a run.
func (c *commands) generate(ctx context.Context, req micro.Request) {
	var in events.GenerateRequest
	if err := json.Unmarshal(req.Data(), &in); err != nil {
		c.respondError(req, &events.CommandError{Status: http.StatusBadRequest, Message: "request is not a GenerateRequest: " + err.Error()})
		return
	}
	run, err := c.start(ctx, in.Quantity)
	if err != nil {
		c.respondError(req, err)
		return
	}
	c.respond(req, events.GenerateReply{RunID: run.ID, Phase: run.Phase, Quantity: run.Quantity})
}

func (c *commands) start(ctx context.Context, quantity int64) (events.Run, error) {
	if quantity < 1 || quantity > c.cfg.MaxOrders {
		return events.Run{}, &events.CommandError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("quantity must be an integer between 1 and %d", c.cfg.MaxOrders)}
	}
	current, rev, err := c.state.run(ctx)
	if err != nil {
		return events.Run{}, err
	}
	if current.Phase.Active() {
		return events.Run{}, activeError(current)
	}
	// The NORMAL consumer is paused at the end of every run; make sure
	// before any order is published.
	if _, err := c.js.PauseConsumer(ctx, events.StreamOrders, events.ConsumerNormal, pausedForever()); err != nil {
		return events.Run{}, fmt.Errorf("pausing consumer %s: %w", events.ConsumerNormal, err)
	}
	now := time.Now().UTC()
	run := events.Run{
		ID:            uuid.NewString(),
		Quantity:      quantity,
		ChunkSize:     c.cfg.ChunkSize,
		Phase:         events.PhaseGenerating,
		StartedAt:     now,
		Timeline:      []events.PhaseMark{{Phase: events.PhaseGenerating, At: now}},
		PreviousRunID: current.ID,
	}
	if _, err := c.state.save(ctx, run, rev); err != nil {
		if errors.Is(err, errConflict) {
			return events.Run{}, activeError(current)
		}
		return events.Run{}, err
	}
	c.log.Info("run started", "run_id", run.ID, "quantity", quantity)
	previous := current.Phase
	err = c.machine.announce(ctx, events.PhaseEvent{RunID: run.ID, Phase: run.Phase, Previous: previous, At: now})
	if err != nil {
		// The run is started and recorded; the phase is announced again
		// by the machine's next restart. Say so, but do not refuse.
		c.log.Error("announcing a started run", "run_id", run.ID, "err", err)
	}
	select {
	case c.machine.wake <- struct{}{}:
	default:
	}
	return run, nil
}

func activeError(current events.Run) error {
	return &events.CommandError{Status: http.StatusConflict,
		Message: fmt.Sprintf("%v: run %s is in phase %s", events.ErrRunActive, current.ID, current.Phase)}
}
