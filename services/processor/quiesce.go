package processor

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// gate bounds the batches a processor writes at once and lets control stop
// every processor at a precise moment.
//
// A fetched batch waits for one of a few write slots: FerretDB and MongoDB
// gain nothing from more concurrent writers, and a batch that has not
// started writing can still be handed back. A batch gives its slot up as
// soon as MongoDB answered, so the next batch is written while this one is
// counted and acked. To stop the processors, control first pauses the
// consumers, so nothing new is delivered, then asks every processor to
// quiesce. Quiesce waits for the batches in flight to finish (written,
// counted and settled) and bumps the epoch: a batch fetched before that is
// handed back to JetStream instead of being written. When every processor
// answered, no order is being processed, and none will be until the
// consumers resume.
type gate struct {
	slots    chan struct{}
	mu       sync.RWMutex // held for reading while a batch is in flight
	epoch    atomic.Uint64
	inFlight atomic.Int64
}

func newGate(writers int) *gate {
	return &gate{slots: make(chan struct{}, writers)}
}

// pass is a batch's way through the gate: it holds a write slot until
// written and keeps quiesce waiting until leave.
type pass struct {
	g    *gate
	slot sync.Once
}

// enter waits for a write slot for a batch fetched at epoch fetched. It
// returns nil, without entering, if a quiesce happened since or ctx ended:
// the batch must be handed back.
func (g *gate) enter(ctx context.Context, fetched uint64) *pass {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	g.mu.RLock()
	if g.epoch.Load() != fetched {
		g.mu.RUnlock()
		<-g.slots
		return nil
	}
	g.inFlight.Add(1)
	return &pass{g: g}
}

// written gives the write slot to the next batch; the batch is still in
// flight. Calling it again does nothing.
func (p *pass) written() {
	p.slot.Do(func() { <-p.g.slots })
}

// leave ends the batch: written, counted and settled.
func (p *pass) leave() {
	p.written()
	p.g.inFlight.Add(-1)
	p.g.mu.RUnlock()
}

// quiesce waits for the batches in flight and returns how many there were.
func (g *gate) quiesce() int {
	waited := g.inFlight.Load()
	g.mu.Lock()
	g.epoch.Add(1)
	g.mu.Unlock()
	return int(waited)
}

// serveQuiesce answers control's quiesce requests on this instance.
func serveQuiesce(svc micro.Service, g *gate, instance string, log *slog.Logger) error {
	return svc.AddEndpoint("quiesce", micro.HandlerFunc(func(req micro.Request) {
		var in events.QuiesceRequest
		_ = json.Unmarshal(req.Data(), &in) // the reason is only logged
		finished := g.quiesce()
		log.Info("quiesced", slog.Any("reason", in.Reason), slog.Any("batches_finished", finished))
		if err := req.RespondJSON(events.QuiesceReply{Instance: instance, Finished: finished}); err != nil {
			log.Warn("answering quiesce", slog.Any("error", err))
		}
	}), micro.WithEndpointSubject(events.SubjectQuiesce), micro.WithEndpointQueueGroupDisabled())
}
