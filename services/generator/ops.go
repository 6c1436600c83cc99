package generator

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/infra/opsserver"
)

// readyChecks are what the ops server's readiness probe checks once the
// generator runs: NATS connected, and Redis answering when the Bull view
// is on (rdb not nil).
func readyChecks(nc *nats.Conn, rdb *redis.Client) []opsserver.Check {
	checks := []opsserver.Check{{Name: "nats", Check: func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("not connected: %s", nc.Status())
		}
		return nil
	}}}
	if rdb != nil {
		checks = append(checks, opsserver.Check{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	}
	return checks
}
