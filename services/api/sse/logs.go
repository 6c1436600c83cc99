package sse

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tmaxmax/go-sse"

	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api/internal/retry"
)

// logEvent is the data of a log event.
type logEvent struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Process string    `json:"process"`
	Msg     string    `json:"msg"`
}

// followLogs sends a log event for every WARN or ERROR line published on
// the LOGS stream until ctx is done, following it again whenever that
// fails (the stream does not exist until control creates it).
func (h *Hub) followLogs(ctx context.Context) {
	var b retry.Backoff
	for {
		err := h.cfg.Logs.Follow(ctx, h.publishLog)
		if ctx.Err() != nil {
			return
		}
		level := slog.LevelWarn
		if errors.Is(err, jetstream.ErrStreamNotFound) { // control has not created it yet
			level = slog.LevelInfo
		}
		h.logger.LogAttrs(ctx, level, "log stream not followed; following again", slog.Any("error", err))
		if !b.Wait(ctx) {
			return
		}
	}
}

// publishLog sends l to every client that has room for it, and to the
// listeners.
func (h *Hub) publishLog(l logs.Line) {
	data, _ := json.Marshal(logEvent{Time: l.Time.UTC(), Level: l.Level.String(), Process: l.Process, Msg: l.Msg}) // always marshals
	m := &sse.Message{Type: sse.Type(EventLog)}
	m.AppendData(string(data))
	h.sendLog(m)
	h.notifyLog(l)
}

// sendLog sends m to every client that has room for it.
func (h *Hub) sendLog(m *sse.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.logs <- m:
		default: // a slow client misses the line; GET /logs has it
		}
	}
}
