// Package sse streams the phases and the progress of runs, and the warnings
// and errors the services log, to HTTP clients as server-sent events.
//
// One Hub per process does the work once for every client: a single ordered
// JetStream consumer follows the phase events of the CONTROL stream (the
// newest ones stay in a ring for Last-Event-ID replay), a single ticker
// takes progress snapshots while a run is active, and a single follower of
// the log files picks up WARN and ERROR lines as they are appended. Each
// client has bounded buffers: a client too slow to take phase events is
// disconnected, to reconnect with Last-Event-ID and replay what it missed,
// so that it never holds up the others; progress snapshots a slow client
// has not taken yet are replaced by newer ones; log lines a slow client has
// no room for are dropped for that client (they stay in the files, and GET
// /pedidos/logs shows them).
//
// Frames are written with the low-level Session and Message API of
// github.com/tmaxmax/go-sse (whose package is also named sse).
package sse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tmaxmax/go-sse"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api/internal/retry"
)

// Event types sent to clients.
const (
	// EventPhase carries an events.PhaseEvent; its id is the event's
	// sequence number in the CONTROL stream.
	EventPhase = "phase"
	// EventProgress carries the status of the current run.
	EventProgress = "progress"
	// EventLog carries a WARN or ERROR line appended to the log files:
	// {time, level, process, msg}. It has no id and is not replayed.
	EventLog = "log"
)

// Defaults of Config.
const (
	DefaultHistory          = 256
	DefaultClientBuffer     = 64
	DefaultProgressInterval = 250 * time.Millisecond
	DefaultHeartbeat        = 15 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
)

// ErrClosed is returned by Serve once the hub is closed.
var ErrClosed = errors.New("event stream closed")

// errStreamReplaced ends a feed whose stream was deleted or re-created.
var errStreamReplaced = errors.New("stream deleted or re-created")

// replacedCheckInterval is how long the phase feed may be quiet before the
// hub checks that its stream is still the one it follows.
const replacedCheckInterval = 2 * time.Second

// Config configures a Hub.
type Config struct {
	// JetStream reads the CONTROL stream. Required.
	JetStream jetstream.JetStream
	// Active reports whether a run is going. It is called on every progress
	// tick, so it must be cheap. Required.
	Active func() bool
	// Progress returns the data of a progress event. It is called once per
	// tick while a run is active and clients are connected. Required.
	Progress func(context.Context) ([]byte, error)
	// Logs is the book of the services' log lines, followed for log
	// events; nil sends none.
	Logs *logs.Book
	// Logger receives the hub's logs; nil discards them.
	Logger *slog.Logger
	// History is how many phase events are kept for Last-Event-ID replay.
	History int
	// ClientBuffer is how many phase events may wait for a client before
	// the client is disconnected, and how many log events before the next
	// ones are dropped for it.
	ClientBuffer int
	// ProgressInterval is the period of progress events.
	ProgressInterval time.Duration
	// Heartbeat is the period of the keep-alive comment.
	Heartbeat time.Duration
	// WriteTimeout bounds every write to a client.
	WriteTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.History <= 0 {
		c.History = DefaultHistory
	}
	if c.ClientBuffer <= 0 {
		c.ClientBuffer = DefaultClientBuffer
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c
}

// Hub fans the phase and progress events of one process out to its clients.
type Hub struct {
	cfg       Config
	logger    *slog.Logger
	heartbeat *sse.Message

	closeOnce sync.Once
	done      chan struct{} // closed by Close

	mu      sync.Mutex
	ring    *ring
	lastSeq uint64
	created time.Time // when the stream the ring comes from was created
	clients map[*client]struct{}
	// listeners take the events besides the clients (see Listen).
	listeners map[*Listener]struct{}
}

// client is one connected stream.
type client struct {
	phases   chan *sse.Message
	progress chan *sse.Message // holds the newest snapshot only
	logs     chan *sse.Message
	dropped  chan struct{} // closed when the hub disconnects the client
}

// NewHub returns a hub; Run makes it follow the events.
func NewHub(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	hb := &sse.Message{}
	hb.AppendComment("heartbeat")
	return &Hub{
		cfg:       cfg,
		logger:    cfg.Logger,
		heartbeat: hb,
		done:      make(chan struct{}),
		ring:      newRing(cfg.History),
		clients:   make(map[*client]struct{}),
		listeners: make(map[*Listener]struct{}),
	}
}

// Run follows the phase events and the log files and ticks progress until
// ctx is done. It waits for the CONTROL stream, which the control service
// creates.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { h.followPhases(ctx) })
	wg.Go(func() { h.tickProgress(ctx) })
	if h.cfg.Logs != nil {
		wg.Go(func() { h.followLogs(ctx) })
	}
	wg.Wait()
}

