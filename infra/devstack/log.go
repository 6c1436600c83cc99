package devstack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// natsLogger adapts slog to nats-server's Logger. Notices (the start-up
// banner, one line per setting) go to debug; warnings and errors keep their
// level. Fatal errors are logged, never exit the process.
// nats-server's Logger methods take no ctx, hence slog's ctx-less methods.
type natsLogger struct {
	l *slog.Logger
}

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }

// minLevelHandler drops records below min before they reach the wrapped
// handler: FerretDB is chatty below error. FerretDB also adds attributes to
// a logger for every SQL statement it runs (the statement and its
// arguments, i.e. whole documents) and then logs at debug, which is
// dropped; a handler formats attributes as soon as they are added, which
// cost FerretDB a fifth of its CPU under load. So attributes and groups are
// kept as they are and handed to the wrapped handler only when a record
// gets through.
type minLevelHandler struct {
	min   slog.Level
	inner slog.Handler
	with  []withOp // applied to inner, in order, when a record is handled
}

// withOp is one WithAttrs (attrs set) or WithGroup call not yet applied.
type withOp struct {
	group string
	attrs []slog.Attr
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.inner.Enabled(ctx, level)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	inner := h.inner
	for _, op := range h.with {
		if op.attrs != nil {
			inner = inner.WithAttrs(op.attrs)
		} else {
			inner = inner.WithGroup(op.group)
		}
	}
	return inner.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.push(withOp{attrs: attrs})
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.push(withOp{group: name})
}

// push returns h with op added; h's own list is never appended to in place,
// as loggers derived from the same one share it.
func (h minLevelHandler) push(op withOp) minLevelHandler {
	h.with = append(h.with[:len(h.with):len(h.with)], op)
	return h
}

// outputLog is the io.Writer a child process writes its output to. It logs
// each line at debug and keeps the last few, so that a child that exits
// before it is ready can say why.
type outputLog struct {
	l *slog.Logger

	mu      sync.Mutex
	partial []byte
	tail    []string
}

// outputTailLines is how many lines outputLog keeps.
const outputTailLines = 10

func (o *outputLog) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(o.partial[:i]), " \r")
		o.partial = o.partial[i+1:]
		if line == "" {
			continue
		}
		o.l.Debug(line)
		o.tail = append(o.tail, line)
		if len(o.tail) > outputTailLines {
			o.tail = o.tail[1:]
		}
	}
}

// Tail returns the last lines written, joined by newlines.
func (o *outputLog) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(append(o.tail, string(o.partial)), "\n")
}
