package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// chunk is one chunk task taken, its orders built, encoded and added to the
// Bull view: ready to publish.
type chunk struct {
	task   events.ChunkTask
	msg    jetstream.Msg // the task, acked once the chunk is recorded
	alive  func()        // stops telling JetStream the task is worked on
	scope  *scope
	msgs   []*nats.Msg
	counts events.ByPriority
	sent   time.Time // when its first publish went out
}

// work takes chunk tasks and publishes their chunks until ctx is cancelled.
// It is a pipeline: while chunk c is published, the next task is taken and
// its chunk built, and chunk c's acks are awaited only once the next
// chunk's messages are sent, so the publish window never runs dry between
// chunks.
func (g *generator) work(ctx context.Context) {
	ready := make(chan *chunk, 1)
	go g.take(ctx, ready)
	var pending *chunk // sent, acks maybe not all in
	for {
		var c *chunk
		if pending != nil {
			select {
			case c = <-ready:
			default:
				// Nothing to overlap with: finish the chunk sent.
				g.finish(ctx, pending, 0)
				pending = nil
				continue
			}
		} else {
			select {
			case c = <-ready:
			case <-ctx.Done():
				g.drop(ready)
				return
			}
		}
		if c == nil { // take ended
			if pending != nil {
				g.finish(ctx, pending, 0)
			}
			return
		}
		if pending != nil && pending.scope != c.scope {
			g.finish(ctx, pending, 0)
			pending = nil
		}
		_ = c.msg.InProgress()
		c.sent = time.Now()
		sctx, done := c.scope.within(ctx)
		err := g.pub.send(sctx, c.msgs)
		done()
		if err != nil {
			if pending != nil {
				g.finish(ctx, pending, 0)
				pending = nil
			}
			g.fail(ctx, c, err)
			c.release()
			continue
		}
		if pending != nil {
			// The previous chunk is acknowledged once no more than this
			// chunk's messages are pending: acks come back in order.
			g.finish(ctx, pending, len(c.msgs))
		}
		pending = c
	}
}

// release ends the hold of chunk c: no more word to JetStream, and its
// run's scope left.
func (c *chunk) release() {
	c.alive()
	c.scope.leave()
}

// drop gives back the tasks taken but not published when the service stops,
// for another instance to take at once.
func (g *generator) drop(ready <-chan *chunk) {
	for c := range ready {
		_ = c.msg.Nak()
		c.release()
	}
}

// finish waits until no more than keep publishes are pending, which
// acknowledges chunk c, records it as done and acks its task.
func (g *generator) finish(ctx context.Context, c *chunk, keep int) {
	defer c.release()
	sctx, done := c.scope.within(ctx)
	defer done()
	if err := g.pub.settle(sctx, keep); err != nil {
		g.fail(ctx, c, err)
		return
	}
	recorded, err := g.record(sctx, c)
	if err != nil {
		g.fail(ctx, c, err)
		return
	}
	if recorded {
		add(g.meters.published, c.counts)
		g.meters.chunk.Observe(time.Since(c.sent).Seconds())
	}
	if err := c.msg.Ack(); err != nil {
		// Delivered again, the chunk is found recorded and acked then.
		g.log.Warn("acking a chunk task", slog.String("run_id", c.task.RunID), slog.Int("chunk", c.task.Chunk), slog.Any(logs.ErrorKey, err))
	}
}

// chunkAttempts bounds how many times a chunk is taken before its failure
// fails the run: with the task's ack wait, a NATS outage of minutes.
const chunkAttempts = 30

