package api

import (
	"math"
	"time"

	"github.com/pedidos/pedidos/events"
)

// Status is the answer of GET /pedidos and the data of the SSE progress
// event. Field names follow the original project so that its clients keep
// working. Durations are milliseconds and null until the thing measured has
// started; times are ISO-8601 UTC with milliseconds, or null; rates are
// orders per second.
type Status struct {
	GenerationTimeMs    *int64            `json:"generationTimeMs"`
	EnqueueVIPTimeMs    *int64            `json:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs *int64            `json:"enqueueNormalTimeMs"`
	Processing          ProcessingWindows `json:"processing"`
	TotalTimeMs         *int64            `json:"totalTimeMs"`
	Counts              events.ByPriority `json:"counts"`
	Failed              events.ByPriority `json:"failed"`
	Phase               events.Phase      `json:"phase"`
	// LastRunID is the latest run that ended: the current run once it is
	// over, else the one before it.
	LastRunID  *string    `json:"lastRunId"`
	RunID      *string    `json:"runId"`
	Throughput Throughput `json:"throughput"`
	ETA        ETA        `json:"eta"`
	Progress   Progress   `json:"progress"`
	Timeline   []Mark     `json:"timeline"`
	// Reason says why the run ended in ERROR or ABORTED.
	Reason string `json:"reason,omitempty"`

	// stuck is set by server.status: see stallWatch.
	stuck bool
}

// ProcessingWindows are the processing windows of both priorities.
type ProcessingWindows struct {
	VIP    ProcessingWindow `json:"vip"`
	Normal ProcessingWindow `json:"normal"`
}

// ProcessingWindow spans one priority's processing: from the first processedAt
// to the last batch write MongoDB acknowledged.
type ProcessingWindow struct {
	Start  *Time  `json:"start"`
	End    *Time  `json:"end"`
	TimeMs *int64 `json:"timeMs"`
	Count  int64  `json:"count"`
}

// Throughput is processed orders per second: per priority over its
// processing window, overall over the run's elapsed time.
type Throughput struct {
	VIP     float64 `json:"vip"`
	Normal  float64 `json:"normal"`
	Overall float64 `json:"overall"`
}

// ETA estimates when the run ends.
type ETA struct {
	// EstimatedMs is the time left at the run's average rate: null when
	// unknown (nothing processed yet, or the run stopped early), 0 when done.
	EstimatedMs *int64 `json:"estimatedMs"`
	// ProgressPercent is the share of orders in a final state (processed or
	// failed), 0–100 with one decimal.
	ProgressPercent float64 `json:"progressPercent"`
}

// Progress counts orders against the run's target.
type Progress struct {
	Target         int64 `json:"target"`
	Generated      int64 `json:"generated"`
	ProcessedTotal int64 `json:"processedTotal"`
}

// Mark is one entry of the run's timeline.
type Mark struct {
	Phase events.Phase `json:"phase"`
	At    Time         `json:"at"`
}

// Time is a time that encodes as ISO-8601 UTC with milliseconds.
type Time struct{ time.Time }

// timeLayout is ISO-8601 UTC with milliseconds, as JavaScript's toISOString.
const timeLayout = "2006-01-02T15:04:05.000Z"

// MarshalJSON encodes t as "2006-01-02T15:04:05.000Z".
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// computeStatus derives the status of run at now from the generator's
// progress and the processing counters. run is nil before the first run;
// gen is ignored unless it belongs to run.
func computeStatus(run *events.Run, gen *events.Generation, c events.RunCounters, now time.Time) Status {
	s := Status{Phase: events.PhaseIdle, Timeline: []Mark{}}
	if run == nil {
		return s
	}
	if gen != nil && gen.RunID != run.ID {
		gen = nil
	}
	s.Phase = run.Phase
	s.RunID = &run.ID
	s.Reason = run.Reason
	terminal := !run.Phase.Active()
	if terminal {
		s.LastRunID = &run.ID
	} else if run.PreviousRunID != "" {
		s.LastRunID = &run.PreviousRunID
	}

	// end is when the clock of the run stops: its end, or now.
	end := now
	if terminal && run.FinishedAt != nil {
		end = *run.FinishedAt
	}
	for _, m := range run.Timeline {
		s.Timeline = append(s.Timeline, Mark{Phase: m.Phase, At: Time{m.At}})
	}
	s.GenerationTimeMs = generationTime(gen, end)
	s.EnqueueVIPTimeMs = phaseTime(run, events.PhaseEnqueueVIP, end)
	s.EnqueueNormalTimeMs = phaseTime(run, events.PhaseEnqueueNormal, end)
	elapsed := end.Sub(run.StartedAt)
	s.TotalTimeMs = millis(elapsed)

	s.Counts = c.Processed
	s.Failed = c.Failed
	s.Processing.VIP = window(c.VIP, c.Processed.VIP)
	s.Processing.Normal = window(c.Normal, c.Processed.Normal)
	s.Throughput = Throughput{
		VIP:     rate(c.Processed.VIP, c.VIP.Duration()),
		Normal:  rate(c.Processed.Normal, c.Normal.Duration()),
		Overall: rate(c.Processed.Total(), elapsed),
	}

	s.Progress = Progress{Target: run.Quantity, ProcessedTotal: c.Processed.Total()}
	if gen != nil {
		s.Progress.Generated = gen.Published.Total()
	}
	done := c.Processed.Total() + c.Failed.Total()
	s.ETA = eta(run, done, elapsed)
	return s
}

// generationTime is how long generation took, or has taken so far.
func generationTime(gen *events.Generation, end time.Time) *int64 {
	if gen == nil || gen.StartedAt.IsZero() {
		return nil
	}
	if gen.FinishedAt != nil {
		end = *gen.FinishedAt
	}
	return millis(end.Sub(gen.StartedAt))
}

// phaseTime is how long run stayed in phase p, or null if it never entered it.
func phaseTime(run *events.Run, p events.Phase, end time.Time) *int64 {
	if _, ok := run.EnteredAt(p); !ok {
		return nil
	}
	return millis(run.PhaseDuration(p, end))
}

func window(w events.Window, count int64) ProcessingWindow {
	pw := ProcessingWindow{Count: count}
	if w.First != nil {
		pw.Start = &Time{*w.First}
	}
	if end := w.End(); end != nil {
		pw.End = &Time{*end}
	}
	if w.First != nil && w.End() != nil {
		pw.TimeMs = millis(w.Duration())
	}
	return pw
}

// eta estimates the time left from the run's average rate so far.
func eta(run *events.Run, done int64, elapsed time.Duration) ETA {
	var e ETA
	if run.Quantity > 0 {
		e.ProgressPercent = math.Round(float64(done)*1000/float64(run.Quantity)) / 10
		e.ProgressPercent = min(max(e.ProgressPercent, 0), 100)
	}
	switch {
	case run.Phase == events.PhaseDone:
		e.ProgressPercent = 100
		e.EstimatedMs = new(int64)
	case !run.Phase.Active(), done <= 0, elapsed <= 0:
		// Stopped early, or no rate to extrapolate from yet.
	default:
		left := max(run.Quantity-done, 0)
		ms := float64(elapsed.Milliseconds()) * float64(left) / float64(done)
		est := int64(min(ms, maxETA))
		e.EstimatedMs = &est
	}
	return e
}

// maxETA caps an estimate extrapolated from a tiny count (about 11 days).
const maxETA = float64(1e9)

// rate is n per second over d, and 0 when d is not positive.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 || n <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*100) / 100
}

// millis returns d in whole milliseconds, never negative (clocks of
// different hosts may disagree by a little).
func millis(d time.Duration) *int64 {
	ms := max(d.Milliseconds(), 0)
	return &ms
}
