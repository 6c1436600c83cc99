package redisstate_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// fixture is a Store on a Redis of its own, and a client to look at that
// Redis with, as Bull tooling would.
type fixture struct {
	store *redisstate.Store
	rdb   *redis.Client
}

// each runs f against redis-server and against miniredis, each with a
// fresh, intact view.
func each(t *testing.T, opts redisstate.Options, f func(t *testing.T, fx fixture)) {
	t.Helper()
	devstacktest.EachRedis(t, func(t *testing.T, mode devstack.RedisMode) {
		t.Parallel()
		fx := newFixture(t, mode, opts)
		f(t, fx)
	})
}

func newFixture(t *testing.T, mode devstack.RedisMode, opts redisstate.Options) fixture {
	t.Helper()
	ropts, err := redis.ParseURL(devstacktest.Redis(t, mode))
	must(t, err)
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	store := redisstate.New(rdb, opts)
	// A fresh Redis holds no view: Wipe makes an empty, intact one, as
	// control does on reset.
	_, err = store.Wipe(t.Context())
	must(t, err)
	return fixture{store: store, rdb: rdb}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// list returns a list of the view, oldest job first.
func (fx fixture) list(t *testing.T, name string) []string {
	t.Helper()
	ids, err := fx.rdb.LRange(t.Context(), "bull:orders:"+name, 0, -1).Result()
	must(t, err)
	return ids
}

func (fx fixture) set(t *testing.T, name string) []string {
	t.Helper()
	ids, err := fx.rdb.ZRange(t.Context(), "bull:orders:"+name, 0, -1).Result()
	must(t, err)
	return ids
}

func (fx fixture) hash(t *testing.T, id string) map[string]string {
	t.Helper()
	h, err := fx.rdb.HGetAll(t.Context(), "bull:orders:"+id).Result()
	must(t, err)
	return h
}

// jobs returns n jobs of run "r" whose priority alternates: VIP at even
// indexes.
func jobs(prefix string, n int) []redisstate.Job {
	created := time.UnixMilli(1_700_000_000_000).UTC()
	out := make([]redisstate.Job, n)
	for i := range out {
		p := events.PriorityNormal
		if i%2 == 0 {
			p = events.PriorityVIP
		}
		id := fmt.Sprintf("%s-%04d", prefix, i)
		out[i] = redisstate.Job{ID: id, Priority: p, CreatedAt: created,
			Data: fmt.Appendf(nil, `{"id":%q,"priority":%q}`, id, p)}
	}
	return out
}

func ids(js []redisstate.Job, p events.Priority) []string {
	var out []string
	for _, j := range js {
		if p == "" || j.Priority == p {
			out = append(out, j.ID)
		}
	}
	return out
}

func TestCounters(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		got, err := fx.store.Counters(ctx, "none")
		must(t, err)
		if (got != events.RunCounters{}) {
			t.Errorf("counters of an unknown run = %+v, want zero", got)
		}
		at := func(ms int64) *time.Time { tm := time.UnixMilli(ms).UTC(); return &tm }
		want := events.RunCounters{
			Processed: events.ByPriority{VIP: 250, Normal: 740},
			Failed:    events.ByPriority{VIP: 1, Normal: 9},
			VIP:       events.Window{First: at(1000), Last: at(2000), Done: at(2010)},
			Normal:    events.Window{First: at(3000), Last: at(4000)},
		}
		must(t, fx.store.SaveCounters(ctx, "r1", want))
		got, err = fx.store.Counters(ctx, "r1")
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counters = %+v, want %+v", got, want)
		}
		// A second write replaces the first, whatever it held.
		want.Normal.Done = at(4100)
		want.Processed.Normal = 741
		must(t, fx.store.SaveCounters(ctx, "r1", want))
		got, err = fx.store.Counters(ctx, "r1")
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counters after a rewrite = %+v, want %+v", got, want)
		}

		must(t, fx.rdb.HSet(ctx, "pedidos:run:bad", "processed_vip", "many").Err())
		if _, err := fx.store.Counters(ctx, "bad"); err == nil {
			t.Error("a malformed counter decoded without an error")
		}
	})
}

