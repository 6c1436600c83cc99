package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
)

// The handlers of this file validate their parameters, send one command to
// the control service (see generate.go for how), and answer with what it
// replied. Control's refusals pass through with their status: 409 when the
// run's state does not allow the command, 400 when it disagrees with the
// api about a parameter.

// cancelAnswer is the answer of POST /cancel.
type cancelAnswer struct {
	Aborted        bool  `json:"aborted"`
	QueuePaused    bool  `json:"queuePaused"`
	RemovedPending int64 `json:"removedPending"`
	Purged         bool  `json:"purged"`
	PurgedOrders   int64 `json:"purgedOrders"`
	// LogsReset says whether the log lines were removed (see truncateLogs).
	LogsReset bool   `json:"logsReset"`
	Message   string `json:"message"`
	RunID     string `json:"runId"`
	// Processors is how many processor instances confirmed they stopped.
	Processors int `json:"processors"`
}

// cancel handles POST /pedidos/cancel?purge=&removePending=&resetLogs=. When
// it answers 200, the run is ABORTED and no processor will process another
// of its orders. resetLogs is the api's own part: control does not know the
// log lines.
func (s *server) cancel(c echo.Context) error {
	p, err := parseCancel(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx := c.Request().Context()
	reply, err := s.abortRun(ctx, events.CancelRequest{Purge: p.purge, RemovePending: p.removePending})
	if err != nil {
		return err
	}
	a := cancelAnswer{
		Aborted: reply.Aborted, QueuePaused: reply.QueuePaused, RemovedPending: reply.RemovedPending,
		Purged: reply.Purged, PurgedOrders: reply.PurgedOrders, Message: reply.Message,
		RunID: reply.RunID, Processors: reply.Processors,
	}
	if p.resetLogs {
		var note string
		a.LogsReset, note = s.truncateLogs(ctx)
		a.Message = joinMessage(a.Message, note)
	}
	return c.JSON(http.StatusOK, a)
}

// abortRun asks control to cancel the active run and waits until this
// instance's view of the run shows it ended. A refusal (409 when no run is
// active) comes back as control's *events.CommandError.
func (s *server) abortRun(ctx context.Context, req events.CancelRequest) (events.CancelReply, error) {
	var reply events.CancelReply
	s.aborting.Add(1)
	err := s.command(ctx, events.SubjectCancel, req, &reply)
	s.aborting.Add(-1)
	if err != nil {
		return events.CancelReply{}, err
	}
	s.cache.await(ctx, func(run *events.Run, _ bool) bool { return run == nil || !run.Phase.Active() })
	return reply, nil
}

// reset handles POST /pedidos/reset?force=: control wipes the orders, the
// runs, the streams and the Redis state (refusing with 409 during a run
// unless force), then the api removes the log lines.
func (s *server) reset(c echo.Context) error {
	force, err := parseReset(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx := c.Request().Context()
	var reply events.ResetReply
	if force {
		s.aborting.Add(1)
		defer s.aborting.Add(-1)
	}
	if err := s.command(ctx, events.SubjectReset, events.ResetRequest{Force: force}, &reply); err != nil {
		return err
	}
	s.cache.await(ctx, func(run *events.Run, _ bool) bool { return run == nil })
	_, note := s.truncateLogs(ctx)
	return c.JSON(http.StatusOK, map[string]string{"message": joinMessage(reply.Message, note)})
}

// pauseQueue handles POST /pedidos/queue/pause: every processor stops
// taking orders (the JetStream consumer pause API), until resumed.
func (s *server) pauseQueue(c echo.Context) error {
	ctx := c.Request().Context()
	var reply events.QueueReply
	if err := s.command(ctx, events.SubjectPause, struct{}{}, &reply); err != nil {
		return err
	}
	s.cache.await(ctx, func(_ *events.Run, paused bool) bool { return paused == reply.Paused })
	return c.JSON(http.StatusOK, struct {
		Paused     bool `json:"paused"`
		Processors int  `json:"processors"`
	}{reply.Paused, reply.Processors})
}

// resumeQueue handles POST /pedidos/queue/resume: it reopens this
// instance's queue connection if POST /queue/close closed it, then asks
// control to resume consumption as far as the run's phase allows.
func (s *server) resumeQueue(c echo.Context) error {
	ctx := c.Request().Context()
	if s.stores.queue.open() {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "queue connection reopened")
	}
	var reply events.QueueReply
	if err := s.command(ctx, events.SubjectResume, struct{}{}, &reply); err != nil {
		return err
	}
	s.cache.await(ctx, func(_ *events.Run, paused bool) bool { return paused == reply.Paused })
	return c.JSON(http.StatusOK, struct {
		Resumed    bool `json:"resumed"`
		Processors int  `json:"processors"`
	}{!reply.Paused, reply.Processors})
}

// retryFailed handles POST /pedidos/queue/retry-failed: control re-publishes
// the failed orders (409 during a run).
func (s *server) retryFailed(c echo.Context) error {
	var reply events.RetryReply
	if err := s.command(c.Request().Context(), events.SubjectRetryFailed, struct{}{}, &reply); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, reply)
}

