package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// Timeouts of the requests to the control service: how long the api waits
// for an answer, and how long of that the command may take once control
// started it. Starting and resuming a run are quick; cancel and pause wait
// for every processor to quiesce, reset drops collections and streams,
// clean and retry-failed may touch many jobs. Control must start a command
// by the timeout minus its budget, or refuse it (and do nothing): so an
// answer always comes before the api gives up, and a 503 means nothing
// was done.
const (
	commandTimeout     = 5 * time.Second
	commandBudget      = 2 * time.Second
	slowCommandTimeout = 30 * time.Second
	slowCommandBudget  = 20 * time.Second
)

// timeoutOf returns how long the api waits for control's answer to the
// command on subject, and the budget of the command itself.
func timeoutOf(subject string) (timeout, budget time.Duration) {
	switch subject {
	case events.SubjectCancel, events.SubjectReset, events.SubjectPause, events.SubjectClean, events.SubjectRetryFailed:
		return slowCommandTimeout, slowCommandBudget
	}
	return commandTimeout, commandBudget
}

// errControlUnavailable answers a command nobody took in time.
var errControlUnavailable = echo.NewHTTPError(http.StatusServiceUnavailable, "control service unavailable")

// generateAnswer is the answer of POST /generate (and GET).
type generateAnswer struct {
	Message  string       `json:"message"`
	RunID    string       `json:"runId"`
	Phase    events.Phase `json:"phase"`
	Quantity int64        `json:"quantity"`
	// Forced says whether force=true was asked; AbortedRunID is the run it
	// cancelled, if one was active.
	Forced       bool   `json:"forced"`
	AbortedRunID string `json:"abortedRunId,omitempty"`
	// Method is "GET" for GET /generate, as the original answered.
	Method string `json:"method,omitempty"`
}

// generate handles POST and GET /pedidos/generate?quantity=N&force=: it asks
// the control service to start a run of N orders; with force, it cancels
// the active run first (see forceGenerate). GET does the same as POST, as
// in the original: it changes things, so it needs the API key like every
// POST (see routes.go).
func (s *server) generate(c echo.Context) error {
	p, err := parseGenerate(c.Request().URL.RawQuery, s.cfg.MaxOrders)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx := c.Request().Context()
	var a generateAnswer
	if p.force {
		a, err = s.forceGenerate(ctx, p.quantity)
	} else {
		a, err = s.startRun(ctx, p.quantity)
	}
	if err != nil {
		return err
	}
	if c.Request().Method == http.MethodGet {
		a.Method = http.MethodGet
	}
	return c.JSON(http.StatusAccepted, a)
}

// startRun asks control to start a run of quantity orders, and waits until
// this instance's view of the run shows it.
func (s *server) startRun(ctx context.Context, quantity int64) (generateAnswer, error) {
	var reply events.GenerateReply
	if err := s.command(ctx, events.SubjectGenerate, events.GenerateRequest{Quantity: quantity}, &reply); err != nil {
		return generateAnswer{}, err
	}
	s.cache.await(ctx, func(run *events.Run, _ bool) bool { return run != nil && run.ID == reply.RunID })
	return generateAnswer{
		Message:  fmt.Sprintf("run %s started: generating %d orders", reply.RunID, reply.Quantity),
		RunID:    reply.RunID,
		Phase:    reply.Phase,
		Quantity: reply.Quantity,
	}, nil
}

// forceAttempts bounds how many times a forced generate cancels a run
// and starts its own: more than once only when other generates keep
// starting runs in between.
const forceAttempts = 3

// forceGenerate cancels the active run, as POST /cancel?purge=true does,
// then starts a run of quantity orders. A run that another generate
// (through any api instance) starts between the two is cancelled in turn,
// up to forceAttempts times, so that the forced run is the one that runs;
// past that it answers 409. Forced generates through this instance go one
// at a time, so that two of them do not cancel each other's runs: the
// second cancels the first one's run, and its own runs.
func (s *server) forceGenerate(ctx context.Context, quantity int64) (generateAnswer, error) {
	select {
	case s.forcing <- struct{}{}:
		defer func() { <-s.forcing }()
	case <-ctx.Done():
		return generateAnswer{}, ctx.Err()
	}
	var aborted string
	for attempt := 1; ; attempt++ {
		reply, err := s.abortRun(ctx, events.CancelRequest{Purge: true, RemovePending: true})
		switch {
		case err == nil:
			aborted = reply.RunID
		case !errors.Is(err, events.ErrNoActiveRun): // nothing to cancel is fine
			return generateAnswer{}, err
		}
		a, err := s.startRun(ctx, quantity)
		if err == nil {
			a.Forced, a.AbortedRunID = true, aborted
			if aborted != "" {
				a.Message = fmt.Sprintf("run %s cancelled; %s", aborted, a.Message)
			}
			return a, nil
		}
		if !errors.Is(err, events.ErrRunActive) || attempt == forceAttempts {
			return generateAnswer{}, err
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "a run started between the cancel and the start of a forced generate; cancelling it too",
			slog.Int("attempt", attempt))
	}
}

// command sends req to the control service's endpoint on subject and
// decodes its answer into reply. A refusal comes back as the
// *events.CommandError control sent; no answer (no responders, timeout,
// NATS down) is errControlUnavailable.
func (s *server) command(ctx context.Context, subject string, req, reply any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding %s request: %w", subject, err)
	}
	timeout, budget := timeoutOf(subject)
	startBy := time.Now().Add(timeout - budget)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := s.stores.nc.RequestMsgWithContext(ctx, &nats.Msg{
		Subject: subject,
		Data:    data,
		Header:  nats.Header{events.HeaderStartBy: []string{startBy.UTC().Format(time.RFC3339Nano)}},
	})
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, context.Canceled) { // the client went away
			level = slog.LevelDebug
		}
		s.logger.LogAttrs(ctx, level, "control command got no answer",
			slog.String("subject", subject), slog.Any("error", err))
		return errControlUnavailable
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return events.ParseCommandError(code, msg.Header.Get(micro.ErrorHeader))
	}
	if err := json.Unmarshal(msg.Data, reply); err != nil {
		return &echo.HTTPError{
			Code:     http.StatusBadGateway,
			Message:  "control service sent an answer the api cannot read",
			Internal: fmt.Errorf("decoding %s reply: %w", subject, err),
		}
	}
	return nil
}
