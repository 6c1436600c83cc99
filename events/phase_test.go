package events

import (
	"testing"
	"time"
)

func TestPhaseSequence(t *testing.T) {
	t.Parallel()
	want := []Phase{PhaseIdle, PhaseGenerating, PhaseEnqueueVIP, PhaseWaitingVIPDrain,
		PhaseEnqueueNormal, PhaseWaitingNormalDrain, PhaseDone}
	p := PhaseIdle
	for i := 1; i < len(want); i++ {
		next, ok := p.Next()
		if !ok || next != want[i] {
			t.Fatalf("%s.Next() = %s, %v; want %s", p, next, ok, want[i])
		}
		p = next
	}
	for _, end := range []Phase{PhaseDone, PhaseError, PhaseAborted} {
		if _, ok := end.Next(); ok {
			t.Errorf("%s.Next() must not have a next phase", end)
		}
		if end.Active() {
			t.Errorf("%s.Active() = true", end)
		}
	}
	for _, p := range want[1 : len(want)-1] {
		if !p.Active() || !p.Valid() {
			t.Errorf("%s: Active=%v Valid=%v, want both", p, p.Active(), p.Valid())
		}
	}
	if Phase("WAITING").Valid() {
		t.Error(`Phase("WAITING").Valid() = true`)
	}
}

func TestRunPhaseDuration(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := Run{Timeline: []PhaseMark{
		{PhaseGenerating, t0},
		{PhaseEnqueueVIP, t0.Add(3 * time.Second)},
		{PhaseWaitingVIPDrain, t0.Add(3500 * time.Millisecond)},
	}}
	now := t0.Add(10 * time.Second)
	tests := []struct {
		p    Phase
		want time.Duration
	}{
		{PhaseGenerating, 3 * time.Second},
		{PhaseEnqueueVIP, 500 * time.Millisecond},
		{PhaseWaitingVIPDrain, 6500 * time.Millisecond},
		{PhaseDone, 0},
	}
	for _, tt := range tests {
		if got := r.PhaseDuration(tt.p, now); got != tt.want {
			t.Errorf("PhaseDuration(%s) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if at, ok := r.EnteredAt(PhaseEnqueueVIP); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Errorf("EnteredAt(ENQUEUE_VIP) = %v, %v", at, ok)
	}
}
