package events

import (
	"fmt"
	"time"
)

// GenerateRequest asks control to start a run.
type GenerateRequest struct {
	Quantity int64 `json:"quantity"`
}

// GenerateReply answers a GenerateRequest that started a run.
type GenerateReply struct {
	RunID    string `json:"runId"`
	Phase    Phase  `json:"phase"`
	Quantity int64  `json:"quantity"`
}

// CancelRequest asks control to abort the active run.
type CancelRequest struct {
	// Purge removes the run's pending orders from JetStream.
	Purge bool `json:"purge"`
	// RemovePending removes the waiting jobs from the Bull state in Redis.
	RemovePending bool `json:"removePending"`
}

// CancelReply says what a cancel did. When it is sent, no order is being
// processed and none will be until the queue resumes.
type CancelReply struct {
	RunID          string `json:"runId"`
	Aborted        bool   `json:"aborted"`
	QueuePaused    bool   `json:"queuePaused"`
	RemovedPending int64  `json:"removedPending"`
	// Purged says whether pending orders were removed from JetStream, and
	// PurgedOrders how many.
	Purged       bool  `json:"purged"`
	PurgedOrders int64 `json:"purgedOrders"`
	// Processors is how many processor instances confirmed they stopped.
	Processors int    `json:"processors"`
	Message    string `json:"message"`
}

// ResetRequest asks control to wipe everything.
type ResetRequest struct {
	// Force aborts an active run first instead of refusing.
	Force bool `json:"force"`
}

// ResetReply says what a reset did.
type ResetReply struct {
	Message string `json:"message"`
}

// QueueState is whether an operator paused consumption, stored under
// KeyQueue. A paused queue delivers nothing to any processor, whatever the
// phase; resume restores what the phase allows.
type QueueState struct {
	Paused bool      `json:"paused"`
	At     time.Time `json:"at"`
}

// QueueReply answers pause and resume.
type QueueReply struct {
	Paused     bool `json:"paused"`
	Processors int  `json:"processors"`
}

// RetryReply answers retry-failed.
type RetryReply struct {
	Retried int64 `json:"retried"`
}

// Job states a queue clean can remove.
const (
	CleanCompleted = "completed"
	CleanFailed    = "failed"
	CleanWait      = "wait"
	CleanDelayed   = "delayed"
)

// CleanRequest asks control to remove up to Limit jobs in State, oldest first.
type CleanRequest struct {
	State string `json:"state"`
	Limit int64  `json:"limit"`
}

// CleanReply says how many jobs a clean removed.
type CleanReply struct {
	Removed int64  `json:"removed"`
	State   string `json:"state"`
}

// RecoverRequest asks control to remove up to MaxJobs active jobs that no
// processor holds from the queue's view.
type RecoverRequest struct {
	MaxJobs int64 `json:"maxJobs"`
}

// RecoverReply says how many stuck jobs a recover removed, in the
// original's words.
type RecoverReply struct {
	Recovered int64  `json:"recovered"`
	Message   string `json:"message"`
}

// QuiesceRequest asks every processor to stop processing what it holds.
type QuiesceRequest struct {
	Reason string `json:"reason"`
}

// QuiesceReply is one processor's answer: its batches in flight when the
// request came have finished, and anything it fetched before is handed back.
type QuiesceReply struct {
	Instance string `json:"instance"`
	// Finished counts the batches it waited for.
	Finished int `json:"finished"`
}

// StopRequest asks a generator instance to stop publishing run RunID.
type StopRequest struct {
	RunID string `json:"runId"`
}

// StopReply answers a StopRequest once no publish of the run is in flight.
type StopReply struct {
	// Stopped says whether the instance was publishing the run.
	Stopped bool `json:"stopped"`
}

// Error codes of the control commands. A refusal travels as the micro
// error code (one of these) and description; callers match it with
// errors.Is against the sentinels below, whatever its message says.
const (
	// CodeBadRequest: the request is malformed or a parameter out of range.
	CodeBadRequest = "bad_request"
	// CodeRunActive: a run is active, and the command needs none.
	CodeRunActive = "run_active"
	// CodeNoActiveRun: no run is active, and the command needs one.
	CodeNoActiveRun = "no_active_run"
	// CodeBusy: control could not start the command in time (HeaderStartBy);
	// it was not carried out.
	CodeBusy = "busy"
	// CodeInternal: the command failed; it may have been carried out in part.
	CodeInternal = "internal"
)

// HeaderStartBy carries, on a command request, the time (RFC 3339, UTC) by
// which control must have started the command: later, it refuses it
// (ErrBusy) and does nothing. The caller sets it early enough that the
// command, once started, answers before the caller stops waiting.
const HeaderStartBy = "Pedidos-Start-By"

// CommandError is how a control command says no: a code callers branch on,
// and a message for people.
type CommandError struct {
	Code    string
	Message string
}

func (e *CommandError) Error() string { return e.Message }

// Is reports whether target is a CommandError of the same code, so that
// errors.Is(err, ErrRunActive) matches any refusal because a run is active.
func (e *CommandError) Is(target error) bool {
	t, ok := target.(*CommandError)
	return ok && t.Code == e.Code
}

// Refusal returns a CommandError of sentinel's code with a message of its own.
func Refusal(sentinel *CommandError, format string, args ...any) *CommandError {
	return &CommandError{Code: sentinel.Code, Message: fmt.Sprintf(format, args...)}
}

// ParseCommandError rebuilds a CommandError from a micro error code and
// description. An unknown code is kept as it is: callers treat it as an
// internal failure.
func ParseCommandError(code, description string) *CommandError {
	return &CommandError{Code: code, Message: description}
}

// The refusals callers branch on.
var (
	// ErrBadRequest: the command's request is invalid.
	ErrBadRequest = &CommandError{Code: CodeBadRequest, Message: "bad request"}
	// ErrRunActive: a run is already going; a second one is refused.
	ErrRunActive = &CommandError{Code: CodeRunActive, Message: "a run is already active"}
	// ErrNoActiveRun: there is no run to cancel.
	ErrNoActiveRun = &CommandError{Code: CodeNoActiveRun, Message: "no run is active"}
	// ErrBusy: control was busy until the time the command had to start
	// by; it was not carried out.
	ErrBusy = &CommandError{Code: CodeBusy, Message: "control was busy; the command was not carried out"}
	// ErrInternal: the command failed.
	ErrInternal = &CommandError{Code: CodeInternal, Message: "the command failed"}
)
