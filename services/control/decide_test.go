package control

import (
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	done := time.Now()
	published := events.ByPriority{VIP: 250, Normal: 750}
	finished := events.Generation{Published: published, FinishedAt: &done}
	counted := func(vip, normal int64) events.RunCounters {
		return events.RunCounters{Processed: events.ByPriority{VIP: vip, Normal: normal}}
	}
	tests := []struct {
		name   string
		phase  events.Phase
		obs    observation
		want   events.Phase
		moving bool
	}{
		{"generating until the generator is done", events.PhaseGenerating,
			observation{gen: events.Generation{Published: published}}, "", false},
		{"generation done", events.PhaseGenerating, observation{gen: finished}, events.PhaseEnqueueVIP, true},
		{"generation failed", events.PhaseGenerating,
			observation{gen: events.Generation{Error: "stream full"}}, events.PhaseError, true},
		{"vip not all accounted for", events.PhaseEnqueueVIP,
			observation{gen: finished, vip: queue{pending: 10}, counters: counted(200, 0)}, "", false},
		{"vip accounted for in the queue and done", events.PhaseEnqueueVIP,
			observation{gen: finished, vip: queue{pending: 40, ackPending: 10}, counters: counted(200, 0)},
			events.PhaseWaitingVIPDrain, true},
		{"vip in flight", events.PhaseWaitingVIPDrain,
			observation{gen: finished, vip: queue{ackPending: 1}, counters: counted(249, 0)}, "", false},
		{"vip queue empty, reports not all folded", events.PhaseWaitingVIPDrain,
			observation{gen: finished, counters: counted(250, 0)}, "", false},
		{"vip drained", events.PhaseWaitingVIPDrain,
			observation{gen: finished, normal: queue{pending: 750}, counters: counted(250, 0), caughtUp: true},
			events.PhaseEnqueueNormal, true},
		{"vip drained with failures", events.PhaseWaitingVIPDrain,
			observation{gen: finished, caughtUp: true, counters: events.RunCounters{
				Processed: events.ByPriority{VIP: 248}, Failed: events.ByPriority{VIP: 2}}},
			events.PhaseEnqueueNormal, true},
		{"vip drained, one order acked outside Pedidos", events.PhaseWaitingVIPDrain,
			observation{gen: finished, counters: counted(249, 0), caughtUp: true}, events.PhaseEnqueueNormal, true},
		{"vip orders lost before they were all enqueued", events.PhaseEnqueueVIP,
			observation{gen: finished, counters: counted(240, 0), caughtUp: true}, events.PhaseWaitingVIPDrain, true},
		{"normal resumed, nothing delivered yet", events.PhaseEnqueueNormal,
			observation{gen: finished, normal: queue{pending: 750}, counters: counted(250, 0)}, "", false},
		{"normal first delivery", events.PhaseEnqueueNormal,
			observation{gen: finished, normal: queue{pending: 700, ackPending: 50}, counters: counted(250, 0)},
			events.PhaseWaitingNormalDrain, true},
		{"no normal orders at all", events.PhaseEnqueueNormal,
			observation{gen: events.Generation{Published: events.ByPriority{VIP: 3}, FinishedAt: &done},
				counters: counted(3, 0)}, events.PhaseWaitingNormalDrain, true},
		{"normal in progress", events.PhaseWaitingNormalDrain,
			observation{gen: finished, normal: queue{pending: 10}, counters: counted(250, 740)}, "", false},
		{"normal queue empty, reports not all folded", events.PhaseWaitingNormalDrain,
			observation{gen: finished, counters: counted(250, 750)}, "", false},
		{"normal drained", events.PhaseWaitingNormalDrain,
			observation{gen: finished, counters: counted(250, 750), caughtUp: true}, events.PhaseDone, true},
		{"every normal order lost", events.PhaseEnqueueNormal,
			observation{gen: finished, counters: counted(250, 0), caughtUp: true}, events.PhaseWaitingNormalDrain, true},
		{"terminal phases stay", events.PhaseDone, observation{gen: finished}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moving := decide(tt.phase, &tt.obs)
			if got != tt.want || moving != tt.moving {
				t.Errorf("decide(%s) = %q, %v; want %q, %v", tt.phase, got, moving, tt.want, tt.moving)
			}
		})
	}
}

func TestLost(t *testing.T) {
	t.Parallel()
	done := time.Now()
	gen := events.Generation{Published: events.ByPriority{VIP: 10, Normal: 10}, FinishedAt: &done}
	o := observation{gen: gen, caughtUp: true, counters: events.RunCounters{
		Processed: events.ByPriority{VIP: 8, Normal: 10}, Failed: events.ByPriority{VIP: 1}}}
	if got := o.lost(events.PriorityVIP); got != 1 {
		t.Errorf("lost VIP = %d, want 1 (10 published, 8 processed, 1 failed)", got)
	}
	if got := o.lost(events.PriorityNormal); got != 0 {
		t.Errorf("lost NORMAL = %d, want 0", got)
	}
}
