// Package fleet finds the running instances of a Pedidos service: every
// service registers with NATS micro, so a ping of its name is answered once
// by each instance that is alive.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/synadia-io/orbit.go/natsext"
)

// A loaded instance has answered a ping after more than 100 ms (two cores
// shared with FerretDB under the race detector), so Instances listens for
// up to Window, and stops once Quiet passed without another answer after
// the first: a few hundred milliseconds when instances run, Window when
// none does.
const (
	Window = 2 * time.Second
	Quiet  = 200 * time.Millisecond
)

// Instances returns the ids of the live instances of service.
func Instances(ctx context.Context, nc *nats.Conn, service string) ([]string, error) {
	subject, err := micro.ControlSubject(micro.PingVerb, service, "")
	if err != nil {
		return nil, fmt.Errorf("naming the ping subject of %s: %w", service, err)
	}
	ctx, cancel := context.WithTimeout(ctx, Window)
	defer cancel()
	replies, err := natsext.RequestMany(ctx, nc, subject, nil, natsext.RequestManyStall(Quiet))
	if err != nil {
		return nil, fmt.Errorf("pinging %s: %w", service, err)
	}
	var ids []string
	for msg, err := range replies {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, nil
		}
		if err != nil {
			return ids, fmt.Errorf("reading the pongs of %s: %w", service, err)
		}
		var pong micro.Ping
		if err := json.Unmarshal(msg.Data, &pong); err == nil && pong.ID != "" {
			ids = append(ids, pong.ID)
		}
	}
	return ids, nil
}
