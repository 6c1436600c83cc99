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
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
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
