package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The view is intact while the key keyView exists. Redis without
// persistence (the in-process miniredis of a development stack) loses it
// with everything else; then writers leave the lists alone until control
// rebuilds them from JetStream, which holds the truth about what waits and
// what is in flight.

// Intact reports whether the view's lists are in place: nothing lost them
// since they were last built.
func (s *Store) Intact(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, keyView).Result()
	if err != nil {
		return false, fmt.Errorf("checking the Bull view: %w", err)
	}
	return n == 1, nil
}

// markIntact records that the view's lists are in place.
func (s *Store) markIntact(ctx context.Context) error {
	if err := s.rdb.Set(ctx, keyView, time.Now().UTC().Format(time.RFC3339Nano), 0).Err(); err != nil {
		return fmt.Errorf("marking the Bull view intact: %w", err)
	}
	return nil
}

// Invalidate marks the view as needing a rebuild: writers leave its lists
// alone until Rebuild.Commit.
func (s *Store) Invalidate(ctx context.Context) error {
	if err := s.rdb.Del(ctx, keyView).Err(); err != nil {
		return fmt.Errorf("invalidating the Bull view: %w", err)
	}
	return nil
}

// List names a list of the view that a rebuild fills.
type List string

// The lists of the view.
const (
	Wait   List = listWait
	Paused List = listPaused
	Active List = listActive
)

// Rebuild fills the view's lists anew, off to the side, and puts them in
// place at once with Commit. Start it on an invalidated view, so that no
// writer races it.
type Rebuild struct {
	s      *Store
	prefix string
	lists  map[List]bool
}

// Rebuild starts a rebuild of the lists.
func (s *Store) Rebuild() *Rebuild {
	return &Rebuild{
		s:      s,
		prefix: "pedidos:rebuild:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
		lists:  map[List]bool{},
	}
}

// Append adds jobs, by id, at the newest end of list l.
func (r *Rebuild) Append(ctx context.Context, l List, ids []string) error {
	for i := 0; i < len(ids); i += addSlice {
		chunk := ids[i:min(i+addSlice, len(ids))]
		args := make([]any, len(chunk))
		for j, id := range chunk {
			args[j] = id
		}
		if err := r.s.rdb.RPush(ctx, r.prefix+string(l), args...).Err(); err != nil {
			return fmt.Errorf("rebuilding the %s list: %w", l, err)
		}
		r.lists[l] = true
	}
	return nil
}

// Commit replaces wait, paused and active with what was appended (a list
// nothing was appended to becomes empty) and marks the view intact.
func (r *Rebuild) Commit(ctx context.Context) error {
	pipe := r.s.rdb.TxPipeline()
	for _, l := range [...]List{Wait, Paused, Active} {
		if r.lists[l] {
			pipe.Rename(ctx, r.prefix+string(l), bullKey(string(l)))
		} else {
			pipe.Del(ctx, bullKey(string(l)))
		}
	}
	pipe.Set(ctx, keyView, time.Now().UTC().Format(time.RFC3339Nano), 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("putting the rebuilt Bull view in place: %w", err)
	}
	return nil
}

// Abort drops what was appended.
func (r *Rebuild) Abort(ctx context.Context) error {
	keys := make([]string, 0, len(r.lists))
	for l := range r.lists {
		keys = append(keys, r.prefix+string(l))
	}
	if len(keys) == 0 {
		return nil
	}
	return r.s.rdb.Del(ctx, keys...).Err()
}
