package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/events"
)

// Control finds the processor instances with a micro ping. An instance
// answers within milliseconds on an idle machine, but a loaded one (two
// cores shared with FerretDB under the race detector) has delayed a pong
// past 100 ms. So control listens for up to pingWindow, and stops once
// pingQuiet has passed without another pong after the first: a few hundred
// milliseconds when processors run, pingWindow when none does.
const (
	pingWindow = 2 * time.Second
	pingQuiet  = 200 * time.Millisecond
)

// quiesceTimeout bounds how long control waits for every processor to
// finish the batches it is writing.
const quiesceTimeout = 10 * time.Second

// gather publishes data on subject and collects replies until want arrived
// (want < 0: no number is awaited), the window closes, or, when quiet > 0,
// quiet passed since the last reply.
func gather(ctx context.Context, nc *nats.Conn, subject string, data []byte, want int, window, quiet time.Duration) ([]*nats.Msg, error) {
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("subscribing to replies: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, data); err != nil {
		return nil, fmt.Errorf("publishing %s: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var replies []*nats.Msg
	for want < 0 || len(replies) < want {
		wait, cancel := ctx, context.CancelFunc(func() {})
		if quiet > 0 && len(replies) > 0 {
			wait, cancel = context.WithTimeout(ctx, quiet)
		}
		msg, err := sub.NextMsgWithContext(wait)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			return replies, fmt.Errorf("reading replies to %s: %w", subject, err)
		}
		replies = append(replies, msg)
	}
	return replies, nil
}

// quiesce makes every processor instance finish or hand back the batches it
// holds, and returns how many instances confirmed. The consumers must be
// paused first, or new batches keep coming.
func (m *machine) quiesce(ctx context.Context, reason string) (int, error) {
	ping, err := micro.ControlSubject(micro.PingVerb, events.ProcessorService, "")
	if err != nil {
		return 0, fmt.Errorf("naming the ping subject: %w", err)
	}
	pongs, err := gather(ctx, m.nc, ping, nil, -1, pingWindow, pingQuiet)
	if err != nil {
		return 0, err
	}
	if len(pongs) == 0 {
		return 0, nil
	}
	data, err := json.Marshal(events.QuiesceRequest{Reason: reason})
	if err != nil {
		return 0, fmt.Errorf("encoding quiesce request: %w", err)
	}
	replies, err := gather(ctx, m.nc, events.SubjectQuiesce, data, len(pongs), quiesceTimeout, 0)
	if err != nil {
		return len(replies), err
	}
	if len(replies) < len(pongs) {
		return len(replies), fmt.Errorf("%d of %d processors confirmed they stopped", len(replies), len(pongs))
	}
	return len(replies), nil
}

// stopGenerator asks the generator to stop publishing run runID and waits
// until its publishes are settled. No generator running is fine.
func (m *machine) stopGenerator(ctx context.Context, runID string) error {
	data, err := json.Marshal(events.StopRequest{RunID: runID})
	if err != nil {
		return fmt.Errorf("encoding stop request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, quiesceTimeout)
	defer cancel()
	_, err = m.nc.RequestWithContext(ctx, events.SubjectGeneratorStop, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping the generator: %w", err)
	}
	return nil
}
