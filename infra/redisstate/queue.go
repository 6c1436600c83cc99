package redisstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
)

// These are the moves control makes on the Bull view when a run or an
// operator says so.

// releaseStep bounds how many jobs one call of the release script moves
// when it cannot rename: each call stays short.
const releaseStep = 10000

// ReleaseNormal moves the NORMAL jobs from paused to wait: the VIP drain.
func (s *Store) ReleaseNormal(ctx context.Context) error {
	if s.viewOff() {
		return nil
	}
	for {
		left, err := releaseScript.Run(ctx, s.rdb, []string{bullKey(listPaused), bullKey(listWait)}, releaseStep).Int64()
		if err != nil {
			return fmt.Errorf("moving NORMAL jobs to wait: %w", err)
		}
		if left == 0 {
			return nil
		}
	}
}

// Settle tidies the view when a run ends. After DONE nothing waits or is
// active, so whatever is left there is stale and dropped; after ERROR or
// ABORTED the jobs left in active go back to wait, as their orders did.
func (s *Store) Settle(ctx context.Context, done bool) error {
	if s.viewOff() {
		return nil
	}
	var err error
	if done {
		err = s.rdb.Del(ctx, bullKey(listActive), bullKey(listWait), bullKey(listPaused)).Err()
	} else {
		err = requeueScript.Run(ctx, s.rdb, []string{bullKey(listActive), bullKey(listWait)}).Err()
	}
	if err != nil {
		return fmt.Errorf("tidying the Bull view: %w", err)
	}
	return nil
}

// SetPaused marks the queue paused for Bull tools, or not.
func (s *Store) SetPaused(ctx context.Context, paused bool) error {
	if s.viewOff() {
		return nil
	}
	var err error
	if paused {
		err = s.rdb.Set(ctx, bullKey(keyMetaPaused), 1, 0).Err()
	} else {
		err = s.rdb.Del(ctx, bullKey(keyMetaPaused)).Err()
	}
	if err != nil {
		return fmt.Errorf("marking the Bull view paused=%v: %w", paused, err)
	}
	return nil
}

// Paused reports whether the view is marked paused.
func (s *Store) Paused(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, bullKey(keyMetaPaused)).Result()
	if err != nil {
		return false, fmt.Errorf("reading the Bull view's pause mark: %w", err)
	}
	return n == 1, nil
}

// RemovePending takes every waiting and active job out of the view and
// returns how many there were, and the lists that still name their job
// hashes, for EmptyTrash. The lists are renamed away at once, so nothing
// sees them again; deleting their hashes may take longer.
func (s *Store) RemovePending(ctx context.Context) (int64, []string, error) {
	if s.viewOff() {
		return 0, nil, nil
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	var trash []string
	var total int64
	for _, list := range []string{listWait, listPaused, listActive} {
		n, err := s.rdb.LLen(ctx, bullKey(list)).Result()
		if err != nil {
			return total, trash, fmt.Errorf("counting %s jobs: %w", list, err)
		}
		if n == 0 {
			continue
		}
		to := trashPrefix + stamp + ":" + list
		if err := s.rdb.Rename(ctx, bullKey(list), to).Err(); err != nil {
			return total, trash, fmt.Errorf("moving %s jobs away: %w", list, err)
		}
		trash = append(trash, to)
		total += n
	}
	return total, trash, nil
}

// EmptyTrash deletes the job hashes named in trash lists, then the lists.
func (s *Store) EmptyTrash(ctx context.Context, lists ...string) error {
	const chunk = 5000
	for _, list := range lists {
		for {
			ids, err := s.rdb.LPopCount(ctx, list, chunk).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return fmt.Errorf("emptying %s: %w", list, err)
			}
			if len(ids) == 0 {
				break
			}
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = bullKey(id)
			}
			if err := s.rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("deleting job hashes: %w", err)
			}
		}
	}
	return nil
}

// Sweep empties trash lists a previous control left behind.
func (s *Store) Sweep(ctx context.Context) error {
	if s.viewOff() {
		return nil
	}
	lists, err := s.scan(ctx, trashPrefix+"*")
	if err != nil {
		return fmt.Errorf("looking for trash: %w", err)
	}
	return s.EmptyTrash(ctx, lists...)
}

