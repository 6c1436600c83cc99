package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
)

// logsOffMessage says why GET /logs has no lines.
const logsOffMessage = "logging for the dashboard is off (BACKEND_LOGS=false)"

// logsAnswer is the answer of GET /pedidos/logs, in the original's shape
// (processLog, queueStatus, logs, quickStats) with the api's own status
// beside it.
type logsAnswer struct {
	// ProcessLog is the current run's metrics in the original's fields.
	ProcessLog processLog `json:"processLog"`
	// Status is the current run's status, as GET /pedidos answers.
	Status Status `json:"status"`
	// QueueStatus is GET /pedidos/queue/status, or null while POST
	// /queue/close holds the queue connection closed.
	QueueStatus *queueStatus `json:"queueStatus"`
	Logs        logTail      `json:"logs"`
	QuickStats  quickStats   `json:"quickStats"`
}

// processLog is the original's processLog: its run metrics, in its
// fields. Durations are milliseconds and 0 until measured, as there; times
// are ISO-8601 or null. TotalTimeMs and WallClockMs are both the run's wall
// clock (the original's totalTimeMs added up the phases).
type processLog struct {
	GenerationTimeMs       int64        `json:"generationTimeMs"`
	ProcessingTimeVIPMs    int64        `json:"processingTimeVIPMs"`
	ProcessingTimeNormalMs int64        `json:"processingTimeNormalMs"`
	StartVIP               *Time        `json:"startVIP"`
	EndVIP                 *Time        `json:"endVIP"`
	StartNormal            *Time        `json:"startNormal"`
	EndNormal              *Time        `json:"endNormal"`
	TotalProcessedVIP      int64        `json:"totalProcessedVIP"`
	TotalProcessedNormal   int64        `json:"totalProcessedNormal"`
	TotalTimeMs            int64        `json:"totalTimeMs"`
	EnqueueVIPTimeMs       int64        `json:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs    int64        `json:"enqueueNormalTimeMs"`
	Phase                  events.Phase `json:"phase"`
	Throughput             Throughput   `json:"throughput"`
	ETA                    ETA          `json:"eta"`
	Target                 int64        `json:"target"`
	Generated              int64        `json:"generated"`
	WallClockMs            int64        `json:"wallClockMs"`
	RunID                  *string      `json:"runId"`
}

// newProcessLog takes the original's run metrics from a status.
func newProcessLog(st *Status) processLog {
	return processLog{
		GenerationTimeMs:       orZero(st.GenerationTimeMs),
		ProcessingTimeVIPMs:    orZero(st.Processing.VIP.TimeMs),
		ProcessingTimeNormalMs: orZero(st.Processing.Normal.TimeMs),
		StartVIP:               st.Processing.VIP.Start,
		EndVIP:                 st.Processing.VIP.End,
		StartNormal:            st.Processing.Normal.Start,
		EndNormal:              st.Processing.Normal.End,
		TotalProcessedVIP:      st.Counts.VIP,
		TotalProcessedNormal:   st.Counts.Normal,
		TotalTimeMs:            orZero(st.TotalTimeMs),
		EnqueueVIPTimeMs:       orZero(st.EnqueueVIPTimeMs),
		EnqueueNormalTimeMs:    orZero(st.EnqueueNormalTimeMs),
		Phase:                  st.Phase,
		Throughput:             st.Throughput,
		ETA:                    st.ETA,
		Target:                 st.Progress.Target,
		Generated:              st.Progress.Generated,
		WallClockMs:            orZero(st.TotalTimeMs),
		RunID:                  st.RunID,
	}
}

// orZero is *n, or 0 for nil.
func orZero(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// logTail holds the last lines of each level, oldest first: as the
// original's clients read them, one formatted line each (see formatLine),
// and as objects under Entries, for a client that filters and formats
// them itself.
type logTail struct {
	// Enabled is false when the services publish no log lines; Message
	// then says so, and the lists are empty.
	Enabled       bool       `json:"enabled"`
	Message       string     `json:"message,omitempty"`
	LogMessages   []string   `json:"logMessages"`
	WarnMessages  []string   `json:"warnMessages"`
	ErrorMessages []string   `json:"errorMessages"`
	Entries       logEntries `json:"entries"`
}

// logEntries are the lines of each level as objects.
type logEntries struct {
	LogMessages   []logEntry `json:"logMessages"`
	WarnMessages  []logEntry `json:"warnMessages"`
	ErrorMessages []logEntry `json:"errorMessages"`
}

// logEntry is one log line.
type logEntry struct {
	Time    Time   `json:"time"`
	Level   string `json:"level"`
	Process string `json:"process"`
	Msg     string `json:"msg"`
	// Attrs are the line's other attributes.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// quickStats counts the current run's processed orders.
type quickStats struct {
	VIPProcessed    int64 `json:"vipProcessed"`
	NormalProcessed int64 `json:"normalProcessed"`
	TotalProcessed  int64 `json:"totalProcessed"`
}

// getLogs handles GET /pedidos/logs?lines=N: the last N lines of each
// level (info, warn, error) of every service, from the LOGS stream, with
// the run's metrics and the queue's counts.
func (s *server) getLogs(c echo.Context) error {
	lines, err := parseLines(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx := c.Request().Context()
	st, err := s.status(ctx)
	if err != nil {
		return err
	}
	a := logsAnswer{
		ProcessLog: newProcessLog(&st),
		Status:     st,
		QuickStats: quickStats{
			VIPProcessed: st.Counts.VIP, NormalProcessed: st.Counts.Normal, TotalProcessed: st.Counts.Total(),
		},
	}
	qs, err := s.readQueueStatus(ctx)
	switch {
	case errors.Is(err, errQueueClosed):
	case err != nil:
		return err
	default:
		a.QueueStatus = &qs
	}
	if a.Logs, err = s.tailLogs(ctx, lines); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// tailLogs reads the last n lines of each level from the log stream.
func (s *server) tailLogs(ctx context.Context, n int) (logTail, error) {
	t := logTail{
		LogMessages: []string{}, WarnMessages: []string{}, ErrorMessages: []string{},
		Entries: logEntries{LogMessages: []logEntry{}, WarnMessages: []logEntry{}, ErrorMessages: []logEntry{}},
	}
	if s.logBook == nil {
		t.Message = logsOffMessage
		return t, nil
	}
	t.Enabled = true
	for _, f := range []struct {
		level   slog.Level
		lines   *[]string
		entries *[]logEntry
	}{
		{slog.LevelInfo, &t.LogMessages, &t.Entries.LogMessages},
		{slog.LevelWarn, &t.WarnMessages, &t.Entries.WarnMessages},
		{slog.LevelError, &t.ErrorMessages, &t.Entries.ErrorMessages},
	} {
		lines, err := s.logBook.Tail(ctx, f.level, n)
		if err != nil {
			return logTail{}, fmt.Errorf("reading the %s log lines: %w", f.level, err)
		}
		for _, l := range lines {
			*f.lines = append(*f.lines, formatLine(l))
			*f.entries = append(*f.entries, logEntry{
				Time: Time{l.Time}, Level: l.Level.String(), Process: l.Process, Msg: l.Msg, Attrs: l.Attrs,
			})
		}
	}
	return t, nil
}

// truncateLogs removes the log lines from the stream, as cancel with
// resetLogs and reset do, and says what it did in a note for the answer's
// message. The services' log files (make run) are theirs, and left alone.
func (s *server) truncateLogs(ctx context.Context) (bool, string) {
	if s.logBook == nil {
		return false, "log lines not removed: " + logsOffMessage
	}
	if err := s.logBook.Truncate(ctx); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "removing the log lines", slog.Any("error", err))
		return false, "log lines not removed: " + err.Error()
	}
	return true, "log lines removed"
}