func TestAddJobs(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{WaitingJobs: 3, WaitingTTL: time.Hour}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 2500) // three slices
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		if got, want := fx.list(t, "wait"), ids(chunk, events.PriorityVIP); !slices.Equal(got, want) {
			t.Errorf("wait holds %d jobs, want the %d VIP ones in order", len(got), len(want))
		}
		if got, want := fx.list(t, "paused"), ids(chunk, events.PriorityNormal); !slices.Equal(got, want) {
			t.Errorf("paused holds %d jobs, want the %d NORMAL ones in order", len(got), len(want))
		}
		// The newest three of each priority carry a hash that expires;
		// the others none.
		for i, j := range chunk {
			h := fx.hash(t, j.ID)
			newest := i >= len(chunk)-6
			if newest != (len(h) > 0) {
				t.Errorf("job %d: hash %v; want one only for the newest three of each priority", i, h)
			}
			if newest && (h["data"] != string(j.Data) || h["name"] != "order" || h["timestamp"] != "1700000000000") {
				t.Errorf("job %d: hash %v", i, h)
			}
			if newest {
				ttl, err := fx.rdb.TTL(ctx, "bull:orders:"+j.ID).Result()
				must(t, err)
				if ttl <= 0 || ttl > time.Hour {
					t.Errorf("job %d: ttl %v, want (0, 1h]", i, ttl)
				}
			}
		}
		// The same chunk again (a restarted generator) adds nothing.
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		if n := len(fx.list(t, "wait")) + len(fx.list(t, "paused")); n != len(chunk) {
			t.Errorf("after adding the chunk twice, %d jobs wait; want %d", n, len(chunk))
		}
		// While the view is being rebuilt nothing is added.
		must(t, fx.store.Invalidate(ctx))
		must(t, fx.store.AddJobs(ctx, "r1", 1, jobs("b", 10)))
		if n := len(fx.list(t, "wait")) + len(fx.list(t, "paused")); n != len(chunk) {
			t.Errorf("an invalidated view got jobs: %d wait", n)
		}
	})
}

