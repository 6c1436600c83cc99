package events

import (
	"errors"
	"strconv"
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

// StopRequest asks the generator to stop publishing run RunID.
type StopRequest struct {
	RunID string `json:"runId"`
}

// StopReply answers a StopRequest once no publish of the run is in flight.
type StopReply struct {
	// Stopped says whether the generator was publishing the run.
	Stopped bool `json:"stopped"`
}

// CommandError is how a control command says no. Status is the HTTP status
// the api answers with; it travels as the micro service error code.
type CommandError struct {
	Status  int
	Message string
}

func (e *CommandError) Error() string { return e.Message }

// Code is the micro error code carrying e.Status.
func (e *CommandError) Code() string { return strconv.Itoa(e.Status) }

// ParseCommandError rebuilds a CommandError from a micro error code and
// description. An unknown code becomes a 502: control answered something the
// api does not understand.
func ParseCommandError(code, description string) *CommandError {
	status, err := strconv.Atoi(code)
	if err != nil || status < 400 || status > 599 {
		status = 502
	}
	return &CommandError{Status: status, Message: description}
}

// Sentinel command errors callers branch on.
var (
	// ErrRunActive: a run is already going; a second one is refused.
	ErrRunActive = errors.New("a run is already active")
	// ErrNoActiveRun: there is no run to cancel.
	ErrNoActiveRun = errors.New("no run is active")
)
