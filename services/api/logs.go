package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/infra/logs"
)

// logsOffMessage says why GET /logs has no lines.
const logsOffMessage = "file logging is off (BACKEND_LOGS=false)"

// logsAnswer is the answer of GET /pedidos/logs.
type logsAnswer struct {
	// ProcessLog is the current run's metrics, as GET /pedidos answers.
	ProcessLog Status `json:"processLog"`
	// QueueStatus is GET /pedidos/queue/status, or null while POST
	// /queue/close holds the queue connection closed.
	QueueStatus *queueStatus `json:"queueStatus"`
	Logs        logTail      `json:"logs"`
	QuickStats  quickStats   `json:"quickStats"`
}

// logTail holds the last lines of each log file, oldest first. Lines are
// objects, not the files' text: a client filters and formats them without
// parsing a format.
type logTail struct {
	// Enabled is false when the services write no log files; Message then
	// says so, and the lists are empty.
	Enabled       bool       `json:"enabled"`
	Message       string     `json:"message,omitempty"`
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

// getLogs handles GET /pedidos/logs?lines=N: the last N lines of each log
// file (info, warn, error), with the run's metrics and the queue's counts.
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
		ProcessLog: st,
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
	if a.Logs, err = tailLogs(s.cfg.LogDir, lines); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// tailLogs reads the last n lines of each log file of dir; "" means file
// logs are off.
func tailLogs(dir string, n int) (logTail, error) {
	t := logTail{LogMessages: []logEntry{}, WarnMessages: []logEntry{}, ErrorMessages: []logEntry{}}
	if dir == "" {
		t.Message = logsOffMessage
		return t, nil
	}
	t.Enabled = true
	for _, f := range []struct {
		level slog.Level
		dst   *[]logEntry
	}{
		{slog.LevelInfo, &t.LogMessages},
		{slog.LevelWarn, &t.WarnMessages},
		{slog.LevelError, &t.ErrorMessages},
	} {
		lines, err := logs.Tail(dir, f.level, n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // no file yet: no lines
			return logTail{}, fmt.Errorf("reading the %s log of %s: %w", f.level, dir, err)
		}
		for _, l := range lines {
			*f.dst = append(*f.dst, logEntry{
				Time: Time{l.Time}, Level: l.Level.String(), Process: l.Process, Msg: l.Msg, Attrs: l.Attrs,
			})
		}
	}
	return t, nil
}

// truncateLogs empties the log files, as cancel with resetLogs and reset
// do, and says what it did in a note for the answer's message.
func (s *server) truncateLogs(ctx context.Context) (bool, string) {
	dir := s.cfg.LogDir
	if dir == "" {
		return false, "log files not truncated: " + logsOffMessage
	}
	if err := logs.Truncate(dir); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "truncating the log files",
			slog.String("dir", dir), slog.Any("error", err))
		return false, "log files not truncated: " + err.Error()
	}
	return true, "log files truncated"
}
