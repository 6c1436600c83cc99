package control

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

// TestTallyCountsEachOrderOnce folds reports as processors send them after
// crashes and redeliveries: an order reported twice, or first as found
// already written, counts once.
func TestTallyCountsEachOrderOnce(t *testing.T) {
	t.Parallel()
	at := func(ms int64) time.Time { return time.UnixMilli(1_700_000_000_000 + ms).UTC() }
	keys := func(ids ...string) events.OrderKeys {
		out := make(events.OrderKeys, len(ids))
		for i, id := range ids {
			out[i] = events.OrderKey(id)
		}
		return out
	}
	tl := newTally("r1")
	reports := []events.BatchResult{
		{RunID: "r1", Priority: events.PriorityVIP, ProcessedAt: at(100), WrittenAt: at(150), Processed: keys("a", "b", "c")},
		// The same batch reported again after a lost ack of its report.
		{RunID: "r1", Priority: events.PriorityVIP, ProcessedAt: at(100), WrittenAt: at(150), Processed: keys("a", "b", "c")},
		// Redelivered after a crash before the ack: found already written.
		{RunID: "r1", Priority: events.PriorityVIP, ProcessedAt: at(900), WrittenAt: at(950), Processed: keys("b", "d"),
			Duplicates: 1, Redelivered: 2},
		{RunID: "r1", Priority: events.PriorityVIP, ProcessedAt: at(200), WrittenAt: at(260), Failed: keys("e")},
		{RunID: "r1", Priority: events.PriorityNormal, ProcessedAt: at(1000), WrittenAt: at(1100), Processed: keys("f")},
	}
	for i := range reports {
		tl.apply(&reports[i], uint64(i+1))
	}
	c := tl.counters
	if c.Processed.VIP != 4 || c.Failed.VIP != 1 || c.Processed.Normal != 1 {
		t.Errorf("counters = %+v; want 4 VIP processed, 1 failed, 1 NORMAL", c)
	}
	if !c.VIP.First.Equal(at(100)) || !c.VIP.Last.Equal(at(900)) || !c.VIP.Done.Equal(at(950)) {
		t.Errorf("VIP window = %v..%v done %v", c.VIP.First, c.VIP.Last, c.VIP.Done)
	}
	if tl.duplicates.VIP != 1 || tl.redelivered.VIP != 2 || tl.applied != 5 {
		t.Errorf("duplicates %+v, redelivered %+v, applied %d", tl.duplicates, tl.redelivered, tl.applied)
	}
	// Retry-failed: the failed order is pending again, then processed.
	tl.apply(&events.BatchResult{RunID: "r1", Priority: events.PriorityVIP, Retried: keys("e", "a")}, 6)
	tl.apply(&events.BatchResult{RunID: "r1", Priority: events.PriorityVIP, ProcessedAt: at(2000), WrittenAt: at(2001),
		Processed: keys("e")}, 7)
	if c := tl.counters; c.Processed.VIP != 5 || c.Failed.VIP != 0 {
		t.Errorf("after a retry: %+v; want 5 VIP processed, none failed (a processed order is not retried)", c)
	}
}

// TestProjectorStartsAStalledFoldAgain: a fold that stops taking reports in
// (its consumer silent, neither delivering nor failing) while the stream
// holds newer ones is started again after the stall bound, and the new fold
// counts every report.
func TestProjectorStartsAStalledFoldAgain(t *testing.T) {
	t.Parallel()
	_, _, js := startTopology(t)
	ctx := t.Context()
	report := func(id string) {
		t.Helper()
		data, err := json.Marshal(events.BatchResult{RunID: "r1", Priority: events.PriorityVIP,
			ProcessedAt: time.Now().UTC(), WrittenAt: time.Now().UTC(), Processed: events.OrderKeys{events.OrderKey(id)}})
		must(t, err)
		_, err = js.Publish(ctx, events.ResultSubject("r1"), data)
		must(t, err)
	}
	p := newProjector(js, nil, slog.New(slog.DiscardHandler))
	p.stall = 300 * time.Millisecond
	processed := func() (int64, bool) {
		t.Helper()
		must(t, p.follow(ctx, "r1"))
		c, caughtUp, err := p.observe(ctx, "r1")
		must(t, err)
		return c.Processed.VIP, caughtUp
	}
	awaitProcessed := func(want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			n, caughtUp := processed()
			if n == want && caughtUp {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the fold counts %d processed (caught up %v), want %d within %v", n, caughtUp, want, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	report("a")
	awaitProcessed(1, 5*time.Second)

	// The fold's consumer goes silent: it stops, and nothing tells the
	// projector. Reports come after. (The consumer stops a moment after
	// stop returns, and may take one more in: report until one is left.)
	p.mu.Lock()
	p.stop()
	p.mu.Unlock()
	reported := int64(1)
	for caughtUp := true; caughtUp; {
		if reported == 20 {
			t.Fatal("the stopped fold still takes every report in")
		}
		report(fmt.Sprint("b", reported))
		reported++
		_, caughtUp = processed()
		time.Sleep(20 * time.Millisecond)
	}
	awaitProcessed(reported, 10*p.stall)
}
