// Package socketio serves the live events of the original project's
// socket.io gateway, so that its clients (a dashboard built on
// socket.io-client 4) keep working: Socket.IO v4 over Engine.IO 4, with the
// websocket and the HTTP long-polling transports, on the default namespace.
//
// A client gets connected {message, timestamp, clientId} when it connects,
// then the current status; status on every phase change and at least every
// StatusInterval (plus a snapshot period) during a run; progress at most
// every ProgressInterval; and log {timestamp, level, message} for every
// WARN and ERROR line the services log. Payloads are in payload.go.
//
// The events come from the sse.Hub that feeds GET /pedidos/events — its
// phase feed, its progress snapshots and its log follower — through a
// listener: one goroutine (Run) turns them into socket.io events and
// broadcasts them. SSE stays the primary interface; this one adds no source.
//
// The protocol is github.com/zishang520/socket.io/servers/socket/v3, a Go
// port of the Node.js server (its package is named socket).
package socketio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api/sse"
)

// Defaults of Config.
const (
	DefaultProgressInterval = 250 * time.Millisecond
	DefaultStatusInterval   = time.Second
	DefaultPingInterval     = 25 * time.Second
	DefaultPingTimeout      = 20 * time.Second
)

// Bounds of the server.
const (
	// maxMessageSize bounds what a client may send at once; its messages
	// are a few bytes.
	maxMessageSize = 64 << 10
	// inputBuffer is how many events wait for Run before the next are
	// dropped (logged): Run only encodes them and hands them to the
	// library, so it never falls that far behind.
	inputBuffer = 256
	// statusTimeout bounds reading the status for a status event.
	statusTimeout = 2 * time.Second
)

// ErrClosed is returned by Serve once the server is closed.
var ErrClosed = errors.New("socket.io server closed")

// Config configures a Server.
type Config struct {
	// Hub is the source of the phase, progress and log events. Required.
	Hub *sse.Hub
	// Status returns the status of the current run, as GET /pedidos
	// answers it (JSON): the same data as the hub's progress events.
	// Required.
	Status func(context.Context) ([]byte, error)
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// ProgressInterval is the least time between two progress events.
	ProgressInterval time.Duration
	// StatusInterval is the most time between two status events during a
	// run, give or take the period of the hub's snapshots.
	StatusInterval time.Duration
	// PingInterval and PingTimeout are Engine.IO's heartbeat: a client
	// that does not answer a ping within PingTimeout is disconnected.
	PingInterval, PingTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	return c
}

// Server is the socket.io endpoint of one api process.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	io      *socket.Server
	handler http.Handler
	started time.Time // monoMs counts from here

	closeMu sync.Mutex
	closed  atomic.Bool
	// clients counts the connected sockets.
	clients atomic.Int64

	// What Run works on, from the hub's listener and the sockets.
	phases   chan *events.PhaseEvent
	progress chan []byte // holds the newest snapshot only
	lines    chan logs.Line
	requests chan request
}

// request asks Run to send the current status to one socket, and to ack
// with it when ack is set.
type request struct {
	sock *socket.Socket
	ack  socket.Ack
}

// New returns a server; Run feeds it, Serve serves its clients.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetAllowEIO3(false)
	opts.SetPingInterval(cfg.PingInterval)
	opts.SetPingTimeout(cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(maxMessageSize)
	// CORS is the caller's (see Serve): the library adds no header of its
	// own and, with no Origin left in the request, checks none.
	opts.SetCors(nil)
	s := &Server{
		cfg:      cfg,
		logger:   cfg.Logger,
		io:       socket.NewServer(nil, opts),
		started:  time.Now(),
		phases:   make(chan *events.PhaseEvent, inputBuffer),
		progress: make(chan []byte, 1),
		lines:    make(chan logs.Line, inputBuffer),
		requests: make(chan request, inputBuffer),
	}
	s.handler = s.io.ServeHandler(nil)
	_ = s.io.On("connection", s.onConnection) // only reserved names fail
	return s
}

