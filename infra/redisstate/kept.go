package redisstate

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// A rebuild reads what waits and what is active from JetStream, but the
// completed and failed jobs the view keeps are history JetStream no longer
// holds. Control snapshots them (Kept), durably, and a rebuild puts them back
// (RestoreKept).

// KeptJob is one finished job the view keeps: its id, its score (finishedOn)
// and its job hash.
type KeptJob struct {
	ID    string            `json:"id"`
	Score float64           `json:"score"`
	Hash  map[string]string `json:"hash"`
}

// Kept is a snapshot of the finished jobs the view keeps.
type Kept struct {
	Completed []KeptJob `json:"completed"`
	Failed    []KeptJob `json:"failed"`
}

// Kept reads the newest completed jobs the view keeps, all of them, and the
// newest maxFailed failed ones.
func (s *Store) Kept(ctx context.Context, maxFailed int) (Kept, error) {
	var k Kept
	var err error
	if k.Completed, err = s.keptOf(ctx, setCompleted, s.opts.KeepCompleted); err != nil {
		return k, err
	}
	if k.Failed, err = s.keptOf(ctx, setFailed, maxFailed); err != nil {
		return k, err
	}
	return k, nil
}

func (s *Store) keptOf(ctx context.Context, set string, n int) ([]KeptJob, error) {
	if n <= 0 {
		return nil, nil
	}
	members, err := s.rdb.ZRevRangeWithScores(ctx, bullKey(set), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the kept %s jobs: %w", set, err)
	}
	hashes := make([]*redis.MapStringStringCmd, len(members))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			hashes[i] = p.HGetAll(ctx, bullKey(fmt.Sprint(m.Member)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the kept %s job hashes: %w", set, err)
	}
	out := make([]KeptJob, len(members))
	for i, m := range members {
		out[i] = KeptJob{ID: fmt.Sprint(m.Member), Score: m.Score, Hash: hashes[i].Val()}
	}
	return out, nil
}

// RestoreKept puts a snapshot's finished jobs back into sets that lost
// them: a set that holds jobs is left as it is.
func (s *Store) RestoreKept(ctx context.Context, k Kept) error {
	if s.viewOff() {
		return nil
	}
	for _, set := range []struct {
		name string
		jobs []KeptJob
	}{{setCompleted, k.Completed}, {setFailed, k.Failed}} {
		if len(set.jobs) == 0 {
			continue
		}
		n, err := s.rdb.ZCard(ctx, bullKey(set.name)).Result()
		if err != nil || n > 0 {
			return err
		}
		pipe := s.rdb.TxPipeline()
		for _, j := range set.jobs {
			pipe.ZAdd(ctx, bullKey(set.name), redis.Z{Score: j.Score, Member: j.ID})
			if len(j.Hash) > 0 {
				pipe.HSet(ctx, bullKey(j.ID), j.Hash)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("restoring the kept %s jobs: %w", set.name, err)
		}
	}
	return nil
}
