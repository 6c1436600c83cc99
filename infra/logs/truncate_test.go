package logs

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestTruncateThenWriteAppendsAtTheStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before func(*slog.Logger) // what the logger wrote before Truncate
	}{
		{"file the logger created", func(log *slog.Logger) {
			log.Warn("old")
		}},
		{"file that existed", nil}, // written by an earlier logger
		{"file a rotation created", func(log *slog.Logger) {
			pad := strings.Repeat("x", 10000)
			for range 120 { // 1.2 MB: one rotation
				log.Warn("old", slog.Any("pad", pad))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.before == nil {
				writeFile(t, dir, "api.warn.log", line(0, "WARN", "old"))
			}
			log, _ := newLogger(t, Config{Dir: dir, Process: "api", MaxSizeMB: 1, MaxBackups: 2})
			if tc.before != nil {
				tc.before(log)
			}
			writeFile(t, dir, "notes.txt", "not a log file")
			if err := Truncate(dir); err != nil {
				t.Fatal(err)
			}
			log.Warn("new")

			b, err := os.ReadFile(filepath.Join(dir, "api.warn.log"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.IndexByte(b, 0) >= 0 || bytes.Count(b, []byte("\n")) != 1 || !bytes.Contains(b, []byte(`"msg":"new"`)) {
				t.Errorf("warn file after Truncate and one record = %q, want that record alone", b)
			}
			var names []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				names = append(names, e.Name())
			}
			want := []string{"api.error.log", "api.info.log", "api.warn.log", "notes.txt"}
			if !slices.Equal(names, want) {
				t.Errorf("dir holds %q after Truncate, want %q (no backups)", names, want)
			}
		})
	}
}

func TestTruncateWhileLogging(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, _ := newLogger(t, Config{Dir: dir, Process: "processor"})
	path := filepath.Join(dir, "processor.warn.log")

	var stop atomic.Bool
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				log.Warn("busy", slog.Any("worker", w), slog.Any("i", i))
				written.Add(1)
			}
		})
	}
	for range 3 {
		before := written.Load()
		waitFor(t, "records written", func() bool { return written.Load() > before+100 })
		if err := Truncate(dir); err != nil {
			t.Fatal(err)
		}
	}
	after := written.Load()
	waitFor(t, "records after the last Truncate", func() bool { return written.Load() > after+100 })
	stop.Store(true)
	wg.Wait()

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		t.Fatalf("the file has a hole of zeros: a write went to the old end")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if int64(len(lines)) >= written.Load() || len(lines) < 100 {
		t.Errorf("the file has %d lines of %d written, want the ones after the last Truncate", len(lines), written.Load())
	}
	for _, l := range lines {
		if _, err := parseLine([]byte(l), "processor"); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
	}
}

func TestTruncateMissingDir(t *testing.T) {
	t.Parallel()
	if err := Truncate(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("Truncate of a missing dir = %v", err)
	}
}
