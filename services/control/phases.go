package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// phases publishes the phase events of runs on control.phase (stream
// CONTROL), each once: its message id is the run and the phase.
type phases struct {
	js jetstream.JetStream
}

// publish publishes a phase event, once per msgID.
func (p phases) publish(ctx context.Context, ev events.PhaseEvent, msgID string) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding phase event: %w", err)
	}
	if _, err := p.js.Publish(ctx, events.SubjectPhase, data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publishing phase %s of run %s: %w", ev.Phase, ev.RunID, err)
	}
	return nil
}

// last returns the last phase event published, zero if none.
func (p phases) last(ctx context.Context) (events.PhaseEvent, error) {
	var last events.PhaseEvent
	stream, err := p.js.Stream(ctx, events.StreamControl)
	if err != nil {
		return last, fmt.Errorf("opening stream %s: %w", events.StreamControl, err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, events.SubjectPhase)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return last, nil
	case err != nil:
		return last, fmt.Errorf("reading the last phase event: %w", err)
	}
	if err := json.Unmarshal(msg.Data, &last); err != nil {
		return last, fmt.Errorf("decoding the last phase event: %w", err)
	}
	return last, nil
}
