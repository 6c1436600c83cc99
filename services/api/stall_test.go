package api

import (
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

func TestStallWatch(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	status := func(runID string, phase events.Phase, done, target int64) *Status {
		return &Status{RunID: &runID, Phase: phase, Counts: events.ByPriority{VIP: done}, Progress: Progress{Target: target}}
	}
	var w stallWatch
	steps := []struct {
		name   string
		st     *Status
		paused bool
		at     time.Duration
		stuck  bool
	}{
		{"first sight", status("r1", events.PhaseGenerating, 10, 100), false, 0, false},
		{"no progress for 29 s", status("r1", events.PhaseGenerating, 10, 100), false, 29 * time.Second, false},
		{"no progress for 30 s", status("r1", events.PhaseWaitingVIPDrain, 10, 100), false, 30 * time.Second, true},
		{"progress", status("r1", events.PhaseWaitingVIPDrain, 11, 100), false, 31 * time.Second, false},
		{"paused for long", status("r1", events.PhaseWaitingVIPDrain, 11, 100), true, 90 * time.Second, false},
		{"resumed: the clock restarted at the pause", status("r1", events.PhaseWaitingVIPDrain, 11, 100), false, 100 * time.Second, false},
		{"30 s after the pause", status("r1", events.PhaseWaitingVIPDrain, 11, 100), false, 120 * time.Second, true},
		{"a new run", status("r2", events.PhaseGenerating, 0, 100), false, 121 * time.Second, false},
		{"the new run stalls", status("r2", events.PhaseGenerating, 0, 100), false, 151 * time.Second, true},
		{"every order done", status("r2", events.PhaseWaitingNormalDrain, 100, 100), false, 152 * time.Second, false},
		{"still every order done", status("r2", events.PhaseWaitingNormalDrain, 100, 100), false, 200 * time.Second, false},
		{"run over", status("r2", events.PhaseDone, 100, 100), false, 300 * time.Second, false},
		{"no run", &Status{Phase: events.PhaseIdle}, false, 400 * time.Second, false},
	}
	for _, s := range steps {
		if got := w.see(s.st, s.paused, t0.Add(s.at)); got != s.stuck {
			t.Errorf("%s: stuck = %v, want %v", s.name, got, s.stuck)
		}
	}
}
