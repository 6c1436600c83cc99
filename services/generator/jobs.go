package generator

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// addScript adds jobs to the Bull view (see events/bull.go), once each: a
// job whose hash exists is skipped, so a generator that re-publishes a chunk
// after a restart adds nothing twice. VIP jobs go to wait, NORMAL ones to
// paused until the VIP drain.
// KEYS: wait, paused. ARGV: key prefix, job name, then four values per job:
// id, data, timestamp (ms), "1" if VIP.
const addScript = `
local prefix, name = ARGV[1], ARGV[2]
for i = 3, #ARGV, 4 do
  local key = prefix .. ARGV[i]
  if redis.call('HSETNX', key, 'data', ARGV[i + 1]) == 1 then
    redis.call('HSET', key, 'name', name, 'timestamp', ARGV[i + 2], 'delay', '0', 'attemptsMade', '0')
    if ARGV[i + 3] == '1' then
      redis.call('LPUSH', KEYS[1], ARGV[i])
    else
      redis.call('LPUSH', KEYS[2], ARGV[i])
    end
  end
end
return 1
`

// addSlice bounds the jobs added by one script call, so Redis serves other
// clients between them.
const addSlice = 1000

// jobs adds published orders to the Bull view. A nil *jobs does nothing:
// the view is off.
type jobs struct {
	rdb    *redis.Client
	script *redis.Script
}

func newJobs(rdb *redis.Client) *jobs {
	return &jobs{rdb: rdb, script: redis.NewScript(addScript)}
}

// add adds one job per order; msgs[i] carries orders[i]'s payload.
func (j *jobs) add(ctx context.Context, orders []events.Order, msgs []*nats.Msg) error {
	if j == nil {
		return nil
	}
	keys := []string{events.BullKey(events.BullWait), events.BullKey(events.BullPaused)}
	args := make([]any, 0, 2+4*addSlice)
	for start := 0; start < len(orders); start += addSlice {
		args = append(args[:0], events.BullKey(""), events.BullJobName)
		for i := start; i < min(start+addSlice, len(orders)); i++ {
			vip := "0"
			if orders[i].Priority == events.PriorityVIP {
				vip = "1"
			}
			args = append(args, orders[i].ID, msgs[i].Data, orders[i].CreatedAt.UnixMilli(), vip)
		}
		if err := j.script.Run(ctx, j.rdb, keys, args...).Err(); err != nil {
			return fmt.Errorf("adding %d jobs: %w", len(args)/4, err)
		}
	}
	return nil
}
