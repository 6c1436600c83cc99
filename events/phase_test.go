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

func TestParseRunCounters(t *testing.T) {
	t.Parallel()
	c, err := ParseRunCounters(map[string]string{
		"processed_vip": "250", "failed_vip": "2", "processed_normal": "700",
		"first_vip": "1764248645000", "last_vip": "1764248646500",
		"done_vip": "1764248647000",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Processed.VIP != 250 || c.Failed.VIP != 2 || c.Processed.Normal != 700 || c.Done(PriorityVIP) != 252 {
		t.Errorf("counts = %+v", c)
	}
	if got := c.VIP.Duration(); got != 2*time.Second {
		t.Errorf("VIP window = %v, want 2s (first processedAt to last write)", got)
	}
	if got := c.VIP.Last.Sub(*c.VIP.First); got != 1500*time.Millisecond {
		t.Errorf("VIP processedAt span = %v, want 1.5s", got)
	}
	if c.Normal.First != nil || c.Normal.Duration() != 0 {
		t.Errorf("NORMAL window = %+v, want empty", c.Normal)
	}
	if _, err := ParseRunCounters(map[string]string{"processed_vip": "x"}); err == nil {
		t.Error("malformed counter: want an error")
	}
	empty, err := ParseRunCounters(nil)
	if err != nil || empty.Processed.Total() != 0 {
		t.Errorf("no hash: %+v, %v", empty, err)
	}
}
