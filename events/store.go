package events

import "time"

// MongoDB names.
const (
	// Database is the MongoDB database of Pedidos.
	Database = "ecommerce"
	// CollectionOrders holds processed orders, one document per order.
	CollectionOrders = "orders"
	// CollectionRuns holds one RunReport per finished run.
	CollectionRuns = "process_runs"
)

// Window is the processing window of one priority; nil times mean no order
// of that priority was processed yet.
type Window struct {
	// First and Last are the earliest and latest processedAt: when a
	// processor took the order's batch in hand. The priority audit compares
	// these, as MongoDB stores them.
	First *time.Time `json:"first"`
	Last  *time.Time `json:"last"`
	// Done is when MongoDB acknowledged the latest batch write.
	Done *time.Time `json:"done"`
}

// End is when the window's processing finished: Done, or Last if unknown.
func (w Window) End() *time.Time {
	if w.Done != nil {
		return w.Done
	}
	return w.Last
}

// Duration is End - First, or 0 when the window is empty.
func (w Window) Duration() time.Duration {
	end := w.End()
	if w.First == nil || end == nil {
		return 0
	}
	return end.Sub(*w.First)
}

// RunCounters are the counters of a run: the orders of each priority that
// reached a final state, and their processing windows.
type RunCounters struct {
	Processed ByPriority
	Failed    ByPriority
	VIP       Window
	Normal    Window
}

// Done returns the orders of priority p that reached a final state.
func (c *RunCounters) Done(p Priority) int64 { return c.Processed.Get(p) + c.Failed.Get(p) }

// Window returns the processing window of priority p.
func (c *RunCounters) Window(p Priority) Window {
	if p == PriorityVIP {
		return c.VIP
	}
	return c.Normal
}

// Widen widens the processing window of priority p to take in a batch
// processed at processedAt and written at writtenAt.
func (c *RunCounters) Widen(p Priority, processedAt, writtenAt time.Time) {
	w := &c.Normal
	if p == PriorityVIP {
		w = &c.VIP
	}
	at, done := processedAt.UTC(), writtenAt.UTC()
	if w.First == nil || at.Before(*w.First) {
		w.First = &at
	}
	if w.Last == nil || at.After(*w.Last) {
		w.Last = &at
	}
	if w.Done == nil || done.After(*w.Done) {
		w.Done = &done
	}
}
