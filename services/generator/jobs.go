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
// Jobs are added a slice at a time, each slice in one MULTI/EXEC transaction
// that also sets a marker for it, and a slice whose marker exists is skipped:
// a generator that re-publishes a chunk after a restart adds nothing twice,
// without a script to check each job. Slices keep each transaction short,
// so Redis serves the processors in between.
type jobs struct {
	rdb *redis.Client
}

func newJobs(rdb *redis.Client) *jobs { return &jobs{rdb: rdb} }

const (
	// addSlice is how many jobs one transaction adds.
	addSlice = 1000
	// markerTTL keeps a slice's marker long after any run ends.
	markerTTL = 24 * time.Hour
)

// add adds the jobs of chunk c of run runID; msgs[i] carries orders[i]'s
// payload.
func (j *jobs) add(ctx context.Context, runID string, c int, orders []events.Order, msgs []*nats.Msg) error {
	if j == nil {
		return nil
	}
	for start := 0; start < len(orders); start += addSlice {
		end := min(start+addSlice, len(orders))
		marker := "pedidos:bull-added:" + runID + ":" + strconv.Itoa(c) + ":" + strconv.Itoa(start)
		if err := j.addSlice(ctx, marker, orders[start:end], msgs[start:end]); err != nil {
			return fmt.Errorf("adding jobs %d to %d of chunk %d: %w", start, end, c, err)
		}
	}
	return nil
}

func (j *jobs) addSlice(ctx context.Context, marker string, orders []events.Order, msgs []*nats.Msg) error {
	added, err := j.rdb.Exists(ctx, marker).Result()
	if err != nil || added == 1 {
		return err
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
	pipe.Set(ctx, marker, 1, markerTTL)
	_, err = pipe.Exec(ctx)
	return err
}
