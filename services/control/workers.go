package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synadia-io/orbit.go/natsext"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/fleet"
)

// workerTimeout bounds how long control waits for every processor to
// finish the batches it is writing, and for the generator to settle what
// it published.
const workerTimeout = 10 * time.Second

// workers asks the processors and the generator to stop, over NATS.
type workers struct {
	nc *nats.Conn
}

// quiesce makes every processor instance finish or hand back the batches it
// holds, and returns how many instances confirmed. The consumers must be
// paused first, or new batches keep coming.
func (w workers) quiesce(ctx context.Context, reason string) (int, error) {
	ids, err := fleet.Instances(ctx, w.nc, events.ProcessorService)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	data, err := json.Marshal(events.QuiesceRequest{Reason: reason})
	if err != nil {
		return 0, fmt.Errorf("encoding quiesce request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, workerTimeout)
	defer cancel()
	replies, err := natsext.RequestMany(ctx, w.nc, events.SubjectQuiesce, data, natsext.RequestManyMaxMessages(len(ids)))
	if err != nil {
		return 0, fmt.Errorf("asking the processors to quiesce: %w", err)
	}
	n := 0
	for _, err := range replies {
		if err != nil {
			return n, fmt.Errorf("reading quiesce replies: %w", err)
		}
		n++
	}
	if n < len(ids) {
		return n, fmt.Errorf("%d of %d processors confirmed they stopped", n, len(ids))
	}
	return n, nil
}

// stopGenerators asks every generator to stop publishing run runID and
// waits until each has settled what it published. None running is fine.
func (w workers) stopGenerators(ctx context.Context, runID string) error {
	ids, err := fleet.Instances(ctx, w.nc, events.GeneratorService)
	if err != nil || len(ids) == 0 {
		return err
	}
	data, err := json.Marshal(events.StopRequest{RunID: runID})
	if err != nil {
		return fmt.Errorf("encoding stop request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, workerTimeout)
	defer cancel()
	replies, err := natsext.RequestMany(ctx, w.nc, events.SubjectGeneratorStop, data, natsext.RequestManyMaxMessages(len(ids)))
	if err != nil {
		return fmt.Errorf("stopping the generators: %w", err)
	}
	n := 0
	for _, err := range replies {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the generators' answers: %w", err)
		}
		n++
	}
	if n < len(ids) {
		return fmt.Errorf("%d of %d generators confirmed they stopped", n, len(ids))
	}
	return nil
}
