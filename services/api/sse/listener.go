package sse

import (
	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
)

// A Listener takes the hub's events as the hub produces them, for a
// consumer that is not an SSE client: the socket.io endpoint. Each function
// may be nil. They are called from the hub's own goroutines, outside its
// lock, each kind in order; they must return at once (hand the event to a
// goroutine of the listener's) and must not call the hub.
type Listener struct {
	// Phase receives every phase event the hub follows, with its sequence
	// number in the CONTROL stream.
	Phase func(seq uint64, ev *events.PhaseEvent)
	// Progress receives the data of every progress event: what
	// Config.Progress returned.
	Progress func(data []byte)
	// Log receives every WARN and ERROR line appended to the log files.
	Log func(l logs.Line)
	// Wants reports whether the listener has clients of its own that want
	// progress events now. The hub takes progress snapshots only while an
	// SSE client is connected or a listener wants them. Nil means never.
	// It is called under the hub's lock, so it must be cheap.
	Wants func() bool
}

// Listen registers l until the returned function is called. Listening
// does not count as a client (see Clients).
func (h *Hub) Listen(l Listener) (stop func()) {
	p := &l
	h.mu.Lock()
	h.listeners[p] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.listeners, p)
		h.mu.Unlock()
	}
}

// wanted reports whether anyone takes progress events now: an SSE client,
// or a listener that wants them.
func (h *Hub) wanted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) > 0 {
		return true
	}
	for l := range h.listeners {
		if l.Wants != nil && l.Wants() {
			return true
		}
	}
	return false
}

// listening returns the registered listeners.
func (h *Hub) listening() []*Listener {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Listener, 0, len(h.listeners))
	for l := range h.listeners {
		out = append(out, l)
	}
	return out
}

func (h *Hub) notifyPhase(seq uint64, ev *events.PhaseEvent) {
	for _, l := range h.listening() {
		if l.Phase != nil {
			l.Phase(seq, ev)
		}
	}
}

func (h *Hub) notifyProgress(data []byte) {
	for _, l := range h.listening() {
		if l.Progress != nil {
			l.Progress(data)
		}
	}
}

func (h *Hub) notifyLog(line logs.Line) {
	for _, l := range h.listening() {
		if l.Log != nil {
			l.Log(line)
		}
	}
}
