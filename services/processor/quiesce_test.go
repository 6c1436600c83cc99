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
	if !g.enter(ctx, before) {
		t.Fatal("a batch of the current epoch was refused")
	}
	quiesced := make(chan int)
	go func() { quiesced <- g.quiesce() }()
	select {
	case <-quiesced:
		t.Fatal("quiesce returned while a batch was still being written")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave()
	if n := <-quiesced; n != 1 {
		t.Errorf("quiesce waited for %d batches, want 1", n)
	}
	if g.enter(ctx, before) {
		t.Fatal("a batch fetched before the quiesce was let in")
	}
	if !g.enter(ctx, g.epoch.Load()) {
		t.Fatal("a batch fetched after the quiesce was refused")
	}
	g.leave()
}

func TestGateBoundsConcurrentWrites(t *testing.T) {
	t.Parallel()
	g := newGate(2)
	e := g.epoch.Load()
	for i := range 2 {
		if !g.enter(t.Context(), e) {
			t.Fatalf("writer %d of 2 refused", i+1)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if g.enter(ctx, e) {
		t.Fatal("a third writer got in with two slots")
	}
	g.leave()
	if !g.enter(t.Context(), e) {
		t.Fatal("a freed slot was not given")
	}
	g.leave()
	g.leave()
}
