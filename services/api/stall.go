package api

import (
	"sync"
	"time"
)

// stallAfter is how long an active run may go without finishing an order
// before GET /health/queue calls it stuck.
const stallAfter = 30 * time.Second

// stallWatch tells when the current run last made progress, as this api
// instance saw it. Every status read (GET /pedidos, /logs, /health/queue,
// and the event stream's progress ticks) reports the run's done count
// (processed + failed) to it.
//
// A run is stuck when it is active, not paused by an operator, has orders
// left (done < quantity), and its done count has not moved for stallAfter.
// A pause restarts the clock, so that a run resumed after a long pause is
// not stuck at once. The clock starts when this instance first sees the
// run: right after a restart no run is stuck until stallAfter has passed
// without progress.
type stallWatch struct {
	mu    sync.Mutex
	runID string
	done  int64
	since time.Time // when done last changed, or the pause ended
}

// see records st, the status at now, and reports whether it shows a
// stuck run.
func (w *stallWatch) see(st *Status, paused bool, now time.Time) bool {
	if st.RunID == nil || !st.Phase.Active() {
		return false
	}
	done := st.Counts.Total() + st.Failed.Total()
	w.mu.Lock()
	defer w.mu.Unlock()
	if *st.RunID != w.runID || done != w.done || paused || w.since.IsZero() {
		w.runID, w.done, w.since = *st.RunID, done, now
	}
	return !paused && done < st.Progress.Target && now.Sub(w.since) >= stallAfter
}
