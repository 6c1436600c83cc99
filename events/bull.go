package events

// Pedidos keeps the state of its orders in Redis in the layout of the Bull 4
// npm library, so that Bull tooling pointed at that Redis shows true counts
// and jobs. The queue is "orders" under Bull's default prefix "bull"; a job's
// id is its order id and its data is the order as published.
//
// How Pedidos maps its pipeline onto Bull's lists and sets:
//   - wait: VIP orders published and not yet fetched (LPUSH by the
//     generator, oldest at the right end as in Bull); after the VIP drain, the
//     NORMAL orders.
//   - paused: NORMAL orders published before the VIP drain: their consumer is
//     paused. At the drain decision control moves them to wait (RENAME).
//   - active: orders fetched by a processor and not yet written. Processors
//     move them from wait to active and out again in FIFO order, a batch
//     count at a time, so these two lists are exact in count and close to
//     exact in membership.
//   - completed, failed: sorted sets scored by finishedOn, exact per job,
//     trimmed to a configurable number of the newest (with their job hashes).
//   - meta-paused: set while an operator paused the queue.
const (
	// BullPrefix is Bull's default key prefix.
	BullPrefix = "bull"
	// BullQueue is the name of the queue as Bull tools see it.
	BullQueue = "orders"
	// BullJobName is the name of every job.
	BullJobName = "order"
)

// The lists, sets and keys of a Bull 4 queue.
const (
	BullWait       = "wait"
	BullPaused     = "paused"
	BullActive     = "active"
	BullCompleted  = "completed"
	BullFailed     = "failed"
	BullDelayed    = "delayed"
	BullMetaPaused = "meta-paused"
	BullID         = "id"
)

// BullKey returns the Redis key of the queue's list, set or job name.
func BullKey(name string) string { return BullPrefix + ":" + BullQueue + ":" + name }

// Fields of a Bull job hash that Pedidos writes.
const (
	BullFieldName         = "name"
	BullFieldData         = "data"
	BullFieldOpts         = "opts"
	BullFieldTimestamp    = "timestamp"
	BullFieldDelay        = "delay"
	BullFieldPriority     = "priority"
	BullFieldAttemptsMade = "attemptsMade"
	BullFieldProcessedOn  = "processedOn"
	BullFieldFinishedOn   = "finishedOn"
	BullFieldFailedReason = "failedReason"
	BullFieldReturnValue  = "returnvalue"
)
