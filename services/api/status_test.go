package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

func TestComputeStatus(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ptr := func(t time.Time) *time.Time { return &t }
	marks := func(phases ...events.Phase) []events.PhaseMark {
		var m []events.PhaseMark
		for i, p := range phases {
			m = append(m, events.PhaseMark{Phase: p, At: at(i * 1000)})
		}
		return m
	}
	generating := &events.Run{
		ID: "r2", Quantity: 1000, Phase: events.PhaseGenerating, StartedAt: t0,
		Timeline: marks(events.PhaseGenerating), PreviousRunID: "r1",
	}
	genHalf := &events.Generation{RunID: "r2", Quantity: 1000, Published: events.ByPriority{VIP: 100, Normal: 400}, StartedAt: t0}
	vipWindow := events.RunCounters{
		Processed: events.ByPriority{VIP: 80},
		VIP:       events.Window{First: ptr(at(100)), Last: ptr(at(900))},
	}
	done := &events.Run{
		ID: "r2", Quantity: 1000, Phase: events.PhaseDone, StartedAt: t0,
		Timeline: marks(events.PhaseGenerating, events.PhaseEnqueueVIP, events.PhaseWaitingVIPDrain,
			events.PhaseEnqueueNormal, events.PhaseWaitingNormalDrain, events.PhaseDone),
		FinishedAt: ptr(at(5000)), PreviousRunID: "r1",
	}
	genDone := &events.Generation{
		RunID: "r2", Quantity: 1000, Published: events.ByPriority{VIP: 250, Normal: 750},
		StartedAt: t0, FinishedAt: ptr(at(800)),
	}
	allDone := events.RunCounters{
		Processed: events.ByPriority{VIP: 250, Normal: 740},
		Failed:    events.ByPriority{Normal: 10},
		VIP:       events.Window{First: ptr(at(100)), Last: ptr(at(2100))},
		Normal:    events.Window{First: ptr(at(3100)), Last: ptr(at(4100))},
	}
	aborted := &events.Run{
		ID: "r3", Quantity: 1000, Phase: events.PhaseAborted, StartedAt: t0,
		Timeline:   marks(events.PhaseGenerating, events.PhaseAborted),
		FinishedAt: ptr(at(1000)), Reason: "cancelled by operator", PreviousRunID: "r2",
	}

	tests := []struct {
		name     string
		run      *events.Run
		gen      *events.Generation
		counters events.RunCounters
		now      time.Time
		want     string
	}{
		{
			name: "no run yet",
			now:  t0,
			want: `{"generationTimeMs":null,"enqueueVipTimeMs":null,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":null,"end":null,"timeMs":null,"count":0},"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":null,"counts":{"vip":0,"normal":0},"failed":{"vip":0,"normal":0},"phase":"IDLE",
				"lastRunId":null,"runId":null,"throughput":{"vip":0,"normal":0,"overall":0},
				"eta":{"estimatedMs":null,"progressPercent":0},"progress":{"target":0,"generated":0,"processedTotal":0},"timeline":[]}`,
		},
		{
			name: "just started, nothing processed",
			run:  generating,
			now:  at(250),
			want: `{"generationTimeMs":null,"enqueueVipTimeMs":null,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":null,"end":null,"timeMs":null,"count":0},"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":250,"counts":{"vip":0,"normal":0},"failed":{"vip":0,"normal":0},"phase":"GENERATING",
				"lastRunId":"r1","runId":"r2","throughput":{"vip":0,"normal":0,"overall":0},
				"eta":{"estimatedMs":null,"progressPercent":0},"progress":{"target":1000,"generated":0,"processedTotal":0},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.000Z"}]}`,
		},
		{
			name:     "generating while VIP is processed",
			run:      generating,
			gen:      genHalf,
			counters: vipWindow,
			now:      at(1000),
			want: `{"generationTimeMs":1000,"enqueueVipTimeMs":null,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":"2025-03-01T12:00:00.100Z","end":"2025-03-01T12:00:00.900Z","timeMs":800,"count":80},
				"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":1000,"counts":{"vip":80,"normal":0},"failed":{"vip":0,"normal":0},"phase":"GENERATING",
				"lastRunId":"r1","runId":"r2","throughput":{"vip":100,"normal":0,"overall":80},
				"eta":{"estimatedMs":11500,"progressPercent":8},"progress":{"target":1000,"generated":500,"processedTotal":80},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.000Z"}]}`,
		},
		{
			name:     "generation entry of the previous run is ignored",
			run:      generating,
			gen:      &events.Generation{RunID: "r1", Quantity: 5, Published: events.ByPriority{VIP: 5}, StartedAt: t0.Add(-time.Hour)},
			counters: vipWindow,
			now:      at(1000),
			want: `{"generationTimeMs":null,"enqueueVipTimeMs":null,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":"2025-03-01T12:00:00.100Z","end":"2025-03-01T12:00:00.900Z","timeMs":800,"count":80},
				"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":1000,"counts":{"vip":80,"normal":0},"failed":{"vip":0,"normal":0},"phase":"GENERATING",
				"lastRunId":"r1","runId":"r2","throughput":{"vip":100,"normal":0,"overall":80},
				"eta":{"estimatedMs":11500,"progressPercent":8},"progress":{"target":1000,"generated":0,"processedTotal":80},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.000Z"}]}`,
		},
		{
			name:     "done: clocks stop at finishedAt",
			run:      done,
			gen:      genDone,
			counters: allDone,
			now:      at(60000),
			want: `{"generationTimeMs":800,"enqueueVipTimeMs":1000,"enqueueNormalTimeMs":1000,
				"processing":{"vip":{"start":"2025-03-01T12:00:00.100Z","end":"2025-03-01T12:00:02.100Z","timeMs":2000,"count":250},
				"normal":{"start":"2025-03-01T12:00:03.100Z","end":"2025-03-01T12:00:04.100Z","timeMs":1000,"count":740}},
				"totalTimeMs":5000,"counts":{"vip":250,"normal":740},"failed":{"vip":0,"normal":10},"phase":"DONE",
				"lastRunId":"r2","runId":"r2","throughput":{"vip":125,"normal":740,"overall":198},
				"eta":{"estimatedMs":0,"progressPercent":100},"progress":{"target":1000,"generated":1000,"processedTotal":990},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.000Z"},{"phase":"ENQUEUE_VIP","at":"2025-03-01T12:00:01.000Z"},
				{"phase":"WAITING_VIP_DRAIN","at":"2025-03-01T12:00:02.000Z"},{"phase":"ENQUEUE_NORMAL","at":"2025-03-01T12:00:03.000Z"},
				{"phase":"WAITING_NORMAL_DRAIN","at":"2025-03-01T12:00:04.000Z"},{"phase":"DONE","at":"2025-03-01T12:00:05.000Z"}]}`,
		},
		{
			name: "aborted during generation: no estimate, generation clock stops",
			run:  aborted,
			gen:  &events.Generation{RunID: "r3", Quantity: 1000, Published: events.ByPriority{VIP: 30, Normal: 70}, StartedAt: t0},
			counters: events.RunCounters{
				Processed: events.ByPriority{VIP: 30},
				VIP:       events.Window{First: ptr(at(200)), Last: ptr(at(200))},
			},
			now: at(9000),
			want: `{"generationTimeMs":1000,"enqueueVipTimeMs":null,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":"2025-03-01T12:00:00.200Z","end":"2025-03-01T12:00:00.200Z","timeMs":0,"count":30},
				"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":1000,"counts":{"vip":30,"normal":0},"failed":{"vip":0,"normal":0},"phase":"ABORTED",
				"lastRunId":"r3","runId":"r3","throughput":{"vip":0,"normal":0,"overall":30},
				"eta":{"estimatedMs":null,"progressPercent":3},"progress":{"target":1000,"generated":100,"processedTotal":30},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.000Z"},{"phase":"ABORTED","at":"2025-03-01T12:00:01.000Z"}],
				"reason":"cancelled by operator"}`,
		},
		{
			name: "current phase runs until now; clock skew never goes negative",
			run: &events.Run{
				ID: "r4", Quantity: 3, Phase: events.PhaseEnqueueVIP, StartedAt: at(100),
				Timeline: []events.PhaseMark{{Phase: events.PhaseGenerating, At: at(100)}, {Phase: events.PhaseEnqueueVIP, At: at(300)}},
			},
			gen: &events.Generation{RunID: "r4", Quantity: 3, Published: events.ByPriority{VIP: 1, Normal: 2}, StartedAt: at(100), FinishedAt: ptr(at(290))},
			now: at(50),
			want: `{"generationTimeMs":190,"enqueueVipTimeMs":0,"enqueueNormalTimeMs":null,
				"processing":{"vip":{"start":null,"end":null,"timeMs":null,"count":0},"normal":{"start":null,"end":null,"timeMs":null,"count":0}},
				"totalTimeMs":0,"counts":{"vip":0,"normal":0},"failed":{"vip":0,"normal":0},"phase":"ENQUEUE_VIP",
				"lastRunId":null,"runId":"r4","throughput":{"vip":0,"normal":0,"overall":0},
				"eta":{"estimatedMs":null,"progressPercent":0},"progress":{"target":3,"generated":3,"processedTotal":0},
				"timeline":[{"phase":"GENERATING","at":"2025-03-01T12:00:00.100Z"},{"phase":"ENQUEUE_VIP","at":"2025-03-01T12:00:00.300Z"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(computeStatus(tt.run, tt.gen, tt.counters, tt.now))
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, []byte(tt.want))
		})
	}
}

func TestETAIsBounded(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	run := &events.Run{ID: "r", Quantity: 1_500_000, Phase: events.PhaseGenerating, StartedAt: t0}
	c := events.RunCounters{Processed: events.ByPriority{VIP: 1}}
	st := computeStatus(run, nil, c, t0.Add(1000*time.Hour))
	if st.ETA.EstimatedMs == nil || *st.ETA.EstimatedMs <= 0 || *st.ETA.EstimatedMs > int64(maxETA) {
		t.Fatalf("estimatedMs = %v, want in (0, %v]", st.ETA.EstimatedMs, maxETA)
	}
	if st.ETA.ProgressPercent != 0 {
		t.Errorf("progressPercent = %v, want 0", st.ETA.ProgressPercent)
	}
}

// assertJSONEqual fails t unless got and want hold the same JSON value.
func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}
