package events

import "time"

// Logs: every service publishes its INFO, WARN and ERROR records, one JSON
// object each as slog's JSON handler writes it, on
// logs.<level>.<process> (level info, warn or error; process the name of
// the program: api, control, generator, processor, or pedidos for all in
// one). The LOGS stream keeps the last of each subject, so that an api in
// any container serves every service's recent lines (GET /pedidos/logs)
// and their warnings as they come (the log events).
const (
	// SubjectLogsPrefix prefixes the subject of every record.
	SubjectLogsPrefix = "logs."
	// SubjectLogs is the wildcard of every record.
	SubjectLogs = SubjectLogsPrefix + ">"
	// StreamLogs holds the last records of every process and level.
	StreamLogs = "LOGS"
	// LogsPerSubject is how many records LOGS keeps per process and level:
	// as many as GET /pedidos/logs serves of one level.
	LogsPerSubject = 5000
	// LogsMaxAge and LogsMaxBytes bound LOGS besides.
	LogsMaxAge   = 7 * 24 * time.Hour
	LogsMaxBytes = 256 << 20
)

// LogSubject returns the subject of process's records at level, one of
// info, warn and error.
func LogSubject(level, process string) string {
	return SubjectLogsPrefix + level + "." + process
}