// cleanQueue handles POST /pedidos/queue/clean?state=&limit=: control
// removes up to limit jobs in state, oldest first.
func (s *server) cleanQueue(c echo.Context) error {
	req, err := parseClean(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	var reply events.CleanReply
	if err := s.command(c.Request().Context(), events.SubjectClean, req, &reply); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, reply)
}

// purgeStates are the states POST /queue/purge empties, in order: the
// waiting jobs first, which control refuses to remove during a run, so that
// a refused purge removes nothing.
var purgeStates = [...]string{events.CleanWait, events.CleanDelayed, events.CleanCompleted, events.CleanFailed}

// purgeReply answers POST /pedidos/queue/purge.
type purgeReply struct {
	Purged     bool             `json:"purged"`
	Obliterate bool             `json:"obliterate"`
	Removed    map[string]int64 `json:"removed"`
}

// purgeQueue handles POST /pedidos/queue/purge?obliterate=: the original's
// drain and clean, every job of every state that holds jobs between runs
// removed. Active jobs belong to a processor's batch and exist only during
// a run, when a purge is refused; obliterate is accepted and removes
// nothing more, as no other state exists here.
func (s *server) purgeQueue(c echo.Context) error {
	q, err := parseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	obliterate, err := boolParam(q, "obliterate", false)
	if err != nil {
		return badRequest(err.Error())
	}
	reply := purgeReply{Purged: true, Obliterate: obliterate, Removed: map[string]int64{}}
	for _, state := range purgeStates {
		for {
			var clean events.CleanReply
			req := events.CleanRequest{State: state, Limit: maxCleanLimit}
			if err := s.command(c.Request().Context(), events.SubjectClean, req, &clean); err != nil {
				return err
			}
			reply.Removed[state] += clean.Removed
			if clean.Removed < maxCleanLimit {
				break
			}
		}
	}
	return c.JSON(http.StatusOK, reply)
}

// Bounds of POST /queue/recover-stuck's maxJobs.
const (
	defaultRecoverJobs = 100
	maxRecoverJobs     = 100_000
)

// recoverStuck handles POST /pedidos/queue/recover-stuck?maxJobs=: control
// removes up to maxJobs active jobs no processor holds from the view.
func (s *server) recoverStuck(c echo.Context) error {
	q, err := parseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	maxJobs, err := intParam(q, "maxJobs", defaultRecoverJobs, 1, maxRecoverJobs)
	if err != nil {
		return badRequest(err.Error())
	}
	var reply events.RecoverReply
	if err := s.command(c.Request().Context(), events.SubjectRecoverStuck, events.RecoverRequest{MaxJobs: maxJobs}, &reply); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, reply)
}

// process handles POST /pedidos/process, which the original deprecated:
// generate does its work.
func (s *server) process(echo.Context) error {
	return echo.NewHTTPError(http.StatusGone,
		"POST /pedidos/process is deprecated: generation and processing are one run; use POST /pedidos/generate?quantity=N")
}

// joinMessage appends note to msg.
func joinMessage(msg, note string) string {
	switch {
	case note == "":
		return msg
	case msg == "":
		return note
	}
	return msg + "; " + note
}