// Serve serves one Engine.IO request: a polling request or a websocket
// upgrade. The caller decides CORS: it answers preflights and checks the
// Origin of the request before, and Serve removes the header so that the
// websocket upgrade does not refuse an origin the caller allowed (it would
// compare it with the Host). A request refused, by Serve or by the
// library, is not answered: Serve returns a *RequestError for the caller
// to answer in its own shape. It returns ErrClosed once the server is
// closed.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := checkQuery(r); err != nil {
		return err
	}
	r = r.WithContext(r.Context())
	r.Header = r.Header.Clone()
	r.Header.Del("Origin")
	ew := &errorWriter{ResponseWriter: w}
	s.handler.ServeHTTP(ew, r)
	return ew.err()
}

// Clients returns the number of connected sockets.
func (s *Server) Clients() int {
	return int(s.clients.Load())
}

// Close disconnects every client, ending their long-polling requests and
// closing their websockets, and refuses new ones. It is safe to call more
// than once, and each call also disconnects the clients whose handshake
// was in flight during the previous one: call it when the HTTP server
// starts shutting down, and again once it has.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.closed.Store(true)
	s.io.Close(nil)
}

// onConnection greets a new socket and answers its messages. It runs on
// the library's goroutine of the connection.
func (s *Server) onConnection(args ...any) {
	sock, ok := args[0].(*socket.Socket)
	if !ok {
		return
	}
	s.clients.Add(1)
	_ = sock.On("disconnect", func(...any) { s.clients.Add(-1) })
	s.emitTo(sock, EventConnected, connectedEvent{
		Message:   "Connected to order processing server",
		Timestamp: time.Now().UnixMilli(),
		ClientID:  string(sock.Id()),
	})
	s.ask(request{sock: sock})

	_ = sock.On(MessageGetStatus, func(args ...any) {
		ack, _ := lastAck(args)
		s.ask(request{sock: sock, ack: ack})
	})
	// The original acknowledged these and did nothing; so does this one.
	for _, name := range []string{MessageStartGeneration, MessageCancelOperation, MessageResetSystem} {
		_ = sock.On(name, func(args ...any) {
			if ack, ok := lastAck(args); ok {
				ack([]any{notPerformed(name)}, nil)
			}
		})
	}
}

// lastAck returns the acknowledgement callback a client asked for: the
// last argument of its message.
func lastAck(args []any) (socket.Ack, bool) {
	if len(args) == 0 {
		return nil, false
	}
	ack, ok := args[len(args)-1].(socket.Ack)
	return ack, ok
}

// ask hands a request to Run, dropping it when Run is that far behind.
func (s *Server) ask(r request) {
	select {
	case s.requests <- r:
	default:
		s.logger.Warn("socket.io status request dropped: too many waiting", slog.String("client_id", string(r.sock.Id())))
	}
}

// emitTo sends one event to one socket.
func (s *Server) emitTo(sock *socket.Socket, event string, payload any) {
	if err := sock.Emit(event, payload); err != nil { // only a reserved name fails
		s.logger.Error("emitting socket.io event", slog.String("event", event), slog.Any("error", err))
	}
}

// broadcast sends one event to every socket.
func (s *Server) broadcast(event string, payload any) {
	s.io.Emit(event, payload)
}

// hasClients tells the hub whether progress snapshots are wanted.
func (s *Server) hasClients() bool { return s.clients.Load() > 0 }

// The hub's listener: hand each event to Run without blocking.

func (s *Server) takePhase(_ uint64, ev *events.PhaseEvent) {
	select {
	case s.phases <- ev:
	default:
		s.logger.Warn("socket.io phase event dropped: too many waiting", slog.String("phase", string(ev.Phase)))
	}
}

func (s *Server) takeProgress(data []byte) {
	// Only the listener sends on s.progress: after taking the stale
	// snapshot out there is room.
	select {
	case s.progress <- data:
	default:
		select {
		case <-s.progress:
		default:
		}
		s.progress <- data
	}
}

