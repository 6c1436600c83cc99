package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// Publish makes log, a logger New built with Config.Stream set, publish
// its INFO, WARN and ERROR records on nc (see events.SubjectLogs) until
// the returned detach is called. Until then a record goes out on the first
// attached connection that is not closed: the services of one process
// (all in one) each attach theirs. For any other logger Publish does
// nothing.
//
// A record is published with core NATS, never waiting: while no
// connection is up it is lost to the stream (stdout and the files keep
// it), and the LOGS stream, which control creates, stores it only once it
// exists.
func Publish(log *slog.Logger, nc *nats.Conn) (detach func()) {
	h, ok := log.Handler().(handler)
	if !ok || h.pub == nil {
		return func() {}
	}
	h.pub.attach(nc)
	return func() { h.pub.detach(nc) }
}

// handler is the handler New returns: the console, file and stream
// handlers, and the publisher that Publish attaches connections to.
type handler struct {
	slog.Handler
	pub *publisher // nil when the records are not published
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{Handler: h.Handler.WithAttrs(attrs), pub: h.pub}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{Handler: h.Handler.WithGroup(name), pub: h.pub}
}

// publisher holds the connections the records of one logger go out on.
type publisher struct {
	mu    sync.Mutex
	conns []*nats.Conn
}

func (p *publisher) attach(nc *nats.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, nc)
}

func (p *publisher) detach(nc *nats.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = slices.DeleteFunc(p.conns, func(c *nats.Conn) bool { return c == nc })
}

// conn returns the first attached connection that is not closed, or nil.
func (p *publisher) conn() *nats.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, nc := range p.conns {
		if !nc.IsClosed() {
			return nc
		}
	}
	return nil
}

// subjectWriter publishes every Write, one record of a JSON handler, on
// subject.
type subjectWriter struct {
	pub     *publisher
	subject string
}

// Write publishes p when a connection is attached, and drops it
// otherwise; it never fails, as a record lost to the stream is no reason
// to fail the others.
func (w subjectWriter) Write(p []byte) (int, error) {
	if nc := w.pub.conn(); nc != nil {
		_ = nc.Publish(w.subject, bytes.TrimSuffix(p, []byte("\n"))) // copies p; fails only while closed or too big
	}
	return len(p), nil
}

// streamHandlers returns the handlers that publish process's records of
// each bucket through pub.
func streamHandlers(cfg Config, pub *publisher) []slog.Handler {
	var hs []slog.Handler
	for _, b := range buckets() {
		w := subjectWriter{pub: pub, subject: events.LogSubject(b.name, cfg.Process)}
		hs = append(hs, levelRange{min: b.min, max: b.max, next: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.Level})})
	}
	return hs
}

// tailWait bounds how long Tail waits for Follow to read what the stream
// held when Tail was called.
const tailWait = 2 * time.Second

// A Book holds the last lines of every process's records in the LOGS
// stream, by level, as Follow reads them; Tail returns them. It is the
// reader of what Publish writes. Its methods are safe for concurrent use.
type Book struct {
	js   jetstream.JetStream
	size int // lines kept per level

	mu    sync.Mutex
	lines [3][]bookLine // per bucket, in stream order
	seen  uint64        // the sequence of the last record read
	// followed says that a Follow ran before: one that runs again
	// announces what was published after the last line that one read.
	followed bool
	changed  chan struct{} // closed, and replaced, when seen grows
}

// bookLine is a line and its stream sequence.
type bookLine struct {
	Line
	seq uint64
}

// NewBook returns a book of the LOGS stream on js that keeps the last
// size lines of each level. Nothing is read until Follow runs.
func NewBook(js jetstream.JetStream, size int) *Book {
	return &Book{js: js, size: size, changed: make(chan struct{})}
}

