// Package logs is where every process of Pedidos gets its *slog.Logger, and
// where the log files those loggers write are read back.
//
// Writer side: FromEnv reads LOG_FORMAT, LOG_LEVEL, BACKEND_LOGS and DATA_DIR;
// New builds a logger that writes every record to stdout (tint text on a
// terminal, JSON otherwise) and, when the configuration names a directory,
// the INFO, WARN and ERROR records as JSON lines to one file per level and
// process: <dir>/<process>.info.log, <process>.warn.log, <process>.error.log,
// rotated by size (gopkg.in/natefinch/lumberjack.v2; backups are named
// <process>.<level>-<UTC timestamp>.log).
//
// Reader side: Tail returns the last lines of one level across every
// process's files, Follow reports WARN and ERROR lines as they are appended,
// and Truncate empties the files while their writers keep writing.
package logs

import (
	"log/slog"
	"math"
	"strings"
	"time"
)

// backupTimeFormat is how lumberjack stamps the name of a rotated file.
const backupTimeFormat = "2006-01-02T15-04-05.000"

// A bucket is the range of levels one log file holds: [min, max).
type bucket struct {
	name     string
	min, max slog.Level
}

// buckets returns the levels that have files, lowest first.
func buckets() []bucket {
	return []bucket{
		{"info", slog.LevelInfo, slog.LevelWarn},
		{"warn", slog.LevelWarn, slog.LevelError},
		{"error", slog.LevelError, math.MaxInt},
	}
}

// bucketOf returns the bucket whose file holds records at level l; levels
// below INFO have none.
func bucketOf(l slog.Level) (bucket, bool) {
	bs := buckets()
	for i := len(bs) - 1; i >= 0; i-- {
		if l >= bs[i].min {
			return bs[i], true
		}
	}
	return bucket{}, false
}

// fileName returns the name of the current file of process for bucket b.
func fileName(process string, b bucket) string {
	return process + "." + b.name + ".log"
}

// logFile is what the name of a log file says about it.
type logFile struct {
	process string
	level   string // a bucket name
	backup  string // the rotation timestamp of a backup; "" for the current file
}

// parseName parses a file name made by fileName or by lumberjack's rotation
// of one; ok is false for any other name.
func parseName(name string) (f logFile, ok bool) {
	stem, found := strings.CutSuffix(name, ".log")
	if !found {
		return logFile{}, false
	}
	process, rest, found := strings.Cut(stem, ".")
	if !found || !validProcess(process) {
		return logFile{}, false
	}
	for _, b := range buckets() {
		if rest == b.name {
			return logFile{process: process, level: b.name}, true
		}
		if ts, found := strings.CutPrefix(rest, b.name+"-"); found {
			if _, err := time.Parse(backupTimeFormat, ts); err != nil {
				return logFile{}, false
			}
			return logFile{process: process, level: b.name, backup: ts}, true
		}
	}
	return logFile{}, false
}

// validProcess reports whether name can name a process in file names:
// letters, digits, '_' and '-'.
func validProcess(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}