// TestJobsMoveExactlyInOrder follows jobs through a processor's moves when
// batches come in the order their jobs were added, as they do when nothing
// goes wrong: each batch's own jobs move.
func TestJobsMoveExactlyInOrder(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{KeepCompleted: 4, KeepFailed: 2}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 20)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP) // 10
		first, second := vip[:6], vip[6:]
		must(t, fx.store.Activate(ctx, first))
		must(t, fx.store.Activate(ctx, second))
		if got := fx.list(t, "wait"); len(got) != 0 {
			t.Errorf("wait after activating every VIP job: %v", got)
		}
		if got := fx.list(t, "active"); !slices.Equal(got, vip) {
			t.Errorf("active = %v, want %v", got, vip)
		}
		settled := func(id string, reason string) redisstate.Settled {
			for _, j := range chunk {
				if j.ID == id {
					return redisstate.Settled{Job: j, Attempts: 1, Reason: reason}
				}
			}
			t.Fatalf("no job %s", id)
			return redisstate.Settled{}
		}
		now := time.UnixMilli(1_700_000_100_000)
		b := &redisstate.Batch{IDs: first, ProcessedOn: now, FinishedOn: now.Add(time.Second)}
		for _, id := range first[:3] {
			b.Completed = append(b.Completed, settled(id, ""))
		}
		for _, id := range first[3:] {
			b.Failed = append(b.Failed, settled(id, "boom"))
		}
		must(t, fx.store.Finish(ctx, b))
		if got := fx.list(t, "active"); !slices.Equal(got, second) {
			t.Errorf("active after the first batch = %v, want %v", got, second)
		}
		if got := fx.set(t, "completed"); len(got) != 3 {
			t.Errorf("completed = %v", got)
		}
		// Two failed kept of three: the oldest left with its hash.
		if got := fx.set(t, "failed"); len(got) != 2 {
			t.Errorf("failed = %v, want two kept", got)
		}
		h := fx.hash(t, first[5])
		if h["failedReason"] != "boom" || h["finishedOn"] != "1700000101000" || h["processedOn"] != "1700000100000" ||
			h["attemptsMade"] != "1" || h["data"] == "" {
			t.Errorf("failed job hash = %v", h)
		}
		// The second batch: two complete, two go back to wait.
		b = &redisstate.Batch{IDs: second, ProcessedOn: now, FinishedOn: now.Add(2 * time.Second)}
		for _, id := range second[:2] {
			b.Completed = append(b.Completed, settled(id, ""))
		}
		for _, id := range second[2:] {
			b.Retry = append(b.Retry, settled(id, "").Job)
		}
		must(t, fx.store.Finish(ctx, b))
		if got := fx.list(t, "active"); len(got) != 0 {
			t.Errorf("active after both batches = %v", got)
		}
		if got := fx.list(t, "wait"); !slices.Equal(got, second[2:]) {
			t.Errorf("wait = %v, want the retried %v", got, second[2:])
		}
		if h := fx.hash(t, second[3]); h["data"] == "" || h["processedOn"] != "" {
			t.Errorf("a retried job's hash = %v; want its data, not finished", h)
		}
		// Four completed kept of five, the newest: the first batch's
		// oldest completed job is gone, hash and all.
		completed := fx.set(t, "completed")
		if len(completed) != 4 || slices.Contains(completed, first[0]) {
			t.Errorf("completed = %v; want 4, without %s", completed, first[0])
		}
		if h := fx.hash(t, first[0]); len(h) != 0 {
			t.Errorf("a trimmed job kept its hash %v", h)
		}
		// The retried jobs come back in their own batch: they leave wait.
		must(t, fx.store.Activate(ctx, second[2:]))
		if got := fx.list(t, "wait"); len(got) != 0 {
			t.Errorf("wait after activating the retried jobs = %v", got)
		}
	})
}

// TestJobsMoveOutOfOrder: batches that are at neither end of the list move
// the oldest jobs instead, so the counts stay exact.
func TestJobsMoveOutOfOrder(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 40)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP) // 20
		middle := vip[8:12]
		must(t, fx.store.Activate(ctx, middle))
		if got, want := len(fx.list(t, "wait")), 16; got != want {
			t.Errorf("wait holds %d jobs, want %d", got, want)
		}
		if got := fx.list(t, "active"); !slices.Equal(got, middle) {
			t.Errorf("active = %v, want the batch's own %v", got, middle)
		}
		// A batch handed back goes to the newest end of wait, and when it
		// comes back it leaves from there.
		var back []redisstate.Job
		for _, j := range chunk {
			if slices.Contains(middle, j.ID) {
				back = append(back, j)
			}
		}
		must(t, fx.store.HandBack(ctx, back))
		wait := fx.list(t, "wait")
		if len(wait) != 20 || !slices.Equal(wait[16:], middle) {
			t.Errorf("wait after the hand-back = %v; want 20 jobs ending with %v", wait, middle)
		}
		must(t, fx.store.Activate(ctx, middle))
		if got := fx.list(t, "wait"); !slices.Equal(got, wait[:16]) {
			t.Errorf("wait after the batch came back = %v, want %v", got, wait[:16])
		}
	})
}