// Follow reads the whole LOGS stream into the book, then every record
// published after, until ctx is done; it then returns nil. It calls fn,
// on a goroutine of its own, with every WARN or ERROR line published
// after Follow started (or, when Follow runs again, after the last line
// the previous one read). It returns an error, and reads nothing, while
// the stream does not exist. Records that are not a log line are skipped.
func (b *Book) Follow(ctx context.Context, fn func(Line)) error {
	stream, err := b.js.Stream(ctx, events.StreamLogs)
	if err != nil {
		return fmt.Errorf("following stream %s: %w", events.StreamLogs, err)
	}
	b.mu.Lock()
	announceAfter := stream.CachedInfo().State.LastSeq
	if b.followed {
		announceAfter = b.seen
	}
	b.lines, b.seen, b.followed = [3][]bookLine{}, 0, true
	b.mu.Unlock()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("following stream %s: %w", events.StreamLogs, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		l, ok := b.add(m.Subject(), m.Data(), md.Sequence.Stream)
		if ok && md.Sequence.Stream > announceAfter && l.Level >= slog.LevelWarn {
			fn(l)
		}
	})
	if err != nil {
		return fmt.Errorf("following stream %s: %w", events.StreamLogs, err)
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}

// add adds the record data, read at seq from subject, to the book.
func (b *Book) add(subject string, data []byte, seq uint64) (Line, bool) {
	defer b.saw(seq)
	_, process, ok := strings.Cut(strings.TrimPrefix(subject, events.SubjectLogsPrefix), ".")
	if !ok || !validProcess(process) {
		return Line{}, false
	}
	l, err := parseLine(data, process)
	if err != nil {
		return Line{}, false
	}
	bk, ok := bucketOf(l.Level)
	if !ok {
		return Line{}, false
	}
	i := slices.IndexFunc(buckets(), func(x bucket) bool { return x.name == bk.name })
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines[i] = append(b.lines[i], bookLine{Line: l, seq: seq})
	if ls := b.lines[i]; len(ls) >= 2*b.size { // trimmed now and then, not on every line
		b.lines[i] = slices.Clone(ls[len(ls)-b.size:])
	}
	return l, true
}

// saw notes that the book has read the stream up to seq.
func (b *Book) saw(seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq > b.seen {
		b.seen = seq
		close(b.changed)
		b.changed = make(chan struct{})
	}
}

// Tail returns the last n lines (at most) of level in the stream, oldest
// first, as Tail of the files does: INFO (and up to WARN) reads the info
// records, WARN the warn records, ERROR the error records. It first waits,
// up to 2 s, for Follow to read the records the stream held when Tail was
// called. A stream that does not exist yet has no lines.
func (b *Book) Tail(ctx context.Context, level slog.Level, n int) ([]Line, error) {
	bk, ok := bucketOf(level)
	if !ok {
		return nil, fmt.Errorf("tailing logs: no record is kept at level %s", level)
	}
	stream, err := b.js.Stream(ctx, events.StreamLogs)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tailing stream %s: %w", events.StreamLogs, err)
	}
	state := stream.CachedInfo().State
	if state.Msgs > 0 {
		b.await(ctx, state.LastSeq)
	}
	i := slices.IndexFunc(buckets(), func(x bucket) bool { return x.name == bk.name })
	n = min(n, b.size)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Line
	ls := b.lines[i]
	for j := len(ls) - 1; j >= 0 && len(out) < n; j-- {
		if ls[j].seq < state.FirstSeq { // purged (Truncate), here or by another api
			break
		}
		out = append(out, ls[j].Line)
	}
	slices.Reverse(out)
	return out, nil
}

// await waits until the book has read the stream up to seq, ctx is done
// or tailWait has passed.
func (b *Book) await(ctx context.Context, seq uint64) {
	timer := time.NewTimer(tailWait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		seen, changed := b.seen, b.changed
		b.mu.Unlock()
		if seen >= seq {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Truncate removes every record from the LOGS stream; every book's Tail
// then leaves out the lines read before. A stream that does not exist yet
// holds nothing to remove.
func (b *Book) Truncate(ctx context.Context) error {
	stream, err := b.js.Stream(ctx, events.StreamLogs)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err == nil {
		err = stream.Purge(ctx)
	}
	if err != nil {
		return fmt.Errorf("truncating stream %s: %w", events.StreamLogs, err)
	}
	return nil
}