// Close ends every stream and refuses new ones. It is safe to call more
// than once. Run it when the HTTP server shuts down, which waits for
// handlers to return.
func (h *Hub) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// Clients returns the number of connected SSE clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Serve streams events to one client until it goes away, is too slow, or
// the hub closes. It first sends the current phase or, when the request has
// a Last-Event-ID, every phase event after it that the hub still holds.
// It returns an error only when the stream could not start.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request) error {
	sess, err := sse.Upgrade(w, r)
	if err != nil {
		return fmt.Errorf("starting event stream: %w", err)
	}
	c, replay := h.subscribe(sess.LastEventID.String())
	if c == nil {
		return ErrClosed
	}
	defer h.unsubscribe(c)

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // no proxy buffering
	w.WriteHeader(http.StatusOK)
	out := &writer{sess: sess, rc: http.NewResponseController(w), timeout: h.cfg.WriteTimeout}

	heartbeat := time.NewTicker(h.cfg.Heartbeat)
	defer heartbeat.Stop()
	err = out.send(replay...)
	for err == nil {
		select {
		case <-r.Context().Done():
			return nil
		case <-h.done:
			return nil
		case <-c.dropped:
			h.logger.LogAttrs(r.Context(), slog.LevelDebug, "event stream dropped: client too slow",
				slog.String("remote_addr", r.RemoteAddr))
			return nil
		case m := <-c.phases:
			err = out.send(m)
		case m := <-c.progress:
			err = out.send(m)
		case m := <-c.logs:
			err = out.send(m)
		case <-heartbeat.C:
			err = out.send(h.heartbeat)
		}
	}
	h.logger.LogAttrs(r.Context(), slog.LevelDebug, "event stream ended",
		slog.String("remote_addr", r.RemoteAddr), slog.Any("error", err))
	return nil
}

// writer writes messages to one client, each batch under a deadline.
type writer struct {
	sess    *sse.Session
	rc      *http.ResponseController
	timeout time.Duration
}

// send writes msgs and flushes them. The deadline covers this write only:
// an expired deadline cannot be extended (and ends an HTTP/2 stream), so it
// must not run out while the stream is idle.
func (w *writer) send(msgs ...*sse.Message) error {
	// Without deadline support a stuck client holds only its own handler.
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	for _, m := range msgs {
		if err := w.sess.Send(m); err != nil {
			return err
		}
	}
	if err := w.sess.Flush(); err != nil {
		return err
	}
	_ = w.rc.SetWriteDeadline(time.Time{})
	return nil
}

// subscribe registers a client and returns what it must be sent first. It
// returns a nil client once the hub is closed.
func (h *Hub) subscribe(lastEventID string) (*client, []*sse.Message) {
	select {
	case <-h.done:
		return nil, nil
	default:
	}
	c := &client{
		phases:   make(chan *sse.Message, h.cfg.ClientBuffer),
		progress: make(chan *sse.Message, 1),
		logs:     make(chan *sse.Message, h.cfg.ClientBuffer),
		dropped:  make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	if seq, err := strconv.ParseUint(lastEventID, 10, 64); err == nil && h.ring.n > 0 {
		return c, h.ring.after(seq)
	}
	if e, ok := h.ring.last(); ok {
		return c, []*sse.Message{e.msg}
	}
	return c, []*sse.Message{idleMessage(time.Now())}
}

func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// publishPhase keeps a phase event and sends it to every client, dropping
// those whose buffer is full.
func (h *Hub) publishPhase(seq uint64, m *sse.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring.push(entry{seq: seq, msg: m})
	h.lastSeq = seq
	for c := range h.clients {
		select {
		case c.phases <- m:
		default:
			delete(h.clients, c)
			close(c.dropped)
		}
	}
}

// publishProgress sends a progress event to every client, replacing the one
// a client has not taken yet.
func (h *Hub) publishProgress(m *sse.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		// Only this goroutine sends on c.progress, so after taking the
		// stale message out there is room.
		select {
		case c.progress <- m:
		default:
			select {
			case <-c.progress:
			default:
			}
			c.progress <- m
		}
	}
}

// tickProgress publishes a progress event every interval while a run is
// active and clients or listeners want it, and one more when the run ends.
func (h *Hub) tickProgress(ctx context.Context) {
	t := time.NewTicker(h.cfg.ProgressInterval)
	defer t.Stop()
	wasActive, failing := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		active := h.cfg.Active()
		if !active && !wasActive {
			continue
		}
		if !h.wanted() {
			wasActive = active
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		data, err := h.cfg.Progress(pctx)
		cancel()
		if err != nil {
			if !failing && ctx.Err() == nil {
				h.logger.LogAttrs(ctx, slog.LevelWarn, "progress snapshot failed; retrying every tick", slog.Any("error", err))
			}
			failing = true
			continue // wasActive is kept: the final event is retried
		}
		if failing {
			h.logger.LogAttrs(ctx, slog.LevelInfo, "progress snapshots work again")
			failing = false
		}
		wasActive = active
		m := &sse.Message{Type: sse.Type(EventProgress)}
		m.AppendData(string(data))
		h.publishProgress(m)
		h.notifyProgress(data)
	}
}