func TestReleaseAndSettle(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 10)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip, normal := ids(chunk, events.PriorityVIP), ids(chunk, events.PriorityNormal)
		// Wait still holds VIP jobs: NORMAL ones queue behind them.
		must(t, fx.store.ReleaseNormal(ctx))
		if got := fx.list(t, "wait"); !slices.Equal(got, append(slices.Clone(vip), normal...)) {
			t.Errorf("wait = %v", got)
		}
		if got := fx.list(t, "paused"); len(got) != 0 {
			t.Errorf("paused = %v", got)
		}
		// Wait empty: a rename.
		must(t, fx.store.AddJobs(ctx, "r2", 0, jobs("b", 10)))
		must(t, fx.rdb.Del(ctx, "bull:orders:wait").Err())
		must(t, fx.store.ReleaseNormal(ctx))
		if got := fx.list(t, "wait"); len(got) != 5 {
			t.Errorf("wait after a rename = %v", got)
		}
		// An aborted run: active jobs go back to wait.
		must(t, fx.store.Activate(ctx, fx.list(t, "wait")[:2]))
		must(t, fx.store.Settle(ctx, false))
		if got := fx.list(t, "wait"); len(got) != 5 || len(fx.list(t, "active")) != 0 {
			t.Errorf("after settling an aborted run: wait %v, active %v", got, fx.list(t, "active"))
		}
		// A run done: nothing waits.
		must(t, fx.store.Settle(ctx, true))
		if n := len(fx.list(t, "wait")) + len(fx.list(t, "paused")) + len(fx.list(t, "active")); n != 0 {
			t.Errorf("%d jobs left after DONE", n)
		}
	})
}

func TestReaders(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{KeepCompleted: 100, WaitingJobs: 1}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 10)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP)
		must(t, fx.store.Activate(ctx, vip[:2]))
		done := redisstate.Settled{Job: chunk[0], Attempts: 2}
		now := time.UnixMilli(1_700_000_100_000)
		must(t, fx.store.Finish(ctx, &redisstate.Batch{IDs: vip[:1], ProcessedOn: now, FinishedOn: now,
			Completed: []redisstate.Settled{done}}))
		must(t, fx.store.SetPaused(ctx, true))

		n, err := fx.store.JobCounts(ctx)
		must(t, err)
		if want := (redisstate.JobCounts{Wait: 3, Active: 1, Completed: 1, Paused: 5}); n != want {
			t.Errorf("counts = %+v, want %+v", n, want)
		}
		paused, err := fx.store.Paused(ctx)
		must(t, err)
		if !paused {
			t.Error("not paused")
		}
		// Newest first, per list, within the range.
		total, got, err := fx.store.Jobs(ctx, []string{redisstate.TypeWaiting}, 0, 1)
		must(t, err)
		want := []string{vip[4], vip[3], chunk[9].ID, chunk[7].ID}
		if total != 8 || len(got) != 4 {
			t.Fatalf("waiting jobs: total %d, %d jobs %+v", total, len(got), got)
		}
		for i, j := range got {
			if j.ID != want[i] {
				t.Errorf("waiting job %d = %s, want %s", i, j.ID, want[i])
			}
		}
		if got[0].State != "waiting" || got[2].State != "paused" || string(got[0].Data) != string(chunk[8].Data) {
			t.Errorf("jobs %+v", got)
		}
		_, got, err = fx.store.Jobs(ctx, []string{redisstate.TypeWaiting}, 2, 10)
		must(t, err)
		if len(got) != 4 || got[0].ID != vip[2] || got[3].ID != chunk[1].ID {
			t.Errorf("waiting jobs 2..10 = %+v", got)
		}
		_, got, err = fx.store.Jobs(ctx, []string{redisstate.TypeWaiting}, 50, 60)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("waiting jobs past the end = %+v", got)
		}
		_, got, err = fx.store.Jobs(ctx, []string{redisstate.TypeCompleted, redisstate.TypeActive}, 0, 10)
		must(t, err)
		if len(got) != 2 || got[0].ID != vip[0] || got[0].AttemptsMade != 2 || got[0].FinishedOn == nil ||
			got[1].ID != vip[1] || got[1].State != "active" || string(got[1].Data) != "null" {
			t.Errorf("completed and active jobs = %+v", got)
		}
	})
}

