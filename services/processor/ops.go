package processor

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/infra/opsserver"
)

// readyChecks are what the ops server's readiness probe checks once the
// service runs: NATS connected, MongoDB and Redis answering.
func readyChecks(nc *nats.Conn, mc *mongo.Client, rdb *redis.Client) []opsserver.Check {
	return []opsserver.Check{
		{Name: "nats", Check: func(context.Context) error {
			if !nc.IsConnected() {
				return fmt.Errorf("not connected: %s", nc.Status())
			}
			return nil
		}},
		{Name: "mongo", Check: func(ctx context.Context) error { return mc.Ping(ctx, nil) }},
		{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
	}
}
