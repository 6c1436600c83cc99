package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// errConflict means the run changed between a read and a compare-and-set.
var errConflict = errors.New("run state changed concurrently")

// state reads and writes the run and generation entries of the state bucket.
// Control is the only writer of the run; every write is a compare-and-set on
// the revision read.
type state struct {
	kv jetstream.KeyValue
}

// run returns the current run and its revision; a zero revision means no run
// was ever started.
func (s state) run(ctx context.Context) (events.Run, uint64, error) {
	var run events.Run
	entry, err := s.kv.Get(ctx, events.KeyRun)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return events.Run{Phase: events.PhaseIdle}, 0, nil
	}
	if err != nil {
		return run, 0, fmt.Errorf("reading run state: %w", err)
	}
	if err := json.Unmarshal(entry.Value(), &run); err != nil {
		return run, 0, fmt.Errorf("decoding run state: %w", err)
	}
	return run, entry.Revision(), nil
}

// save writes run if the stored run is still at revision rev (0: absent),
// and returns the new revision.
func (s state) save(ctx context.Context, run events.Run, rev uint64) (uint64, error) {
	data, err := json.Marshal(run)
	if err != nil {
		return 0, fmt.Errorf("encoding run state: %w", err)
	}
	if rev == 0 {
		rev, err = s.kv.Create(ctx, events.KeyRun, data)
	} else {
		rev, err = s.kv.Update(ctx, events.KeyRun, data, rev)
	}
	if isConflict(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("writing run state: %w", err)
	}
	return rev, nil
}

// generation returns the generator's progress on run runID; ok is false
// while the generator has not started it.
func (s state) generation(ctx context.Context, runID string) (gen events.Generation, ok bool, err error) {
	entry, err := s.kv.Get(ctx, events.KeyGeneration)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return gen, false, nil
	}
	if err != nil {
		return gen, false, fmt.Errorf("reading generation progress: %w", err)
	}
	if err := json.Unmarshal(entry.Value(), &gen); err != nil {
		return gen, false, fmt.Errorf("decoding generation progress: %w", err)
	}
	return gen, gen.RunID == runID, nil
}

// startGeneration records the generation of run, none of its chunks done:
// the generators record theirs in it.
func (s state) startGeneration(ctx context.Context, gen events.Generation) error {
	data, err := json.Marshal(gen)
	if err != nil {
		return fmt.Errorf("encoding generation progress: %w", err)
	}
	if _, err := s.kv.Put(ctx, events.KeyGeneration, data); err != nil {
		return fmt.Errorf("recording the generation of run %s: %w", gen.RunID, err)
	}
	return nil
}

// queue returns the operator's pause state and its revision (0: never set).
func (s state) queue(ctx context.Context) (events.QueueState, uint64, error) {
	var qs events.QueueState
	entry, err := s.kv.Get(ctx, events.KeyQueue)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return qs, 0, nil
	}
	if err != nil {
		return qs, 0, fmt.Errorf("reading queue state: %w", err)
	}
	if err := json.Unmarshal(entry.Value(), &qs); err != nil {
		return qs, 0, fmt.Errorf("decoding queue state: %w", err)
	}
	return qs, entry.Revision(), nil
}

// saveQueue records the operator's pause state.
func (s state) saveQueue(ctx context.Context, qs events.QueueState) error {
	data, err := json.Marshal(qs)
	if err != nil {
		return fmt.Errorf("encoding queue state: %w", err)
	}
	if _, err := s.kv.Put(ctx, events.KeyQueue, data); err != nil {
		return fmt.Errorf("writing queue state: %w", err)
	}
	return nil
}

// clear removes every key of the bucket, history included: no run, no
// generation, no pause.
func (s state) clear(ctx context.Context) error {
	for _, key := range []string{events.KeyRun, events.KeyGeneration, events.KeyQueue, events.KeyKept} {
		if err := s.kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("purging key %s: %w", key, err)
		}
	}
	return nil
}

// isConflict reports whether err is a compare-and-set that lost: a Create
// of a key that exists, or an Update of a revision that is not the last.
// JetStream answers "wrong last sequence"; nats.go maps it to
// ErrKeyExists or ErrKeyRevisionMismatch depending on the call.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}
