package logs

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is when the hand-made log lines of the tests start.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// line returns a log line as slog's JSON handler writes it, sec seconds
// after t0.
func line(sec int, level, msg string) string {
	return fmt.Sprintf(`{"time":%q,"level":%q,"msg":%q,"service":"test"}`,
		t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), level, msg)
}

func TestTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// api: an older backup, a newer backup and the current file.
	writeFile(t, dir, "api.warn-2025-06-01T11-00-00.000.log", line(1, "WARN", "api 1"), line(2, "WARN", "api 2"))
	writeFile(t, dir, "api.warn-2025-06-01T12-00-05.000.log", line(3, "WARN", "api 3"), line(4, "WARN", "api 4"))
	writeFile(t, dir, "api.warn.log", line(6, "WARN", "api 6"), line(9, "WARN", "api 9"))
	// control: the current file only, interleaved in time with api.
	writeFile(t, dir, "control.warn.log", line(5, "WARN", "control 5"), line(7, "WARN", "control 7"), line(8, "WARN", "control 8"))
	// Other levels and other files are not read.
	writeFile(t, dir, "api.info.log", line(10, "INFO", "api info"))
	writeFile(t, dir, "api.error.log", line(11, "ERROR", "api error"))
	writeFile(t, dir, "notes.txt", line(12, "WARN", "not a log file"))
	writeFile(t, dir, "api.warn.log.bak", line(13, "WARN", "not a log file either"))

	for _, tc := range []struct {
		level slog.Level
		n     int
		want  []string
	}{
		{slog.LevelWarn, 1, []string{"api 9"}},
		{slog.LevelWarn, 3, []string{"control 7", "control 8", "api 9"}},
		{slog.LevelWarn, 5, []string{"control 5", "api 6", "control 7", "control 8", "api 9"}},
		{slog.LevelWarn, 6, []string{"api 4", "control 5", "api 6", "control 7", "control 8", "api 9"}},
		{slog.LevelWarn, 8, []string{"api 2", "api 3", "api 4", "control 5", "api 6", "control 7", "control 8", "api 9"}},
		{slog.LevelWarn, 100, []string{"api 1", "api 2", "api 3", "api 4", "control 5", "api 6", "control 7", "control 8", "api 9"}},
		{slog.LevelWarn + 1, 1, []string{"api 9"}},
		{slog.LevelWarn, 0, []string{}},
		{slog.LevelWarn, -1, []string{}},
		{slog.LevelInfo, 10, []string{"api info"}},
		{slog.LevelError, 10, []string{"api error"}},
		{slog.LevelError + 8, 10, []string{"api error"}},
	} {
		lines, err := Tail(dir, tc.level, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgs(lines); !slices.Equal(got, tc.want) {
			t.Errorf("Tail(%s, %d) = %q, want %q", tc.level, tc.n, got, tc.want)
		}
	}
}

func TestTailLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "generator.error.log", `{"time":"2025-06-01T12:00:00.123456789+02:00","level":"ERROR","msg":"publishing","err":"timeout","chunk":{"n":12345678901234567}}`)
	lines, err := Tail(dir, slog.LevelError, 1)
	if err != nil || len(lines) != 1 {
		t.Fatalf("Tail = %v, %v", lines, err)
	}
	l := lines[0]
	wantTime := time.Date(2025, 6, 1, 10, 0, 0, 123456789, time.UTC)
	if !l.Time.Equal(wantTime) || l.Level != slog.LevelError || l.Process != "generator" || l.Msg != "publishing" {
		t.Errorf("line = %+v", l)
	}
	if got := fmt.Sprint(l.Attrs); got != "map[chunk:map[n:12345678901234567] err:timeout]" {
		t.Errorf("attrs = %s", got)
	}
}

func TestTailSkipsWhatIsNotALine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "api.warn.log",
		line(1, "WARN", "first"),
		"not json",
		`{"level":"WARN","msg":"no time"}`,
		`{"time":"yesterday","level":"WARN","msg":"bad time"}`,
		`{"time":"2025-06-01T12:00:00Z","msg":"no level"}`,
		`{"time":"2025-06-01T12:00:00Z","level":"LOUD","msg":"bad level"}`,
		`{"time":"2025-06-01T12:00:00Z","level":"WARN"}`,
		line(2, "WARN", "two objects")+"{}",
		"",
		"\x00\x00\x00"+line(3, "WARN", "after a hole"),
		line(4, "WARN", "last"))
	appendRaw(t, dir, "api.warn.log", `{"time":"2025-06-01T12:00:09Z","level":"WARN","msg":"still being wri`)
	lines, err := Tail(dir, slog.LevelWarn, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msgs(lines), []string{"first", "after a hole", "last"}; !slices.Equal(got, want) {
		t.Errorf("Tail = %q, want %q", got, want)
	}
}

