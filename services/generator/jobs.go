package generator

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// jobs adds published orders to the Bull view (see events/bull.go): a job
// hash per order, and its id in wait (VIP) or paused (NORMAL, until the VIP
// drain). A nil *jobs does nothing: the view is off.
//
// A chunk's jobs are added in one MULTI/EXEC transaction that also sets a
// marker for the chunk, and a chunk whose marker exists is skipped: a
// generator that re-publishes a chunk after a restart adds nothing twice,
// without a script to check each job.
type jobs struct {
	rdb *redis.Client
}

func newJobs(rdb *redis.Client) *jobs { return &jobs{rdb: rdb} }

// chunkMarkerTTL keeps a chunk's marker long after any run ends.
const chunkMarkerTTL = 24 * time.Hour

// add adds the jobs of chunk c of run runID; msgs[i] carries orders[i]'s
// payload.
func (j *jobs) add(ctx context.Context, runID string, c int, orders []events.Order, msgs []*nats.Msg) error {
	if j == nil || len(orders) == 0 {
		return nil
	}
	marker := "pedidos:bull-chunk:" + runID + ":" + strconv.Itoa(c)
	added, err := j.rdb.Exists(ctx, marker).Result()
	if err != nil {
		return fmt.Errorf("checking chunk %d: %w", c, err)
	}
	if added == 1 {
		return nil
	}
	var vip, normal []any
	pipe := j.rdb.TxPipeline()
	for i := range orders {
		o := &orders[i]
		pipe.HSet(ctx, events.BullKey(o.ID),
			events.BullFieldName, events.BullJobName,
			events.BullFieldData, msgs[i].Data,
			events.BullFieldTimestamp, o.CreatedAt.UnixMilli(),
			events.BullFieldDelay, 0)
		if o.Priority == events.PriorityVIP {
			vip = append(vip, o.ID)
		} else {
			normal = append(normal, o.ID)
		}
	}
	if len(vip) > 0 {
		pipe.LPush(ctx, events.BullKey(events.BullWait), vip...)
	}
	if len(normal) > 0 {
		pipe.LPush(ctx, events.BullKey(events.BullPaused), normal...)
	}
	pipe.Set(ctx, marker, 1, chunkMarkerTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("adding the %d jobs of chunk %d: %w", len(orders), c, err)
	}
	return nil
}