func (s *Store) scan(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	iter := s.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// Set names a sorted set of finished jobs that clean empties.
type Set string

// The sets clean empties.
const (
	SetCompleted Set = setCompleted
	SetFailed    Set = setFailed
	SetDelayed   Set = setDelayed
)

// CleanSet removes up to limit of the oldest jobs of a set, with their
// hashes, and returns how many.
func (s *Store) CleanSet(ctx context.Context, set Set, limit int64) (int64, error) {
	n, err := cleanSetScript.Run(ctx, s.rdb, []string{bullKey(string(set))}, bullKeyPrefix, limit).Int64()
	if err != nil {
		return 0, fmt.Errorf("cleaning %s jobs: %w", set, err)
	}
	return n, nil
}

// PopWaiting removes up to limit of the oldest waiting jobs, from wait then
// paused, and returns how many.
func (s *Store) PopWaiting(ctx context.Context, limit int64) (int64, error) {
	n, err := popOldestScript.Run(ctx, s.rdb, []string{bullKey(listWait), bullKey(listPaused)}, bullKeyPrefix, limit).Int64()
	if err != nil {
		return 0, fmt.Errorf("cleaning waiting jobs: %w", err)
	}
	return n, nil
}

// PopActive removes up to limit of the oldest active jobs, with their
// hashes, and returns how many: between runs no processor holds any, and
// those the view still lists active are stuck there.
func (s *Store) PopActive(ctx context.Context, limit int64) (int64, error) {
	n, err := popOldestScript.Run(ctx, s.rdb, []string{bullKey(listActive)}, bullKeyPrefix, limit).Int64()
	if err != nil {
		return 0, fmt.Errorf("removing stuck active jobs: %w", err)
	}
	return n, nil
}

// FailedOrders returns the orders of the failed jobs the view keeps.
func (s *Store) FailedOrders(ctx context.Context) ([]events.Order, error) {
	ids, err := s.rdb.ZRange(ctx, bullKey(setFailed), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing failed jobs: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	data := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		data[i] = pipe.HGet(ctx, bullKey(id), fieldData)
	}
	// A job whose hash is gone answers redis.Nil and is skipped below.
	_, _ = pipe.Exec(ctx)
	orders := make([]events.Order, 0, len(ids))
	for _, cmd := range data {
		var o events.Order
		if err := json.Unmarshal([]byte(cmd.Val()), &o); err == nil && o.ID != "" {
			orders = append(orders, o)
		}
	}
	return orders, nil
}

// RequeueFailed moves failed jobs back to waiting: VIP ones to wait, NORMAL
// ones to paused, where they wait for the next VIP drain.
func (s *Store) RequeueFailed(ctx context.Context, orders []events.Order) error {
	pipe := s.rdb.TxPipeline()
	for _, o := range orders {
		key := bullKey(o.ID)
		pipe.ZRem(ctx, bullKey(setFailed), o.ID)
		pipe.HDel(ctx, key, fieldFailedReason, fieldFinishedOn, fieldProcessedOn)
		pipe.HSet(ctx, key, fieldAttemptsMade, 0)
		pipe.Expire(ctx, key, s.opts.WaitingTTL)
		list := listPaused
		if o.Priority == events.PriorityVIP {
			list = listWait
		}
		pipe.RPush(ctx, bullKey(list), o.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("moving %d failed jobs back to waiting: %w", len(orders), err)
	}
	return nil
}

// Wipe deletes every key of the view and every counter, and returns how many
// keys it deleted. The view is then empty and intact: no rebuild is due.
func (s *Store) Wipe(ctx context.Context) (int64, error) {
	var deleted int64
	for _, pattern := range []string{bullKeyPrefix + "*", "pedidos:*"} {
		keys, err := s.scan(ctx, pattern)
		if err != nil {
			return deleted, fmt.Errorf("scanning %s: %w", pattern, err)
		}
		for i := 0; i < len(keys); i += 5000 {
			n, err := s.rdb.Unlink(ctx, keys[i:min(i+5000, len(keys))]...).Result()
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("deleting %s: %w", pattern, err)
			}
		}
	}
	if err := s.markIntact(ctx); err != nil {
		return deleted, err
	}
	return deleted, nil
}
