package redisstate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// TestWritesSkipAnOutageAndInvalidateTheView: while Redis fails, writes to
// the view return at once instead of waiting on it; once it answers again,
// the view that missed writes is marked for a rebuild rather than patched.
func TestWritesSkipAnOutageAndInvalidateTheView(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	store := redisstate.New(rdb, redisstate.Options{KeepCompleted: 10})
	ctx := t.Context()
	_, err := store.Wipe(ctx)
	must(t, err)

	m.SetError("LOADING Redis is loading the dataset in memory")
	chunk := jobs("a", 4)
	if err := store.AddJobs(ctx, "r", 0, chunk); err == nil {
		t.Fatal("AddJobs succeeded on a failing Redis")
	}
	started := time.Now()
	err = store.Activate(ctx, ids(chunk, events.PriorityVIP))
	if !errors.Is(err, redisstate.ErrViewUnavailable) {
		t.Fatalf("a write right after a failure: %v, want ErrViewUnavailable", err)
	}
	if took := time.Since(started); took > 100*time.Millisecond {
		t.Errorf("a skipped write took %v", took)
	}

	m.SetError("")
	// Once the cool-down passed, the first write invalidates the view.
	waitUntil(t, 5*time.Second, func() bool {
		return !errors.Is(store.AddJobs(ctx, "r", 0, chunk), redisstate.ErrViewUnavailable)
	})
	intact, err := store.Intact(ctx)
	must(t, err)
	if intact {
		t.Error("a view that missed writes is still marked intact")
	}
	if n, err := rdb.LLen(ctx, "bull:orders:wait").Result(); err != nil || n != 0 {
		t.Errorf("wait holds %d jobs (%v); an invalidated view takes no write", n, err)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