// TestPopActive removes the oldest active jobs, with their hashes, and
// leaves the others.
func TestPopActive(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("s", 8)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP)
		if len(vip) < 2 {
			t.Fatalf("the chunk has %d VIP jobs, want 2 or more", len(vip))
		}
		must(t, fx.store.Activate(ctx, vip))
		n, err := fx.store.PopActive(ctx, int64(len(vip)-1))
		must(t, err)
		left := fx.list(t, "active")
		if n != int64(len(vip)-1) || len(left) != 1 {
			t.Fatalf("PopActive(%d) removed %d, left active %v", len(vip)-1, n, left)
		}
		for _, id := range vip {
			if h := fx.hash(t, id); (id == left[0]) != (len(h) > 0) {
				t.Errorf("job %s: hash %v; the remaining active job is %s", id, h, left[0])
			}
		}
		if n, err := fx.store.PopActive(ctx, 100); err != nil || n != 1 || len(fx.list(t, "active")) != 0 {
			t.Errorf("PopActive(100) = %d, %v; left %v", n, err, fx.list(t, "active"))
		}
	})
}

func TestCleanRetryWipe(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{KeepCompleted: 100, KeepFailed: 100}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 10)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP)
		must(t, fx.store.Activate(ctx, vip[:3]))
		now := time.Now()
		b := &redisstate.Batch{IDs: vip[:3], ProcessedOn: now, FinishedOn: now}
		for _, j := range chunk[:5:5] {
			if slices.Contains(vip[:3], j.ID) {
				b.Failed = append(b.Failed, redisstate.Settled{Job: j, Attempts: 5, Reason: "refused"})
			}
		}
		must(t, fx.store.Finish(ctx, b))

		// Retry: the failed orders come back, from their job data.
		orders, err := fx.store.FailedOrders(ctx)
		must(t, err)
		if len(orders) != 3 {
			t.Fatalf("failed orders = %+v", orders)
		}
		must(t, fx.store.RequeueFailed(ctx, orders[:1]))
		if got := fx.set(t, "failed"); len(got) != 2 {
			t.Errorf("failed after a retry = %v", got)
		}
		if h := fx.hash(t, orders[0].ID); h["failedReason"] != "" || h["attemptsMade"] != "0" {
			t.Errorf("retried job hash = %v", h)
		}
		if got := fx.list(t, "wait"); got[len(got)-1] != orders[0].ID {
			t.Errorf("retried VIP job not waiting: %v", got)
		}

		n, err := fx.store.CleanSet(ctx, redisstate.SetFailed, 1)
		must(t, err)
		if n != 1 || len(fx.set(t, "failed")) != 1 {
			t.Errorf("clean failed removed %d, left %v", n, fx.set(t, "failed"))
		}
		// Waiting: the oldest first, wait then paused.
		n, err = fx.store.PopWaiting(ctx, 4)
		must(t, err)
		if n != 4 || len(fx.list(t, "wait")) != 0 || len(fx.list(t, "paused")) != 4 {
			t.Errorf("clean wait removed %d, left wait %v paused %v", n, fx.list(t, "wait"), fx.list(t, "paused"))
		}

		removed, trash, err := fx.store.RemovePending(ctx)
		must(t, err)
		if removed != 4 || len(fx.list(t, "paused")) != 0 {
			t.Errorf("remove pending removed %d", removed)
		}
		must(t, fx.store.EmptyTrash(ctx, trash...))
		keys, err := fx.rdb.Keys(ctx, "pedidos:trash:*").Result()
		must(t, err)
		if len(keys) != 0 {
			t.Errorf("trash left: %v", keys)
		}

		must(t, fx.store.SaveCounters(ctx, "r1", events.RunCounters{Processed: events.ByPriority{VIP: 1}}))
		if _, err := fx.store.Wipe(ctx); err != nil {
			t.Fatal(err)
		}
		left, err := fx.rdb.Keys(ctx, "*").Result()
		must(t, err)
		if !slices.Equal(left, []string{"pedidos:view"}) {
			t.Errorf("keys after a wipe: %v", left)
		}
		intact, err := fx.store.Intact(ctx)
		must(t, err)
		if !intact {
			t.Error("a wiped view is not intact")
		}
	})
}

