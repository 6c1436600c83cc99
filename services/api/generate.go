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
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// Timeouts of the requests to the control service. Starting and resuming
// a run are quick; cancel and pause wait for every processor to quiesce,
// reset drops collections and streams, clean and retry-failed may touch
// many jobs.
const (
	commandTimeout     = 5 * time.Second
	slowCommandTimeout = 30 * time.Second
)

// timeoutOf returns how long the api waits for control's answer to the
// command on subject.
func timeoutOf(subject string) time.Duration {
	switch subject {
	case events.SubjectCancel, events.SubjectReset, events.SubjectPause, events.SubjectClean, events.SubjectRetryFailed:
		return slowCommandTimeout
	}
	return commandTimeout
}

// errControlUnavailable answers a command nobody took in time.
var errControlUnavailable = &events.CommandError{
	Status:  http.StatusServiceUnavailable,
	Message: "control service unavailable",
}

// generateAnswer is the answer of POST /generate.
type generateAnswer struct {
	Message  string       `json:"message"`
	RunID    string       `json:"runId"`
	Phase    events.Phase `json:"phase"`
	Quantity int64        `json:"quantity"`
}

// generate handles POST /pedidos/generate?quantity=N: it asks the control
// service to start a run of N orders.
func (s *server) generate(c echo.Context) error {
	quantity, err := parseQuantity(c.Request().URL.RawQuery, s.cfg.MaxOrders)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx := c.Request().Context()
	var reply events.GenerateReply
	err = s.command(ctx, events.SubjectGenerate, events.GenerateRequest{Quantity: quantity}, &reply)
	if err != nil {
		return err
	}
	s.cache.await(ctx, func(run *events.Run, _ bool) bool { return run != nil && run.ID == reply.RunID })
	return c.JSON(http.StatusAccepted, generateAnswer{
		Message:  fmt.Sprintf("run %s started: generating %d orders", reply.RunID, reply.Quantity),
		RunID:    reply.RunID,
		Phase:    reply.Phase,
		Quantity: reply.Quantity,
	})
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
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(subject))
	defer cancel()
	msg, err := s.stores.nc.RequestWithContext(ctx, subject, data)
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
