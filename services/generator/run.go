package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// generate publishes the orders of run, resuming from the recorded progress,
// and records a failure in the progress so control can end the run.
func (g *generator) generate(ctx context.Context, run events.Run) {
	log := g.log.With("run_id", run.ID)
	started := time.Now()
	prog, err := g.publishRun(ctx, run)
	switch {
	case err == nil:
		log.Info("generation finished", "published_vip", prog.Published.VIP,
			"published_normal", prog.Published.Normal, "took", time.Since(started).Round(time.Millisecond))
	case ctx.Err() != nil:
		log.Info("generation stopped", "chunks_done", prog.ChunksDone)
	default:
		log.Error("generation failed", "err", err)
		prog.Error = err.Error()
		if _, err := g.kv.Put(ctx, events.KeyGeneration, mustJSON(prog)); err != nil {
			log.Error("recording generation failure", "err", err)
		}
	}
}

// publishRun publishes every chunk not yet recorded as done and returns the
// final progress.
func (g *generator) publishRun(ctx context.Context, run events.Run) (events.Generation, error) {
	prog, rev, err := g.loadProgress(ctx, run)
	if err != nil || prog.Done() {
		return prog, err
	}
	if prog.ChunksDone > 0 {
		g.log.Info("resuming generation", "run_id", run.ID, "chunks_done", prog.ChunksDone, "chunks", prog.Chunks())
	}
	src := newChunkSource(run.ID)
	orders := make([]events.Order, 0, prog.ChunkSize)
	arena := make([]byte, 0, prog.ChunkSize*256)
	for c := prog.ChunksDone; c < prog.Chunks(); c++ {
		first := int64(c) * int64(prog.ChunkSize)
		n := int(min(int64(prog.ChunkSize), prog.Quantity-first))
		orders = src.fill(orders, first, n, time.Now())
		var msgs []*nats.Msg
		msgs, arena = encode(orders, arena)
		// The jobs exist in the Bull view before their orders can be
		// processed, so a processor always finds the job it finishes.
		if err := g.jobs.add(ctx, run.ID, c, orders, msgs); err != nil {
			return prog, fmt.Errorf("adding chunk %d to the Bull view: %w", c, err)
		}
		if err := g.pub.publishChunk(ctx, msgs); err != nil {
			return prog, fmt.Errorf("publishing chunk %d: %w", c, err)
		}
		for i := range orders {
			if orders[i].Priority == events.PriorityVIP {
				prog.Published.VIP++
			} else {
				prog.Published.Normal++
			}
		}
		prog.ChunksDone = c + 1
		if prog.ChunksDone == prog.Chunks() {
			now := time.Now().UTC()
			prog.FinishedAt = &now
		}
		// Update, not Put: a second generator working on the same run makes
		// this fail instead of both publishing.
		if rev, err = g.kv.Update(ctx, events.KeyGeneration, mustJSON(prog), rev); err != nil {
			return prog, fmt.Errorf("recording progress of chunk %d: %w", c, err)
		}
	}
	return prog, nil
}

// loadProgress returns the recorded progress of run, creating it on the
// run's first start.
func (g *generator) loadProgress(ctx context.Context, run events.Run) (events.Generation, uint64, error) {
	entry, err := g.kv.Get(ctx, events.KeyGeneration)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return events.Generation{}, 0, fmt.Errorf("reading generation progress: %w", err)
	}
	if err == nil {
		var prog events.Generation
		if err := json.Unmarshal(entry.Value(), &prog); err == nil && prog.RunID == run.ID {
			return prog, entry.Revision(), nil
		}
	}
	prog := events.Generation{
		RunID:     run.ID,
		Quantity:  run.Quantity,
		ChunkSize: run.ChunkSize,
		StartedAt: time.Now().UTC(),
	}
	rev, err := g.kv.Put(ctx, events.KeyGeneration, mustJSON(prog))
	if err != nil {
		return prog, 0, fmt.Errorf("recording generation start: %w", err)
	}
	return prog, rev, nil
}

// mustJSON encodes a Generation, which has no value JSON cannot encode.
func mustJSON(prog events.Generation) []byte {
	b, err := json.Marshal(prog)
	if err != nil {
		panic(fmt.Sprintf("encoding generation progress: %v", err))
	}
	return b
}
