package socketio

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
)

// Events the server emits, named as the original's gateway named them.
const (
	// EventConnected greets a socket: {message, timestamp, clientId}.
	EventConnected = "connected"
	// EventStatus is the status of the current run as GET /pedidos
	// answers it, plus version, monoMs, message, target and timestamp (and
	// previous, at and reason on a phase change).
	EventStatus = "status"
	// EventProgress is {version, monoMs, phase, progress, total, current,
	// generated, message, vipProcessed, normalProcessed, vipProcessingTime,
	// normalProcessingTime, runId, timestamp}.
	EventProgress = "progress"
	// EventLog is one WARN or ERROR line: {timestamp, level, message,
	// category, data}.
	EventLog = "log"
)

// Messages a client may send, as the original's clients send them.
// get-status is answered with a status event (and the ack, if asked); the
// others are acknowledged and do nothing, as in the original.
const (
	MessageGetStatus       = "get-status"
	MessageStartGeneration = "start-generation"
	MessageCancelOperation = "cancel-operation"
	MessageResetSystem     = "reset-system"
)

// payloadVersion is the version field of status and progress events: the
// original's "contract v2".
const payloadVersion = 2

// connectedEvent is the data of EventConnected. Timestamp is Unix
// milliseconds, as the original's Date.now().
type connectedEvent struct {
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"`
	ClientID  string `json:"clientId"`
}

// snapshot is the part of a status (the JSON of GET /pedidos) the events
// are built from.
type snapshot struct {
	Phase      events.Phase      `json:"phase"`
	RunID      *string           `json:"runId"`
	Counts     events.ByPriority `json:"counts"`
	Failed     events.ByPriority `json:"failed"`
	Processing struct {
		VIP    window `json:"vip"`
		Normal window `json:"normal"`
	} `json:"processing"`
	ETA struct {
		ProgressPercent float64 `json:"progressPercent"`
	} `json:"eta"`
	Progress struct {
		Target         int64 `json:"target"`
		Generated      int64 `json:"generated"`
		ProcessedTotal int64 `json:"processedTotal"`
	} `json:"progress"`
}

// window is one priority's processing window of a status.
type window struct {
	Start  *string `json:"start"`
	End    *string `json:"end"`
	TimeMs *int64  `json:"timeMs"`
	Count  int64   `json:"count"`
}

func (sn *snapshot) runID() string {
	if sn.RunID == nil {
		return ""
	}
	return *sn.RunID
}

// statusPayload builds a status event from a status (nil when it could
// not be read), for the phase change ev when not nil. A status of another
// run than ev's (the api's view of the run state lags the phase feed by a
// moment) is replaced by what ev says.
func (s *Server) statusPayload(data []byte, ev *events.PhaseEvent) map[string]any {
	out := map[string]any{}
	var sn snapshot
	if data != nil {
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) == nil && json.Unmarshal(data, &sn) == nil &&
			(ev == nil || sn.runID() == ev.RunID) {
			for k, v := range fields {
				out[k] = v
			}
		} else {
			sn = snapshot{}
		}
	}
	if ev != nil {
		if len(out) == 0 {
			sn = eventSnapshot(ev)
			out["counts"] = sn.Counts
			out["failed"] = sn.Failed
			out["processing"] = sn.Processing
		}
		sn.Phase = ev.Phase
		out["phase"] = ev.Phase
		out["runId"] = ev.RunID
		out["previous"] = ev.Previous
		out["at"] = ev.At.UTC().Format(time.RFC3339Nano)
		if ev.Reason != "" {
			out["reason"] = ev.Reason
		}
	}
	out["version"] = payloadVersion
	out["monoMs"] = s.monoMs()
	out["timestamp"] = time.Now().UnixMilli()
	if sn.Phase == "" {
		out["message"] = "status unavailable"
	} else {
		out["message"] = phaseMessage(sn.Phase, ev)
	}
	if sn.Progress.Target > 0 {
		out["target"] = sn.Progress.Target
	}
	return out
}

// eventSnapshot is the status a phase event tells by itself.
func eventSnapshot(ev *events.PhaseEvent) snapshot {
	sn := snapshot{Phase: ev.Phase, RunID: &ev.RunID, Counts: ev.Counts.Processed, Failed: ev.Counts.Failed}
	sn.Processing.VIP.Count = ev.Counts.Processed.VIP
	sn.Processing.Normal.Count = ev.Counts.Processed.Normal
	sn.Progress.Generated = ev.Counts.Generated.Total()
	sn.Progress.ProcessedTotal = ev.Counts.Processed.Total()
	return sn
}

