package events

import (
	"fmt"
	"strconv"
	"time"
)

// MongoDB names.
const (
	// Database is the MongoDB database of Pedidos.
	Database = "ecommerce"
	// CollectionOrders holds processed orders, one document per order.
	CollectionOrders = "orders"
	// CollectionRuns holds one RunReport per finished run.
	CollectionRuns = "process_runs"
)

// RunCountersKey is the Redis hash holding the processing counters of a run.
// Processors update it once per batch, atomically, after the batch's MongoDB
// write; GET /pedidos and control's drain decision read it.
func RunCountersKey(runID string) string { return "pedidos:run:" + runID }

// Fields of the RunCountersKey hash, per priority ("vip" or "normal"):
// processed_<p>, failed_<p> (counts), first_<p>, last_<p> (Unix milliseconds
// of the earliest and latest processedAt), done_<p> (Unix milliseconds of
// the latest batch write MongoDB acknowledged).
func counterField(kind string, p Priority) string {
	if p == PriorityVIP {
		return kind + "_vip"
	}
	return kind + "_normal"
}

// FieldProcessed is the hash field counting processed orders of priority p.
func FieldProcessed(p Priority) string { return counterField("processed", p) }

// FieldFailed is the hash field counting failed orders of priority p.
func FieldFailed(p Priority) string { return counterField("failed", p) }

// FieldFirst is the hash field holding the earliest processedAt of priority p.
func FieldFirst(p Priority) string { return counterField("first", p) }

// FieldLast is the hash field holding the latest processedAt of priority p.
func FieldLast(p Priority) string { return counterField("last", p) }

// FieldDone is the hash field holding when the latest write of priority p
// was acknowledged.
func FieldDone(p Priority) string { return counterField("done", p) }

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

// RunCounters is the decoded RunCountersKey hash.
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

// ParseRunCounters decodes the fields of a RunCountersKey hash. Missing
// fields are zero; a malformed one is an error.
func ParseRunCounters(h map[string]string) (RunCounters, error) {
	var c RunCounters
	for _, p := range [...]Priority{PriorityVIP, PriorityNormal} {
		processed, err := intField(h, FieldProcessed(p))
		if err != nil {
			return c, err
		}
		failed, err := intField(h, FieldFailed(p))
		if err != nil {
			return c, err
		}
		first, err := timeField(h, FieldFirst(p))
		if err != nil {
			return c, err
		}
		last, err := timeField(h, FieldLast(p))
		if err != nil {
			return c, err
		}
		done, err := timeField(h, FieldDone(p))
		if err != nil {
			return c, err
		}
		w := Window{First: first, Last: last, Done: done}
		if p == PriorityVIP {
			c.Processed.VIP, c.Failed.VIP, c.VIP = processed, failed, w
		} else {
			c.Processed.Normal, c.Failed.Normal, c.Normal = processed, failed, w
		}
	}
	return c, nil
}

func intField(h map[string]string, name string) (int64, error) {
	s, ok := h[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("run counter %s: %w", name, err)
	}
	return n, nil
}

func timeField(h map[string]string, name string) (*time.Time, error) {
	ms, err := intField(h, name)
	if err != nil || ms == 0 {
		return nil, err
	}
	t := time.UnixMilli(ms).UTC()
	return &t, nil
}