// fail ends chunk c on err. A chunk stopped, with its run or the service,
// is given up: its task is dropped when the run was stopped, and given back
// for another instance when the service stops. Any other failure (NATS
// lost, or restarting, while the chunk was published or recorded) gives
// the task back to be done again a second later: the orders' message ids
// and the chunk's bit in the run's Generation make a second publish and
// record harmless. Only a chunk that failed chunkAttempts times fails the
// run, which control ends.
func (g *generator) fail(ctx context.Context, c *chunk, err error) {
	attrs := []slog.Attr{slog.String("run_id", c.task.RunID), slog.Int("chunk", c.task.Chunk)}
	attempts := uint64(chunkAttempts)
	if md, merr := c.msg.Metadata(); merr == nil {
		attempts = md.NumDelivered
	}
	switch {
	case ctx.Err() != nil:
		_ = g.pub.drain(context.WithoutCancel(ctx))
		_ = c.msg.Nak()
	case c.scope.ctx.Err() != nil:
		_ = g.pub.drain(ctx)
		_ = c.msg.Term()
		g.log.LogAttrs(ctx, slog.LevelInfo, "chunk dropped: its run was stopped", attrs...)
	case attempts < chunkAttempts:
		_ = g.pub.drain(ctx)
		_ = c.msg.NakWithDelay(time.Second)
		g.log.LogAttrs(ctx, slog.LevelWarn, "chunk not published; it will be again",
			append(attrs, slog.Uint64("attempt", attempts), slog.Any(logs.ErrorKey, err))...)
	default:
		g.log.LogAttrs(ctx, slog.LevelError, "generation failed", append(attrs, slog.Any(logs.ErrorKey, err))...)
		msg := fmt.Sprintf("chunk %d: %v", c.task.Chunk, err)
		if _, uerr := g.update(ctx, c.task.RunID, func(gen *events.Generation) bool {
			if gen.Error != "" {
				return false
			}
			gen.Error = msg
			return true
		}); uerr != nil {
			g.log.LogAttrs(ctx, slog.LevelError, "recording generation failure", append(attrs, slog.Any(logs.ErrorKey, uerr))...)
		}
		_ = c.msg.Term()
	}
}

