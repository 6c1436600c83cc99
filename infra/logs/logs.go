// Package logs is where every process of Pedidos gets its *slog.Logger, and
// where the lines those loggers publish are read back.
//
// Writer side: FromEnv reads LOG_FORMAT, LOG_LEVEL, BACKEND_LOGS and DATA_DIR;
// New builds a logger that writes every record to stdout (tint text on a
// terminal, JSON otherwise) and, when the configuration names a directory,
// the INFO, WARN and ERROR records as JSON lines to one file per level and
// process: <dir>/<process>.info.log, <process>.warn.log, <process>.error.log,
// rotated by size (gopkg.in/natefinch/lumberjack.v2; backups are named
// <process>.<level>-<UTC timestamp>.log).
//
// With Config.Stream set, the INFO, WARN and ERROR records are also
// published, each the same JSON object, on logs.<level>.<process> (see
// events.SubjectLogs) over every NATS connection Publish attaches: that is
// how the lines of a service in one container reach the api in another.
// A Book is the reader: it follows the LOGS stream, keeps the last lines of
// each level (Tail), announces the new warnings and errors, and empties the
// stream (Truncate). The files are the operator's copy; nothing reads them.
package logs

import (
	"log/slog"
	"math"
)

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

// validProcess reports whether name can name a process in file names and
// subjects:
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
