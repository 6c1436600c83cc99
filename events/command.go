package events

import (
	"errors"
	"strconv"
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
)
