package logs

import (
	"fmt"
	"os"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"
)

// rotatingFile is one log file, rotated by lumberjack. It decides itself
// when to rotate, so that the file it writes to is always one lumberjack
// opened with O_APPEND: lumberjack opens the files it creates without it,
// and a writer without O_APPEND goes on at its old offset after another
// process truncates the file (logrotate copytruncate, say), leaving a hole
// of zeros. Its method Write is safe for concurrent use.
type rotatingFile struct {
	path    string
	maxSize int64 // bytes
	out     *lumberjack.Logger

	mu     sync.Mutex
	size   int64 // the size of the file, as far as this process knows
	closed bool
}

// openRotating creates the file at path if it is missing, and returns its
// writer.
func openRotating(path string, maxSizeMB, maxBackups int) (*rotatingFile, error) {
	// Creating the file here means lumberjack opens an existing file, with
	// O_APPEND, on the first write.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	fi, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return &rotatingFile{
		path:    path,
		maxSize: int64(maxSizeMB) << 20,
		out:     &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, MaxBackups: maxBackups},
		size:    fi.Size(),
	}, nil
}

// Write appends p, one record, to the file, first rotating it if p would
// take it to its maximum size.
func (f *rotatingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, fmt.Errorf("writing to %s: %w", f.path, os.ErrClosed)
	}
	need := int64(len(p))
	if need >= f.maxSize {
		return 0, fmt.Errorf("writing %d bytes to %s: a record must be smaller than the %d bytes of a file",
			need, f.path, f.maxSize)
	}
	if f.size+need >= f.maxSize {
		if err := f.makeRoom(need); err != nil {
			return 0, err
		}
	}
	n, err := f.out.Write(p)
	f.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing to %s: %w", f.path, err)
	}
	return n, nil
}

// makeRoom rotates the file unless it has room for need more bytes after
// all (someone truncated it), then closes it: lumberjack reopens it with
// O_APPEND, and learns its size, on the next write. Lumberjack itself
// rotates only at a larger size than this, so it never has to.
func (f *rotatingFile) makeRoom(need int64) error {
	if fi, err := os.Stat(f.path); err == nil && fi.Size()+need < f.maxSize {
		f.size = fi.Size()
	} else {
		if err := f.out.Rotate(); err != nil {
			return fmt.Errorf("rotating %s: %w", f.path, err)
		}
		f.size = 0
	}
	if err := f.out.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.path, err)
	}
	return nil
}

// Close closes the file; later writes fail with os.ErrClosed.
func (f *rotatingFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.out.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.path, err)
	}
	return nil
}
