package redisstate

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bull's names for the queue: the default key prefix, the queue and the
// name of every job.
const (
	BullPrefix  = "bull"
	BullQueue   = "orders"
	BullJobName = "order"
)

// The lists, sets and keys of a Bull 4 queue.
const (
	listWait       = "wait"
	listPaused     = "paused"
	listActive     = "active"
	setCompleted   = "completed"
	setFailed      = "failed"
	setDelayed     = "delayed"
	keyMetaPaused  = "meta-paused"
	bullKeyPrefix  = BullPrefix + ":" + BullQueue + ":"
	countersPrefix = "pedidos:run:"
	markerPrefix   = "pedidos:bull-added:"
	trashPrefix    = "pedidos:trash:"
	keyView        = "pedidos:view"
)

// Fields of a Bull job hash.
const (
	fieldName         = "name"
	fieldData         = "data"
	fieldTimestamp    = "timestamp"
	fieldDelay        = "delay"
	fieldAttemptsMade = "attemptsMade"
	fieldProcessedOn  = "processedOn"
	fieldFinishedOn   = "finishedOn"
	fieldFailedReason = "failedReason"
)

// bullKey returns the Redis key of the queue's list, set or job name.
func bullKey(name string) string { return bullKeyPrefix + name }

// Defaults of Options.
const (
	DefaultKeepCompleted = 100
	DefaultKeepFailed    = 10000
	DefaultWaitingJobs   = 100
	DefaultWaitingTTL    = time.Hour
)

// Options tune the Bull view.
type Options struct {
	// KeepCompleted and KeepFailed bound the completed and failed jobs kept,
	// the newest, with their job hashes; 0 keeps none (see
	// DefaultKeepCompleted and DefaultKeepFailed).
	KeepCompleted, KeepFailed int
	// WaitingJobs is how many of the newest orders of each priority in each
	// generated chunk get a job hash: the first page of Bull's getWaiting().
	// Zero takes DefaultWaitingJobs.
	WaitingJobs int
	// WaitingTTL is how long the job hash of a waiting job lives. Zero takes
	// DefaultWaitingTTL.
	WaitingTTL time.Duration
	// ViewOff turns the Bull view off: its writes do nothing (BULL_STATE
	// false). The counters are kept all the same.
	ViewOff bool
}

func (o Options) withDefaults() Options {
	o.KeepCompleted, o.KeepFailed = max(o.KeepCompleted, 0), max(o.KeepFailed, 0)
	if o.WaitingJobs <= 0 {
		o.WaitingJobs = DefaultWaitingJobs
	}
	if o.WaitingTTL <= 0 {
		o.WaitingTTL = DefaultWaitingTTL
	}
	return o
}

// Store reads and writes the state Pedidos keeps in Redis. It is safe for
// concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	opts    Options
	breaker breaker

	keptMu sync.Mutex
	keptAt time.Time // when a batch last replaced the kept completed jobs
}

// New returns a Store on rdb. rdb stays the caller's to close.
func New(rdb redis.UniversalClient, opts Options) *Store {
	return &Store{rdb: rdb, opts: opts.withDefaults()}
}

// Options returns the store's options, defaults applied.
func (s *Store) Options() Options { return s.opts }

// viewOff reports whether writes to the Bull view are to be skipped.
func (s *Store) viewOff() bool { return s == nil || s.opts.ViewOff }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
