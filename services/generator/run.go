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

// chunk is one chunk of a run, built, encoded and added to the Bull view:
// ready to publish.
type chunk struct {
	index  int
	msgs   []*nats.Msg
	counts events.ByPriority
}

// publishRun publishes every chunk not yet recorded as done and returns the
// final progress. It is a pipeline: while chunk c is published, chunk c+1 is
// built and added to the Bull view, and chunk c-1's progress is recorded as
// soon as its last ack is in, so the publish window never runs dry between
// chunks.
func (g *generator) publishRun(ctx context.Context, run events.Run) (events.Generation, error) {
	prog, rev, err := g.loadProgress(ctx, run)
	if err != nil || prog.Done() {
		return prog, err
	}
	if prog.ChunksDone > 0 {
		g.log.Info("resuming generation", "run_id", run.ID, "chunks_done", prog.ChunksDone, "chunks", prog.Chunks())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan chunk, 1)
	built := make(chan error, 1)
	go func() { built <- g.build(ctx, prog, ready) }()

	var published *chunk // sent, acks maybe not all in
	for c := range ready {
		if err := g.pub.send(ctx, c.msgs); err != nil {
			return prog, fmt.Errorf("publishing chunk %d: %w", c.index, err)
		}
		if published != nil {
			// The previous chunk is acknowledged once no more than this
			// chunk's messages are pending: acks come back in order.
			if err := g.pub.settle(ctx, len(c.msgs)); err != nil {
				return prog, fmt.Errorf("publishing chunk %d: %w", published.index, err)
			}
			if rev, err = g.record(ctx, &prog, published, rev); err != nil {
				return prog, err
			}
		}
		published = &c
	}
	if err := <-built; err != nil {
		return prog, err
	}
	if published != nil {
		if err := g.pub.settle(ctx, 0); err != nil {
			return prog, fmt.Errorf("publishing chunk %d: %w", published.index, err)
		}
		if _, err = g.record(ctx, &prog, published, rev); err != nil {
			return prog, err
		}
	}
	return prog, nil
}

// build builds the chunks prog has yet to publish, adds them to the Bull
// view, and sends them to ready in order; it closes ready when done.
func (g *generator) build(ctx context.Context, prog events.Generation, ready chan<- chunk) error {
	defer close(ready)
	src := newChunkSource(prog.RunID)
	for c := prog.ChunksDone; c < prog.Chunks(); c++ {
		first := int64(c) * int64(prog.ChunkSize)
		n := int(min(int64(prog.ChunkSize), prog.Quantity-first))
		orders := src.fill(make([]events.Order, 0, n), first, n, time.Now())
		msgs, _ := encode(orders, make([]byte, 0, n*256))
		// The jobs exist in the Bull view before their orders can be
		// processed, so a processor always finds the job it finishes.
		if err := g.jobs.add(ctx, prog.RunID, c, orders, msgs); err != nil {
			return fmt.Errorf("adding chunk %d to the Bull view: %w", c, err)
		}
		ch := chunk{index: c, msgs: msgs}
		for i := range orders {
			if orders[i].Priority == events.PriorityVIP {
				ch.counts.VIP++
			} else {
				ch.counts.Normal++
			}
		}
		select {
		case ready <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// record records that chunk c is published and acknowledged.
func (g *generator) record(ctx context.Context, prog *events.Generation, c *chunk, rev uint64) (uint64, error) {
	prog.ChunksDone = c.index + 1
	prog.Published.VIP += c.counts.VIP
	prog.Published.Normal += c.counts.Normal
	if prog.ChunksDone == prog.Chunks() {
		now := time.Now().UTC()
		prog.FinishedAt = &now
	}
	// Update, not Put: a second generator working on the same run makes
	// this fail instead of both publishing.
	rev, err := g.kv.Update(ctx, events.KeyGeneration, mustJSON(*prog), rev)
	if err != nil {
		return rev, fmt.Errorf("recording progress of chunk %d: %w", c.index, err)
	}
	return rev, nil
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