// progressEvent is the data of EventProgress. Progress is the share of
// the run's orders in a final state (processed or failed), 0–100; Current
// counts them against Total, the run's quantity. Processing times are
// milliseconds, absent until measured.
type progressEvent struct {
	Version              int          `json:"version"`
	MonoMs               int64        `json:"monoMs"`
	Phase                events.Phase `json:"phase"`
	Progress             float64      `json:"progress"`
	Total                int64        `json:"total"`
	Current              int64        `json:"current"`
	Generated            int64        `json:"generated"`
	Message              string       `json:"message"`
	VIPProcessed         int64        `json:"vipProcessed"`
	NormalProcessed      int64        `json:"normalProcessed"`
	VIPProcessingTime    *int64       `json:"vipProcessingTime,omitempty"`
	NormalProcessingTime *int64       `json:"normalProcessingTime,omitempty"`
	RunID                string       `json:"runId,omitempty"`
	Timestamp            int64        `json:"timestamp"`
}

// progressPayload builds a progress event from a status.
func (s *Server) progressPayload(data []byte) progressEvent {
	var sn snapshot
	if err := json.Unmarshal(data, &sn); err != nil {
		s.logger.Warn("undecodable status for a socket.io progress event", slog.Any("error", err))
	}
	done := sn.Counts.Total() + sn.Failed.Total()
	return progressEvent{
		Version:              payloadVersion,
		MonoMs:               s.monoMs(),
		Phase:                sn.Phase,
		Progress:             sn.ETA.ProgressPercent,
		Total:                sn.Progress.Target,
		Current:              done,
		Generated:            sn.Progress.Generated,
		Message:              fmt.Sprintf("%s: %d of %d orders done", sn.Phase, done, sn.Progress.Target),
		VIPProcessed:         sn.Counts.VIP,
		NormalProcessed:      sn.Counts.Normal,
		VIPProcessingTime:    sn.Processing.VIP.TimeMs,
		NormalProcessingTime: sn.Processing.Normal.TimeMs,
		RunID:                sn.runID(),
		Timestamp:            time.Now().UnixMilli(),
	}
}

// logEvent is the data of EventLog, in the original's shape: Level is
// "warn" or "error", Category the process that logged the line, Data its
// attributes.
type logEvent struct {
	Timestamp int64          `json:"timestamp"`
	Level     string         `json:"level"`
	Message   string         `json:"message"`
	Category  string         `json:"category"`
	Data      map[string]any `json:"data,omitempty"`
}

func logPayload(l logs.Line) logEvent {
	return logEvent{
		Timestamp: l.Time.UnixMilli(),
		Level:     strings.ToLower(l.Level.String()),
		Message:   l.Msg,
		Category:  l.Process,
		Data:      l.Attrs,
	}
}

// phaseMessage says in words what phase p means.
func phaseMessage(p events.Phase, ev *events.PhaseEvent) string {
	var msg string
	switch p {
	case events.PhaseIdle:
		msg = "no run yet"
	case events.PhaseGenerating:
		msg = "generating orders; VIP orders are processed as they are published"
	case events.PhaseEnqueueVIP:
		msg = "generation finished; accounting for every VIP order"
	case events.PhaseWaitingVIPDrain:
		msg = "waiting for the last VIP orders to be processed"
	case events.PhaseEnqueueNormal:
		msg = "VIP orders drained; NORMAL orders released"
	case events.PhaseWaitingNormalDrain:
		msg = "processing NORMAL orders"
	case events.PhaseDone:
		msg = "run finished: every order processed"
	case events.PhaseError:
		msg = "run stopped on an error"
	case events.PhaseAborted:
		msg = "run cancelled"
	default:
		msg = "unknown phase"
	}
	if ev != nil && ev.Reason != "" {
		msg += ": " + ev.Reason
	}
	return string(p) + ": " + msg
}

// monoMs is the milliseconds since the server started, on the monotonic
// clock (the original's performance.now()).
func (s *Server) monoMs() int64 {
	return time.Since(s.started).Milliseconds()
}