// followPhases follows the phase events until ctx is done, starting over
// whenever the feed breaks.
func (h *Hub) followPhases(ctx context.Context) {
	var b retry.Backoff
	for {
		err := h.consumePhases(ctx, &b)
		if ctx.Err() != nil {
			return
		}
		level := slog.LevelWarn
		if errors.Is(err, errStreamReplaced) { // a reset does that
			level = slog.LevelInfo
		}
		h.logger.LogAttrs(ctx, level, "phase feed interrupted; following again", slog.Any("error", err))
		if !b.Wait(ctx) {
			return
		}
	}
}

// consumePhases reads the phase events with an ordered consumer, from
// after the last one seen, or from History events back on a first start.
func (h *Hub) consumePhases(ctx context.Context, b *retry.Backoff) error {
	stream, err := retry.Until(ctx, h.logger, b, "stream "+events.StreamControl,
		func(ctx context.Context) (jetstream.Stream, error) {
			return h.cfg.JetStream.Stream(ctx, events.StreamControl)
		})
	if err != nil {
		return err
	}
	info := stream.CachedInfo()
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:   []string{events.SubjectPhase},
		DeliverPolicy:    jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:      h.startSeq(info.Created, info.State.FirstSeq, info.State.LastSeq),
		MaxResetAttempts: 3,
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("creating phase consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("reading phase events: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(replacedCheckInterval))
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrTimeout):
			// Quiet: check that the stream was not deleted or re-created (a
			// reset may do that), which the consumer would not notice.
			if h.replaced(ctx, info.Created) {
				return errStreamReplaced
			}
		case err != nil:
			return fmt.Errorf("reading phase events: %w", err)
		default:
			b.Reset()
			h.handlePhase(ctx, msg)
		}
	}
}

// replaced reports whether the CONTROL stream is gone or is not the one
// created at created. It reports false when it cannot tell.
func (h *Hub) replaced(ctx context.Context, created time.Time) bool {
	ctx, cancel := context.WithTimeout(ctx, replacedCheckInterval)
	defer cancel()
	st, err := h.cfg.JetStream.Stream(ctx, events.StreamControl)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return true
	}
	return err == nil && !st.CachedInfo().Created.Equal(created)
}

// startSeq is the first sequence to read of the stream created at created:
// after the last event seen, else History events back. A stream other than
// the one the ring comes from (re-created by a reset) starts afresh.
func (h *Hub) startSeq(created time.Time, first, last uint64) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !created.Equal(h.created) || h.lastSeq > last {
		h.ring.reset()
		h.lastSeq = 0
		h.created = created
	}
	start := h.lastSeq + 1
	if h.lastSeq == 0 && last >= uint64(h.cfg.History) {
		start = last - uint64(h.cfg.History) + 1
	}
	return max(start, first, 1)
}

// handlePhase decodes one phase message and publishes it.
func (h *Hub) handlePhase(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		h.logger.LogAttrs(ctx, slog.LevelWarn, "ignoring phase message without metadata", slog.Any("error", err))
		return
	}
	var ev events.PhaseEvent
	if err := json.Unmarshal(msg.Data(), &ev); err != nil {
		h.logger.LogAttrs(ctx, slog.LevelWarn, "ignoring undecodable phase event",
			slog.Uint64("seq", meta.Sequence.Stream), slog.Any("error", err))
		return
	}
	h.publishPhase(meta.Sequence.Stream, phaseMessage(meta.Sequence.Stream, &ev))
	h.notifyPhase(meta.Sequence.Stream, &ev)
}

// phaseMessage encodes ev as the phase event of stream sequence seq.
func phaseMessage(seq uint64, ev *events.PhaseEvent) *sse.Message {
	data, _ := json.Marshal(ev) // a PhaseEvent always marshals
	m := &sse.Message{ID: sse.ID(strconv.FormatUint(seq, 10)), Type: sse.Type(EventPhase)}
	m.AppendData(string(data))
	return m
}

// idleMessage is the phase event sent on connect before any run: it has no
// id, so that it does not move the client's Last-Event-ID.
func idleMessage(now time.Time) *sse.Message {
	data, _ := json.Marshal(events.PhaseEvent{Phase: events.PhaseIdle, At: now.UTC()})
	m := &sse.Message{Type: sse.Type(EventPhase)}
	m.AppendData(string(data))
	return m
}
