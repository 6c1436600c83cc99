package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lmittmann/tint"
)

// New returns the logger cfg describes. Every record at cfg.Level or above
// goes to stdout in cfg.Format. In addition, when cfg.Dir is set, the INFO,
// WARN and ERROR records go as JSON lines to cfg.Dir/<process>.info.log,
// <process>.warn.log and <process>.error.log, each file holding its level
// only (DEBUG goes to stdout only); the files are rotated at cfg.MaxSizeMB,
// keeping cfg.MaxBackups rotated files each.
//
// When cfg.Stream is set, the INFO, WARN and ERROR records are published
// as well, on every connection Publish attaches.
//
// The logger is safe for concurrent use. Close the returned Closer when the
// process is done logging: it closes the files, and later records go to
// stdout only.
func New(cfg Config, stdout io.Writer) (*slog.Logger, io.Closer, error) {
	console, err := consoleHandler(cfg, stdout)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Stream && !validProcess(cfg.Process) {
		return nil, nil, fmt.Errorf("log stream: process name %q: want letters, digits, '_' or '-'", cfg.Process)
	}
	handlers := []slog.Handler{console}
	var fs files
	if cfg.Dir != "" {
		if fs, err = openFiles(cfg); err != nil {
			return nil, nil, err
		}
		for i, b := range buckets() {
			file := slog.NewJSONHandler(fs[i], &slog.HandlerOptions{Level: cfg.Level})
			handlers = append(handlers, levelRange{min: b.min, max: b.max, next: file})
		}
	}
	h := handler{Handler: slog.NewMultiHandler(handlers...)}
	if cfg.Stream {
		h.pub = &publisher{}
		h.Handler = slog.NewMultiHandler(append(handlers, streamHandlers(cfg, h.pub)...)...)
	}
	return slog.New(h), fs, nil
}

// consoleHandler returns the handler that writes to stdout.
func consoleHandler(cfg Config, stdout io.Writer) (slog.Handler, error) {
	format := cfg.Format
	if format == "" {
		format = "json"
		if isTerminal(stdout) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return tint.NewTextHandler(stdout, &tint.Options{
			Level:      cfg.Level,
			TimeFormat: time.TimeOnly,
			NoColor:    !isTerminal(stdout),
		}), nil
	case "json":
		return slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.Level}), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", cfg.Format)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// openFiles opens the file of every bucket, in the order of buckets().
func openFiles(cfg Config) (files, error) {
	if !validProcess(cfg.Process) {
		return nil, fmt.Errorf("log files: process name %q: want letters, digits, '_' or '-'", cfg.Process)
	}
	if cfg.MaxSizeMB < 0 || cfg.MaxBackups < 0 {
		return nil, fmt.Errorf("log files: max size %d MB, %d backups: want positive numbers, or 0 for the defaults",
			cfg.MaxSizeMB, cfg.MaxBackups)
	}
	maxSizeMB, maxBackups := cfg.MaxSizeMB, cfg.MaxBackups
	if maxSizeMB == 0 {
		maxSizeMB = DefaultMaxSizeMB
	}
	if maxBackups == 0 {
		maxBackups = DefaultMaxBackups
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("log files: %w", err)
	}
	var fs files
	for _, b := range buckets() {
		f, err := openRotating(filepath.Join(cfg.Dir, fileName(cfg.Process, b)), maxSizeMB, maxBackups)
		if err != nil {
			return nil, errors.Join(err, fs.Close())
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// files are the open log files of a logger.
type files []*rotatingFile

// Close closes every file.
func (fs files) Close() error {
	var errs []error
	for _, f := range fs {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// levelRange is a handler that passes on the records whose level lies in
// [min, max) and drops the others.
type levelRange struct {
	min, max slog.Level
	next     slog.Handler
}

func (h levelRange) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && l < h.max && h.next.Enabled(ctx, l)
}

func (h levelRange) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min || r.Level >= h.max {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h levelRange) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelRange{min: h.min, max: h.max, next: h.next.WithAttrs(attrs)}
}

func (h levelRange) WithGroup(name string) slog.Handler {
	return levelRange{min: h.min, max: h.max, next: h.next.WithGroup(name)}
}
