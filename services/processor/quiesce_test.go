package processor

import (
	"context"
	"testing"
	"time"
)

func TestGateQuiesceWaitsForWritesAndRefusesOlderBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	g := newGate(2)
	before := g.epoch.Load()
	p := g.enter(ctx, before)
	if p == nil {
		t.Fatal("a batch of the current epoch was refused")
	}
	// Written but not yet settled: still in flight.
	p.written()
	quiesced := make(chan int)
	go func() { quiesced <- g.quiesce() }()
	select {
	case <-quiesced:
		t.Fatal("quiesce returned while a batch was still being written")
	case <-time.After(50 * time.Millisecond):
	}
	p.leave()
	if n := <-quiesced; n != 1 {
		t.Errorf("quiesce waited for %d batches, want 1", n)
	}
	if g.enter(ctx, before) != nil {
		t.Fatal("a batch fetched before the quiesce was let in")
	}
	p = g.enter(ctx, g.epoch.Load())
	if p == nil {
		t.Fatal("a batch fetched after the quiesce was refused")
	}
	p.leave()
}

func TestGateBoundsConcurrentWrites(t *testing.T) {
	t.Parallel()
	g := newGate(2)
	e := g.epoch.Load()
	var passes []*pass
	for i := range 2 {
		p := g.enter(t.Context(), e)
		if p == nil {
			t.Fatalf("writer %d of 2 refused", i+1)
		}
		passes = append(passes, p)
	}
	refused := func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		return g.enter(ctx, e) == nil
	}
	if !refused() {
		t.Fatal("a third writer got in with two slots")
	}
	// A batch that is written frees its slot while it is settled; twice
	// frees it once.
	passes[0].written()
	passes[0].written()
	third := g.enter(t.Context(), e)
	if third == nil {
		t.Fatal("the slot of a written batch was not given")
	}
	if !refused() {
		t.Fatal("a slot was freed twice")
	}
	passes[0].leave()
	if !refused() {
		t.Fatal("leaving after written freed a second slot")
	}
	passes[1].leave()
	third.leave()
	if g.inFlight.Load() != 0 {
		t.Errorf("%d batches in flight after all left", g.inFlight.Load())
	}
}
