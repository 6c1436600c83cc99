package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// countersKey is the hash holding the counters of run runID.
func countersKey(runID string) string { return countersPrefix + runID }

// counterField names a field of the counters hash: kind_vip or kind_normal.
func counterField(kind string, p events.Priority) string {
	if p == events.PriorityVIP {
		return kind + "_vip"
	}
	return kind + "_normal"
}

var priorities = [...]events.Priority{events.PriorityVIP, events.PriorityNormal}

// Counters reads the counters of run runID. A run Redis knows nothing of
// has zero counters.
func (s *Store) Counters(ctx context.Context, runID string) (events.RunCounters, error) {
	h, err := s.rdb.HGetAll(ctx, countersKey(runID)).Result()
	if err != nil {
		return events.RunCounters{}, fmt.Errorf("reading the counters of run %s: %w", runID, err)
	}
	c, err := parseCounters(h)
	if err != nil {
		return c, fmt.Errorf("decoding the counters of run %s: %w", runID, err)
	}
	return c, nil
}

// SaveCounters writes the counters of run runID, replacing what Redis
// holds. Control is the only writer: it projects them from the RESULTS
// stream.
func (s *Store) SaveCounters(ctx context.Context, runID string, c events.RunCounters) error {
	if err := s.rdb.HSet(ctx, countersKey(runID), encodeCounters(c)...).Err(); err != nil {
		return fmt.Errorf("writing the counters of run %s: %w", runID, err)
	}
	return nil
}

// encodeCounters returns the fields and values of c, every field present:
// a missing time is 0.
func encodeCounters(c events.RunCounters) []any {
	ms := func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.UnixMilli()
	}
	out := make([]any, 0, 20)
	for _, p := range priorities {
		w := c.Window(p)
		out = append(out,
			counterField("processed", p), c.Processed.Get(p),
			counterField("failed", p), c.Failed.Get(p),
			counterField("first", p), ms(w.First),
			counterField("last", p), ms(w.Last),
			counterField("done", p), ms(w.Done))
	}
	return out
}

// parseCounters decodes a counters hash. Missing fields are zero; a
// malformed one is an error.
func parseCounters(h map[string]string) (events.RunCounters, error) {
	var c events.RunCounters
	for _, p := range priorities {
		var n [2]int64
		var t [3]*time.Time
		for i, kind := range [...]string{"processed", "failed"} {
			v, err := intField(h, counterField(kind, p))
			if err != nil {
				return c, err
			}
			n[i] = v
		}
		for i, kind := range [...]string{"first", "last", "done"} {
			v, err := intField(h, counterField(kind, p))
			if err != nil {
				return c, err
			}
			if v != 0 {
				tm := time.UnixMilli(v).UTC()
				t[i] = &tm
			}
		}
		w := events.Window{First: t[0], Last: t[1], Done: t[2]}
		if p == events.PriorityVIP {
			c.Processed.VIP, c.Failed.VIP, c.VIP = n[0], n[1], w
		} else {
			c.Processed.Normal, c.Failed.Normal, c.Normal = n[0], n[1], w
		}
	}
	return c, nil
}

func intField(h map[string]string, name string) (int64, error) {
	s, ok := h[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return n, nil
}