func TestRebuild(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		must(t, fx.store.AddJobs(ctx, "r1", 0, jobs("a", 10)))
		must(t, fx.store.Invalidate(ctx))
		intact, err := fx.store.Intact(ctx)
		must(t, err)
		if intact {
			t.Fatal("invalidated view still intact")
		}
		// Writers leave an invalidated view alone.
		must(t, fx.store.Activate(ctx, fx.list(t, "wait")[:1]))
		if len(fx.list(t, "active")) != 0 {
			t.Error("activate wrote to an invalidated view")
		}
		r := fx.store.Rebuild()
		many := make([]string, 2500)
		for i := range many {
			many[i] = fmt.Sprint("w", i)
		}
		must(t, r.Append(ctx, redisstate.Wait, many))
		must(t, r.Append(ctx, redisstate.Active, []string{"x"}))
		must(t, r.Commit(ctx))
		if got := fx.list(t, "wait"); !slices.Equal(got, many) {
			t.Errorf("rebuilt wait holds %d jobs", len(got))
		}
		if got := fx.list(t, "active"); !slices.Equal(got, []string{"x"}) {
			t.Errorf("rebuilt active = %v", got)
		}
		if got := fx.list(t, "paused"); len(got) != 0 {
			t.Errorf("rebuilt paused = %v, want empty", got)
		}
		intact, err = fx.store.Intact(ctx)
		must(t, err)
		if !intact {
			t.Error("rebuilt view not intact")
		}
		keys, err := fx.rdb.Keys(ctx, "pedidos:rebuild:*").Result()
		must(t, err)
		if len(keys) != 0 {
			t.Errorf("rebuild left %v", keys)
		}
	})
}

func TestKeptSurvivesALostView(t *testing.T) {
	t.Parallel()
	each(t, redisstate.Options{KeepCompleted: 3, KeepFailed: 5}, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		chunk := jobs("a", 12)
		must(t, fx.store.AddJobs(ctx, "r1", 0, chunk))
		vip := ids(chunk, events.PriorityVIP)
		must(t, fx.store.Activate(ctx, vip))
		now := time.UnixMilli(1_700_000_100_000)
		b := &redisstate.Batch{IDs: vip, ProcessedOn: now, FinishedOn: now}
		for i, j := range chunk {
			switch {
			case j.Priority != events.PriorityVIP:
			case i < 4:
				b.Failed = append(b.Failed, redisstate.Settled{Job: j, Attempts: 5, Reason: "refused"})
			default:
				b.Completed = append(b.Completed, redisstate.Settled{Job: j, Attempts: 1})
			}
		}
		must(t, fx.store.Finish(ctx, b))
		kept, err := fx.store.Kept(ctx, 1)
		must(t, err)
		if len(kept.Completed) != 3 || len(kept.Failed) != 1 || kept.Completed[0].Hash["data"] == "" {
			t.Fatalf("kept = %+v; want the 3 completed jobs kept and the newest failed one, with their hashes", kept)
		}
		_, before, err := fx.store.Jobs(ctx, []string{redisstate.TypeCompleted}, 0, 10)
		must(t, err)

		must(t, fx.rdb.FlushAll(ctx).Err()) // Redis lost everything
		must(t, fx.store.RestoreKept(ctx, kept))
		n, err := fx.store.JobCounts(ctx)
		must(t, err)
		if n.Completed != 3 || n.Failed != 1 {
			t.Errorf("after a restore: %+v", n)
		}
		_, after, err := fx.store.Jobs(ctx, []string{redisstate.TypeCompleted}, 0, 10)
		must(t, err)
		if a, b := mustJSON(t, after), mustJSON(t, before); a != b {
			t.Errorf("restored completed jobs %s, want %s", a, b)
		}
		// A set that holds jobs again is left alone.
		must(t, fx.store.RestoreKept(ctx, redisstate.Kept{Completed: kept.Completed[:1]}))
		if n, _ := fx.store.JobCounts(ctx); n.Completed != 3 {
			t.Errorf("a second restore changed the completed set: %+v", n)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}
