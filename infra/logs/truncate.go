package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Truncate empties every log file in dir and removes the rotated backups;
// files that are not log files are left alone. A missing dir is not an
// error. The processes writing the files may go on: they append, so their
// next records land at the start of the emptied files.
func Truncate(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("truncating logs: %w", err)
	}
	var errs []error
	for _, e := range entries {
		f, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if f.backup != "" {
			err = os.Remove(path)
		} else {
			err = os.Truncate(path, 0)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("truncating logs: %w", err)
	}
	return nil
}
