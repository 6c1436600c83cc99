package logs

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	blockSize = 64 << 10  // how much Tail reads at a time
	maxLine   = 256 << 10 // longer lines are skipped, by Tail and Follow
)

// Tail returns the last n lines (at most) of level's files in dir: for each
// process, its current file and, only if that holds fewer than n lines,
// its rotated backups, newest first. The lines of every process are merged
// and sorted by time, oldest first. level picks the file: INFO (and up to
// WARN) reads the info files, WARN the warn files, ERROR the error files;
// below INFO there are none, which is an error.
//
// A missing dir or file means no lines, and lines that do not parse (one
// still being written, say) are skipped. Tail reads the files backwards
// from their end, a block at a time, so that its cost depends on n and not
// on the size of the files.
func Tail(dir string, level slog.Level, n int) ([]Line, error) {
	var t tailer
	return t.tail(dir, level, n)
}

// tailer does the work of Tail, counting the bytes it reads.
type tailer struct {
	read int64
}

func (t *tailer) tail(dir string, level slog.Level, n int) ([]Line, error) {
	b, ok := bucketOf(level)
	if !ok {
		return nil, fmt.Errorf("tailing logs: no file holds level %s", level)
	}
	if n <= 0 {
		return nil, nil
	}
	byProcess, err := listBucket(dir, b)
	if err != nil {
		return nil, err
	}
	var all []Line
	for _, process := range slices.Sorted(maps.Keys(byProcess)) {
		var lines []Line // newest first
		for _, path := range byProcess[process] {
			got, err := t.lastLines(path, process, n-len(lines))
			if err != nil {
				return nil, err
			}
			lines = append(lines, got...)
			if len(lines) >= n {
				break
			}
		}
		slices.Reverse(lines)
		all = append(all, lines...)
	}
	slices.SortStableFunc(all, func(a, b Line) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Process, b.Process))
	})
	return all[max(len(all)-n, 0):], nil
}

// listBucket returns the paths of the files of bucket b in dir by process:
// the current file first, then the backups, newest first.
func listBucket(dir string, b bucket) (map[string][]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing log files: %w", err)
	}
	type file struct {
		path, backup string
	}
	found := map[string][]file{}
	for _, e := range entries {
		f, ok := parseName(e.Name())
		if !ok || f.level != b.name || !e.Type().IsRegular() {
			continue
		}
		found[f.process] = append(found[f.process], file{filepath.Join(dir, e.Name()), f.backup})
	}
	byProcess := make(map[string][]string, len(found))
	for process, files := range found {
		slices.SortFunc(files, func(a, b file) int {
			switch { // the current file first, then the backups newest first
			case a.backup == b.backup:
				return 0
			case a.backup == "":
				return -1
			case b.backup == "":
				return 1
			}
			return strings.Compare(b.backup, a.backup)
		})
		for _, f := range files {
			byProcess[process] = append(byProcess[process], f.path)
		}
	}
	return byProcess, nil
}

// lastLines returns the last n lines of the file at path that parse,
// newest first.
func (t *tailer) lastLines(path, process string, n int) ([]Line, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // rotated away or removed since it was listed
	}
	if err != nil {
		return nil, fmt.Errorf("tailing log file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tailing log file: %w", err)
	}
	var lines []Line
	err = scanBackward(countingReader{f, &t.read}, fi.Size(), blockSize, func(b []byte) bool {
		if l, err := parseLine(b, process); err == nil {
			lines = append(lines, l)
		}
		return len(lines) < n
	})
	if err != nil {
		return nil, fmt.Errorf("tailing log file %s: %w", path, err)
	}
	return lines, nil
}

// scanBackward calls fn with each complete, non-empty line of the first
// size bytes of r, without its newline, last line first, until fn returns
// false or the lines run out. A line is complete when a newline ends it;
// lines longer than maxLine are skipped. It reads r backwards, block bytes
// at a time. The slice passed to fn is valid only during the call.
func scanBackward(r io.ReaderAt, size int64, block int, fn func(line []byte) bool) error {
	var (
		pos     = size
		rest    []byte // the end of a line that starts before pos
		started bool   // a newline was seen: rest belongs to a complete line
		skip    bool   // the line rest belongs to is too long
	)
	for pos > 0 {
		start := max(pos-int64(block), 0)
		chunk := make([]byte, int(pos-start)+len(rest))
		n, err := r.ReadAt(chunk[:pos-start], start)
		if n < int(pos-start) {
			if errors.Is(err, io.EOF) {
				return nil // the file shrank: truncated while being read
			}
			return err
		}
		copy(chunk[pos-start:], rest)
		pos = start
		for {
			i := bytes.LastIndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			line := chunk[i+1:]
			chunk = chunk[:i]
			switch {
			case !started: // after the last newline: a line still being written
				started = true
			case skip:
				skip = false
			case len(line) > maxLine: // skipped
			case len(line) > 0 && !fn(line):
				return nil
			}
		}
		rest = chunk
		if len(rest) > maxLine {
			rest, skip = nil, started
		}
	}
	if started && !skip && len(rest) > 0 {
		fn(rest)
	}
	return nil
}

// countingReader is an io.ReaderAt that adds up the bytes it reads.
type countingReader struct {
	r io.ReaderAt
	n *int64
}

func (c countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	*c.n += int64(n)
	return n, err
}