func (s *Server) takeLog(l logs.Line) {
	select {
	case s.lines <- l:
	default: // the files keep it, and GET /pedidos/logs shows it
	}
}

// Run turns the hub's events into socket.io events until ctx is done. It
// is the only goroutine that builds and broadcasts them.
func (s *Server) Run(ctx context.Context) {
	stop := s.cfg.Hub.Listen(sse.Listener{
		Phase: s.takePhase, Progress: s.takeProgress, Log: s.takeLog, Wants: s.hasClients,
	})
	defer stop()
	f := feed{s: s}
	throttle := time.NewTimer(time.Hour)
	throttle.Stop() // armed by snapshot
	defer throttle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.phases:
			f.phase(ctx, ev)
		case data := <-s.progress:
			if wait := f.snapshot(data); wait > 0 {
				throttle.Reset(wait)
			}
		case <-throttle.C:
			f.flush()
		case l := <-s.lines:
			s.broadcast(EventLog, logPayload(l))
		case r := <-s.requests:
			f.answer(ctx, r)
		}
	}
}

// feed is Run's state: what it sent last, and the progress it holds back.
type feed struct {
	s            *Server
	lastProgress time.Time
	lastStatus   time.Time
	pending      []byte // a snapshot not sent yet as progress
	failing      bool   // reading the status fails
}

// phase broadcasts the status of a phase change.
func (f *feed) phase(ctx context.Context, ev *events.PhaseEvent) {
	f.s.broadcast(EventStatus, f.status(ctx, ev))
	f.lastStatus = time.Now()
}

// snapshot takes a progress snapshot: it broadcasts it as progress now, or
// holds it back and returns how long until it may be; and broadcasts it as
// status when the last one is StatusInterval old.
func (f *feed) snapshot(data []byte) time.Duration {
	now := time.Now()
	if now.Sub(f.lastStatus) >= f.s.cfg.StatusInterval {
		f.s.broadcast(EventStatus, f.s.statusPayload(data, nil))
		f.lastStatus = now
	}
	if wait := f.s.cfg.ProgressInterval - now.Sub(f.lastProgress); wait > 0 {
		held := f.pending != nil
		f.pending = data
		if held { // the timer is already set
			return 0
		}
		return wait
	}
	f.pending = data
	f.flush()
	return 0
}

// flush broadcasts the progress held back.
func (f *feed) flush() {
	if f.pending == nil {
		return
	}
	f.s.broadcast(EventProgress, f.s.progressPayload(f.pending))
	f.pending = nil
	f.lastProgress = time.Now()
}

// answer sends the current status to one socket, and acks with it.
func (f *feed) answer(ctx context.Context, r request) {
	st := f.status(ctx, nil)
	f.s.emitTo(r.sock, EventStatus, st)
	if r.ack != nil {
		r.ack([]any{st}, nil)
	}
}

// status reads the current status and builds a status event of it, for
// the phase change ev when not nil. When the status cannot be read, the
// event carries what ev says.
func (f *feed) status(ctx context.Context, ev *events.PhaseEvent) any {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	data, err := f.s.cfg.Status(ctx)
	switch {
	case err != nil && !f.failing:
		f.failing = true
		f.s.logger.LogAttrs(ctx, slog.LevelWarn, "reading the status for socket.io; sending the phase alone until it works",
			slog.Any("error", err))
	case err == nil && f.failing:
		f.failing = false
		f.s.logger.LogAttrs(ctx, slog.LevelInfo, "reading the status for socket.io works again")
	}
	if err != nil {
		data = nil
	}
	return f.s.statusPayload(data, ev)
}

// notPerformed is the acknowledgement of a command the socket does not
// carry out.
func notPerformed(name string) map[string]any {
	return map[string]any{
		"acknowledged": true,
		"performed":    false,
		"message":      name + " does nothing over socket.io, as in the original: use the HTTP API (POST /pedidos/generate, /cancel, /reset)",
	}
}