func TestTailOfNothing(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		lines, err := Tail(dir, slog.LevelInfo, 10)
		if err != nil || len(lines) != 0 {
			t.Errorf("Tail(%s) = %v, %v, want no lines", dir, lines, err)
		}
	}
	if _, err := Tail(t.TempDir(), slog.LevelDebug, 10); err == nil || !strings.Contains(err.Error(), "DEBUG") {
		t.Errorf("Tail at DEBUG = %v, want an error", err)
	}
}

func TestTailReadsOnlyTheEndOfABigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "processor.warn.log"))
	if err != nil {
		t.Fatal(err)
	}
	one := []byte(line(0, "WARN", "old news") + "\n")
	block := bytes.Repeat(one, (1<<20)/len(one))
	for range 50 {
		if _, err := f.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	var last []string
	for i := range 20 {
		last = append(last, fmt.Sprintf("recent %d", i))
		if _, err := f.WriteString(line(1+i, "WARN", last[i]) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(f.Name())
	if fi.Size() < 49<<20 {
		t.Fatalf("file is %d bytes, want about 50 MB", fi.Size())
	}

	var tr tailer
	lines, err := tr.tail(dir, slog.LevelWarn, len(last))
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs(lines); !slices.Equal(got, last) {
		t.Errorf("Tail = %q, want %q", got, last)
	}
	if tr.read > blockSize {
		t.Errorf("Tail of %d lines read %d bytes of a %d-byte file, want at most one block (%d)",
			len(last), tr.read, fi.Size(), blockSize)
	}
	// Many lines take proportionally more, still not the whole file.
	tr = tailer{}
	if lines, err = tr.tail(dir, slog.LevelWarn, 5000); err != nil || len(lines) != 5000 {
		t.Fatalf("Tail of 5000 = %d lines, %v", len(lines), err)
	}
	if tr.read > 5000*int64(len(one))+blockSize {
		t.Errorf("Tail of 5000 lines read %d bytes, want about %d", tr.read, 5000*len(one))
	}
}

func TestScanBackward(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("y", maxLine+1)
	for _, tc := range []struct {
		name, data string
		want       []string // last first
	}{
		{"empty", "", nil},
		{"one line", "a\n", []string{"a"}},
		{"no newline at all", "abc", nil},
		{"partial last line", "a\nbb\nccc", []string{"bb", "a"}},
		{"empty lines", "\n\na\n\nbb\n\n", []string{"bb", "a"}},
		{"lines", "one\ntwo\nthree\nfour\n", []string{"four", "three", "two", "one"}},
		{"too long first", long + "\nb\n", []string{"b"}},
		{"too long middle", "a\n" + long + "\nb\n", []string{"b", "a"}},
		{"too long partial", "a\n" + long, []string{"a"}},
	} {
		for _, block := range []int{1, 2, 3, 7, 64, 4096, blockSize} {
			if len(tc.data) > maxLine && block < 4096 {
				continue // each block copies the line read so far: too slow with tiny blocks
			}
			var got []string
			err := scanBackward(strings.NewReader(tc.data), int64(len(tc.data)), block, func(b []byte) bool {
				got = append(got, string(b))
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, block %d: got %.40q, want %.40q", tc.name, block, got, tc.want)
			}
		}
	}
}

func TestScanBackwardStops(t *testing.T) {
	t.Parallel()
	data := "a\nb\nc\nd\n"
	var got []string
	err := scanBackward(strings.NewReader(data), int64(len(data)), 2, func(b []byte) bool {
		got = append(got, string(b))
		return len(got) < 2
	})
	if err != nil || !slices.Equal(got, []string{"d", "c"}) {
		t.Errorf("got %q, %v, want [d c]", got, err)
	}
}

// FuzzScanBackward checks scanBackward against splitting the whole input.
func FuzzScanBackward(f *testing.F) {
	f.Add("a\nbb\nccc", 2)
	f.Add("\n\n\n", 1)
	f.Add("x\n", 64)
	f.Fuzz(func(t *testing.T, data string, block int) {
		if block < 1 || block > 1<<20 {
			t.Skip()
		}
		var want []string
		if i := strings.LastIndexByte(data, '\n'); i >= 0 {
			for _, l := range strings.Split(data[:i], "\n") {
				if l != "" && len(l) <= maxLine {
					want = append(want, l)
				}
			}
		}
		slices.Reverse(want)
		var got []string
		err := scanBackward(strings.NewReader(data), int64(len(data)), block, func(b []byte) bool {
			got = append(got, string(b))
			return true
		})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("scanBackward(%q, %d) = %q, %v, want %q", data, block, got, err, want)
		}
	})
}

func BenchmarkTail(b *testing.B) {
	dir := b.TempDir()
	var lines []string
	for i := range 10000 {
		lines = append(lines, line(i, "WARN", "a warning"))
	}
	writeFile(b, dir, "api.warn.log", lines...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Tail(dir, slog.LevelWarn, 500); err != nil {
			b.Fatal(err)
		}
	}
}
