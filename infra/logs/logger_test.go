package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// newLogger returns a logger writing JSON to a buffer and files to dir,
// closed at the end of the test.
func newLogger(t testing.TB, cfg Config) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	if cfg.Format == "" {
		cfg.Format = "json"
	}
	log, closer, err := New(cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closer.Close(); err != nil {
			t.Error(err)
		}
	})
	return log, &out
}

func TestNewSplitsLevels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, out := newLogger(t, Config{Level: slog.LevelDebug, Dir: dir, Process: "api"})
	records := []struct {
		level slog.Level
		msg   string
		file  string // "" for stdout only
	}{
		{slog.LevelDebug, "a debug record", ""},
		{slog.LevelInfo, "an info record", "api.info.log"},
		{slog.LevelInfo + 2, "an info+2 record", "api.info.log"},
		{slog.LevelWarn, "a warn record", "api.warn.log"},
		{slog.LevelError, "an error record", "api.error.log"},
		{slog.LevelError + 4, "an error+4 record", "api.error.log"},
	}
	want := map[string][]string{"api.info.log": nil, "api.warn.log": nil, "api.error.log": nil}
	for _, r := range records {
		log.Log(t.Context(), r.level, r.msg, slog.Any("n", 1))
		if r.file != "" {
			want[r.file] = append(want[r.file], r.msg)
		}
	}
	for file, msgs := range want {
		var got []string
		for _, l := range fileLines(t, dir, file) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("%s holds a line that is not JSON: %q", file, l)
			}
			if rec["n"] != 1.0 || rec["time"] == nil || rec["level"] == nil {
				t.Errorf("%s: line %q lacks time, level or attributes", file, l)
			}
			got = append(got, rec["msg"].(string))
		}
		if !slices.Equal(got, msgs) {
			t.Errorf("%s holds %q, want %q", file, got, msgs)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != len(records) {
		t.Errorf("stdout has %d lines, want %d:\n%s", n, len(records), out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("dir holds %d files, want 3", len(entries))
	}
}

func TestNewLevelIsTheThresholdOfEverySink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, out := newLogger(t, Config{Level: slog.LevelWarn, Dir: dir, Process: "control"})
	log.Info("quiet")
	log.Warn("loud")
	if strings.Contains(out.String(), "quiet") || !strings.Contains(out.String(), "loud") {
		t.Errorf("stdout at level warn:\n%s", out)
	}
	if lines := fileLines(t, dir, "control.info.log"); len(lines) != 0 {
		t.Errorf("info file at level warn holds %q", lines)
	}
	if lines := fileLines(t, dir, "control.warn.log"); len(lines) != 1 {
		t.Errorf("warn file holds %q, want one line", lines)
	}
}

func TestNewStdoutFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format string
		json   bool
	}{
		{"json", true},
		{"text", false},
		{"", true}, // a buffer is no terminal
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			log, closer, err := New(Config{Format: tc.format}, &out)
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			log.Warn("hello", slog.Any("order_id", "o-1"))
			line := strings.TrimSuffix(out.String(), "\n")
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(line), &rec) == nil
			if isJSON != tc.json {
				t.Fatalf("format %q wrote %q, JSON: %v, want %v", tc.format, line, isJSON, tc.json)
			}
			if tc.json && (rec["msg"] != "hello" || rec["order_id"] != "o-1" || rec["level"] != "WARN") {
				t.Errorf("JSON line %q", line)
			}
			if !tc.json && (!strings.Contains(line, "WRN hello") || !strings.Contains(line, "order_id=o-1")) {
				t.Errorf("text line %q", line)
			}
			if strings.Contains(line, "\x1b[") {
				t.Errorf("colours on a buffer: %q", line)
			}
		})
	}
}

func TestNewAttrsAndGroupsReachEverySink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, out := newLogger(t, Config{Dir: dir, Process: "api"})
	log.With(slog.Any("service", "api")).WithGroup("req").With(slog.Any("id", 7)).Warn("slow", slog.Any("ms", 1500))
	log.WithGroup("").Error("bare") // an empty group changes nothing

	want := map[string]any{"service": "api", "req": map[string]any{"id": 7.0, "ms": 1500.0}}
	var stdout map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &stdout); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if !reflect.DeepEqual(stdout[k], v) {
			t.Errorf("stdout %s = %v, want %v", k, stdout[k], v)
		}
	}
	lines := fileLines(t, dir, "api.warn.log")
	if len(lines) != 1 {
		t.Fatalf("warn file = %q, want one line", lines)
	}
	got, err := parseLine([]byte(lines[0]), "api")
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg != "slow" || got.Process != "api" || got.Level != slog.LevelWarn ||
		fmt.Sprint(got.Attrs) != "map[req:map[id:7 ms:1500] service:api]" {
		t.Errorf("warn line = %+v", got)
	}
	if lines := fileLines(t, dir, "api.error.log"); len(lines) != 1 || !strings.Contains(lines[0], `"msg":"bare"`) {
		t.Errorf("error file = %q", lines)
	}
}

func TestNewWithoutDirWritesNoFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out bytes.Buffer
	log, closer, err := New(Config{Format: "json", Process: "api"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		log.Log(t.Context(), l, "a record")
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("New without Dir created %v", entries)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("stdout has %d lines, want 3", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	writeFile(t, dir, "file", "")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Format: "xml"}, `"xml"`},
		{Config{Dir: dir}, `process name ""`},
		{Config{Dir: dir, Process: "../api"}, `process name "../api"`},
		{Config{Dir: dir, Process: "api.v2"}, `process name "api.v2"`},
		{Config{Dir: dir, Process: "api", MaxSizeMB: -1}, "max size"},
		{Config{Dir: dir, Process: "api", MaxBackups: -1}, "backups"},
		{Config{Dir: notDir, Process: "api"}, "not a directory"},
	} {
		_, _, err := New(tc.cfg, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %s", tc.cfg, err, tc.want)
		}
	}
}

func TestCloseStopsTheFilesNotStdout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	log, closer, err := New(Config{Format: "json", Dir: dir, Process: "api"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("before")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closer.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	log.Warn("after")
	if lines := fileLines(t, dir, "api.warn.log"); len(lines) != 1 {
		t.Errorf("warn file after Close = %q", lines)
	}
	if !strings.Contains(out.String(), `"msg":"after"`) {
		t.Errorf("stdout after Close = %s", out.String())
	}
}

func TestRotationBoundsTheFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, _ := newLogger(t, Config{Dir: dir, Process: "processor", MaxSizeMB: 1, MaxBackups: 1})
	pad := strings.Repeat("x", 2000)
	const records = 1800 // about 3.7 MB: rotates three times
	for i := range records {
		log.Info("batch", slog.Any("seq", i), slog.Any("pad", pad))
	}
	backups := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "processor.info-*.log"))
		return m
	}
	// lumberjack removes the old backups on a goroutine of its own.
	waitFor(t, "one backup left", func() bool { return len(backups()) == 1 })
	for _, path := range append(backups(), filepath.Join(dir, "processor.info.log")) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s: %d bytes, want at most 1 MiB", path, fi.Size())
		}
	}
	// The backup ends where the current file starts, which ends with the
	// last record.
	seqOf := func(line string) string {
		t.Helper()
		l, err := parseLine([]byte(line), "processor")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(l.Attrs["seq"])
	}
	old, current := fileLines(t, filepath.Dir(backups()[0]), filepath.Base(backups()[0])), fileLines(t, dir, "processor.info.log")
	if len(old) == 0 || len(current) == 0 {
		t.Fatalf("backup %d lines, current file %d lines", len(old), len(current))
	}
	last, first := seqOf(old[len(old)-1]), seqOf(current[0])
	if want := fmt.Sprint(records - len(current) - 1); last != want || first != fmt.Sprint(records-len(current)) {
		t.Errorf("the backup ends at seq %s and the file starts at %s, want %s then the next", last, first, want)
	}
	if got := seqOf(current[len(current)-1]); got != fmt.Sprint(records-1) {
		t.Errorf("the file ends at seq %s, want %d", got, records-1)
	}
}

func TestConcurrentLogging(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, _ := newLogger(t, Config{Dir: dir, Process: "api"})
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			l := log.With(slog.Any("worker", w))
			for i := range each {
				l.Log(t.Context(), []slog.Level{slog.LevelInfo, slog.LevelWarn}[i%2], "work", slog.Any("i", i))
			}
		})
	}
	wg.Wait()
	for _, file := range []string{"api.info.log", "api.warn.log"} {
		lines := fileLines(t, dir, file)
		if len(lines) != workers*each/2 {
			t.Errorf("%s has %d lines, want %d", file, len(lines), workers*each/2)
		}
		for _, l := range lines {
			if _, err := parseLine([]byte(l), "api"); err != nil {
				t.Fatalf("%s: %v: %q", file, err, l)
			}
		}
	}
}

func BenchmarkLogger(b *testing.B) {
	log, _ := newLogger(b, Config{Dir: b.TempDir(), Process: "api"})
	log = log.With(slog.Any("service", "api"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		log.Info("batch stored", slog.Any("seq", i), slog.Any("orders", 500))
	}
}
