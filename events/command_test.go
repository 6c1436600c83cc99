package events

import (
	"errors"
	"fmt"
	"testing"
)

func TestCommandErrorsMatchByCode(t *testing.T) {
	t.Parallel()
	got := ParseCommandError(CodeRunActive, "a run is already active: run r1 is in phase GENERATING")
	wrapped := fmt.Errorf("starting a run: %w", got)
	if !errors.Is(wrapped, ErrRunActive) || errors.Is(wrapped, ErrNoActiveRun) {
		t.Errorf("errors.Is(%v) against ErrRunActive %v, ErrNoActiveRun %v",
			wrapped, errors.Is(wrapped, ErrRunActive), errors.Is(wrapped, ErrNoActiveRun))
	}
	r := Refusal(ErrBadRequest, "quantity %d out of range", 0)
	if !errors.Is(r, ErrBadRequest) || r.Error() != "quantity 0 out of range" {
		t.Errorf("Refusal = %+v", r)
	}
	if errors.Is(ParseCommandError("teapot", "odd"), ErrInternal) {
		t.Error("an unknown code matched ErrInternal")
	}
}