// take takes chunk tasks, builds their chunks and sends them to ready, in
// order, until ctx is cancelled; it closes ready then.
func (g *generator) take(ctx context.Context, ready chan<- *chunk) {
	defer close(ready)
	src := newChunkSource("")
	for ctx.Err() == nil {
		batch, err := g.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			g.natsDown.Fail(ctx, err, 1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for msg := range batch.Messages() {
			c := g.accept(ctx, msg, &src)
			if c == nil {
				continue
			}
			select {
			case ready <- c:
			case <-ctx.Done():
				_ = msg.Nak()
				c.release()
				return
			}
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) {
			g.natsDown.Fail(ctx, err, 1)
			continue
		}
		g.natsDown.OK(ctx)
	}
}

// accept decides what to do with a task delivered, and builds its chunk
// when it is to be published; nil when the task was settled otherwise.
func (g *generator) accept(ctx context.Context, msg jetstream.Msg, src *chunkSource) *chunk {
	var task events.ChunkTask
	err := json.Unmarshal(msg.Data(), &task)
	if err == nil {
		err = task.Validate()
	}
	if err != nil {
		g.log.Error("dropping an unreadable chunk task", slog.String("subject", msg.Subject()), slog.Any(logs.ErrorKey, err))
		_ = msg.Term()
		return nil
	}
	attrs := []slog.Attr{slog.String("run_id", task.RunID), slog.Int("chunk", task.Chunk)}
	run, gen, err := g.current(ctx)
	switch {
	case err != nil:
		g.log.LogAttrs(ctx, slog.LevelWarn, "reading the run of a chunk task", append(attrs, slog.Any(logs.ErrorKey, err))...)
		_ = msg.NakWithDelay(time.Second)
		return nil
	case gen.RunID != task.RunID:
		// The generation of another run: this one is over.
		_ = msg.Term()
		return nil
	case run.ID != task.RunID:
		// Control records the generation and its tasks before the run it
		// starts: the run shows up in a moment.
		meta, _ := msg.Metadata()
		delay := 100 * time.Millisecond
		if meta != nil {
			delay = min(time.Duration(meta.NumDelivered)*delay, 5*time.Second)
		}
		_ = msg.NakWithDelay(delay)
		return nil
	case run.Phase != events.PhaseGenerating:
		_ = msg.Term()
		return nil
	case gen.DoneChunks.Has(task.Chunk):
		// Recorded by an instance that died before its ack.
		_ = msg.Ack()
		return nil
	case gen.Error != "":
		_ = msg.Term()
		return nil
	}
	s, ok := g.enter(ctx, task.RunID)
	if !ok {
		_ = msg.Term()
		return nil
	}
	if src.runID != task.RunID {
		*src = newChunkSource(task.RunID)
	}
	_ = msg.InProgress()
	c := g.build(s, src, task)
	c.msg = msg
	c.alive = keepAlive(msg)
	return c
}

// keepAlive tells JetStream, every third of the ack wait, that the task is
// still worked on, until the returned function is called: a chunk whose
// acks are slow to come (a loaded server) is not delivered again meanwhile.
func keepAlive(msg jetstream.Msg) func() {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(events.GenerationAckWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// current returns the current run and its generation.
func (g *generator) current(ctx context.Context) (events.Run, events.Generation, error) {
	var run events.Run
	var gen events.Generation
	entry, err := g.kv.Get(ctx, events.KeyRun)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return run, gen, fmt.Errorf("reading %s: %w", events.KeyRun, err)
	}
	if err == nil {
		if err := json.Unmarshal(entry.Value(), &run); err != nil {
			return run, gen, fmt.Errorf("decoding %s: %w", events.KeyRun, err)
		}
	}
	entry, err = g.kv.Get(ctx, events.KeyGeneration)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return run, gen, fmt.Errorf("reading %s: %w", events.KeyGeneration, err)
	}
	if err == nil {
		if err := json.Unmarshal(entry.Value(), &gen); err != nil {
			return run, gen, fmt.Errorf("decoding %s: %w", events.KeyGeneration, err)
		}
	}
	return run, gen, nil
}

// build builds the chunk of task and adds its jobs to the Bull view.
func (g *generator) build(s *scope, src *chunkSource, task events.ChunkTask) *chunk {
	n := task.N()
	orders := src.fill(make([]events.Order, 0, n), task.First(), n, time.Now())
	msgs, _ := encode(orders, make([]byte, 0, n*256))
	// The jobs exist in the Bull view before their orders can be
	// processed, so a processor finds the jobs it moves. A failure costs
	// the view its accuracy, never the run.
	if err := g.view.AddJobs(s.ctx, task.RunID, task.Chunk, viewJobs(orders, msgs)); err != nil && s.ctx.Err() == nil {
		g.viewDown.Fail(s.ctx, err, len(orders), slog.String("run_id", task.RunID), slog.Int("chunk", task.Chunk))
	} else {
		g.viewDown.OK(s.ctx)
	}
	c := &chunk{task: task, scope: s, msgs: msgs}
	for i := range orders {
		if orders[i].Priority == events.PriorityVIP {
			c.counts.VIP++
		} else {
			c.counts.Normal++
		}
	}
	add(g.meters.generated, c.counts)
	return c
}

// viewJobs returns the Bull view's jobs of a chunk; msgs[i] carries
// orders[i].
func viewJobs(orders []events.Order, msgs []*nats.Msg) []redisstate.Job {
	jobs := make([]redisstate.Job, len(orders))
	for i := range orders {
		o := &orders[i]
		jobs[i] = redisstate.Job{ID: o.ID, Priority: o.Priority, Data: msgs[i].Data, CreatedAt: o.CreatedAt}
	}
	return jobs
}

// record records chunk c as done in its run's generation, and reports
// whether this call recorded it (false: it was already, or the run is
// over).
func (g *generator) record(ctx context.Context, c *chunk) (bool, error) {
	return g.update(ctx, c.task.RunID, func(gen *events.Generation) bool {
		return gen.Record(c.task.Chunk, c.counts, time.Now())
	})
}

// update applies change to the generation of run runID with a
// compare-and-set, again on a concurrent write, and reports whether it
// wrote; change returns false to leave it as it is. It writes nothing once
// the generation is another run's.
func (g *generator) update(ctx context.Context, runID string, change func(*events.Generation) bool) (bool, error) {
	for {
		entry, err := g.kv.Get(ctx, events.KeyGeneration)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading generation progress: %w", err)
		}
		var gen events.Generation
		if err := json.Unmarshal(entry.Value(), &gen); err != nil {
			return false, fmt.Errorf("decoding generation progress: %w", err)
		}
		if gen.RunID != runID || !change(&gen) {
			return false, nil
		}
		_, err = g.kv.Update(ctx, events.KeyGeneration, mustJSON(gen), entry.Revision())
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
			(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
			continue // another instance recorded a chunk: again on its write
		}
		if err != nil {
			return false, fmt.Errorf("recording generation progress: %w", err)
		}
		return true, nil
	}
}

// mustJSON encodes a Generation, which has no value JSON cannot encode.
func mustJSON(prog events.Generation) []byte {
	b, err := json.Marshal(prog)
	if err != nil {
		panic(fmt.Sprintf("encoding generation progress: %v", err))
	}
	return b
}
