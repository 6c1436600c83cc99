package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"
)

// pollInterval is how often Follow looks for new lines.
const pollInterval = 250 * time.Millisecond

// Follow calls fn with every WARN or ERROR line appended to a warn or error
// file in dir after Follow starts, in the order of each file, until ctx is
// done; then it returns nil. It returns early only on an I/O error other
// than a file or dir being missing. fn runs on the goroutine that called
// Follow, which starts none.
//
// Follow polls every 250 ms, remembering where it stopped in each file. It
// copes with the files being truncated (Truncate) or rotated: it finishes
// the file it was reading, then reads the new one from its beginning. Dir
// and files that appear later are followed from their beginning. (A file
// truncated and written past the old end between two polls is read from
// the old end: the first line read is then a fragment, and skipped.)
func Follow(ctx context.Context, dir string, fn func(Line)) error {
	f := newFollower(dir, fn)
	defer f.closeAll()
	if err := f.poll(true); err != nil {
		return err
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := f.poll(false); err != nil {
				return err
			}
		}
	}
}

// follower is the state of one Follow.
type follower struct {
	dir   string
	fn    func(Line)
	files map[string]*followed // by path
	r     *bufio.Reader        // reused by drain
}

func newFollower(dir string, fn func(Line)) *follower {
	return &follower{
		dir:   dir,
		fn:    fn,
		files: map[string]*followed{},
		r:     bufio.NewReaderSize(nil, maxLine),
	}
}

// followed is one open file.
type followed struct {
	file    *os.File
	process string
	off     int64 // where the first line not read yet starts
	skip    bool  // the line at off is the end of one too long to read
}

// poll reads what was appended to every warn and error file in dir. At the
// start it only notes where the files end.
func (f *follower) poll(atStart bool) error {
	entries, err := os.ReadDir(f.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("following logs: %w", err)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		lf, ok := parseName(e.Name())
		if !ok || lf.backup != "" || lf.level == "info" || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(f.dir, e.Name())
		seen[path] = true
		if err := f.follow(path, lf.process, atStart); err != nil {
			return err
		}
	}
	for path, fl := range f.files {
		if !seen[path] { // renamed by a rotation, or removed: read its last lines
			err := f.drain(fl)
			_ = fl.file.Close()
			delete(f.files, path)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// follow reads what was appended to the file at path since the last poll.
func (f *follower) follow(path, process string, atStart bool) error {
	if fl := f.files[path]; fl != nil {
		// The file held open comes first, even if path names a new one now.
		if err := f.drain(fl); err != nil {
			return err
		}
		held, err := fl.file.Stat()
		if err != nil {
			return fmt.Errorf("following logs: %w", err)
		}
		named, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // the next poll finds it gone
		case err != nil:
			return fmt.Errorf("following logs: %w", err)
		case os.SameFile(held, named):
			if held.Size() < fl.off { // truncated
				fl.off, fl.skip = 0, false
				return f.drain(fl)
			}
			return nil
		}
		_ = fl.file.Close() // rotated: path names a new file
		delete(f.files, path)
	}
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("following logs: %w", err)
	}
	fl := &followed{file: file, process: process}
	f.files[path] = fl
	if atStart {
		fi, err := file.Stat()
		if err != nil {
			return fmt.Errorf("following logs: %w", err)
		}
		fl.off = fi.Size()
	}
	return f.drain(fl)
}

// drain passes to fn the WARN and ERROR lines between fl.off and the end of
// the file, and moves fl.off past the last complete one.
func (f *follower) drain(fl *followed) error {
	f.r.Reset(io.NewSectionReader(fl.file, fl.off, math.MaxInt64-fl.off))
	for {
		line, err := f.r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull): // longer than maxLine
			fl.off += int64(len(line))
			fl.skip = true
			continue
		case errors.Is(err, io.EOF): // line is still being written
			return nil
		case err != nil:
			return fmt.Errorf("following logs: %w", err)
		}
		fl.off += int64(len(line))
		if fl.skip {
			fl.skip = false
			continue
		}
		if l, err := parseLine(line[:len(line)-1], fl.process); err == nil && l.Level >= slog.LevelWarn {
			f.fn(l)
		}
	}
}

// closeAll closes every file held open.
func (f *follower) closeAll() {
	for path, fl := range f.files {
		_ = fl.file.Close()
		delete(f.files, path)
	}
}
