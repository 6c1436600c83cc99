package processor

import (
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// gate lets control stop every processor at a precise moment. Control first
// pauses the consumers, so nothing new is delivered; then it asks every
// processor to quiesce. Quiesce waits for the batches being handled to
// finish, and bumps the epoch: a batch fetched before that (delivered before
// the pause, not yet handled) is handed back to JetStream instead of being
// processed. When every processor answered, no order is being processed,
// and none will be until the consumers resume.
type gate struct {
	mu       sync.RWMutex // held for reading while a batch is handled
	epoch    atomic.Uint64
	inFlight atomic.Int64
}

// enter starts handling a batch fetched at epoch fetched. It returns false,
// without entering, if a quiesce happened since: the batch must be handed
// back.
func (g *gate) enter(fetched uint64) bool {
	g.mu.RLock()
	if g.epoch.Load() != fetched {
		g.mu.RUnlock()
		return false
	}
	g.inFlight.Add(1)
	return true
}

// leave ends handling a batch.
func (g *gate) leave() {
	g.inFlight.Add(-1)
	g.mu.RUnlock()
}

// quiesce waits for the batches being handled and returns how many there were.
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
		log.Info("quiesced", "reason", in.Reason, "batches_finished", finished)
		if err := req.RespondJSON(events.QuiesceReply{Instance: instance, Finished: finished}); err != nil {
			log.Warn("answering quiesce", "err", err)
		}
	}), micro.WithEndpointSubject(events.SubjectQuiesce), micro.WithEndpointQueueGroupDisabled())
}
