package redisstate_test

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// BenchmarkOrderFlow measures what the Bull view and the counters cost per
// order as a run moves them, on both Redis servers, with the lists as long
// as a 1.5M-order run makes them: a chunk of 1000 jobs added behind
// `waiting` others, then taken and finished as a processor batch, and the
// counters written once. It reports the wall time and the CPU time per
// order, of this process (client, and miniredis when it is in-process) and
// of redis-server (from its INFO cpu).
func BenchmarkOrderFlow(b *testing.B) {
	for _, mode := range devstacktest.RedisModes {
		for _, waiting := range []int{0, 1_500_000} {
			b.Run(fmt.Sprintf("%s/waiting=%d", mode, waiting), func(b *testing.B) {
				benchmarkOrderFlow(b, mode, waiting)
			})
		}
	}
}

func benchmarkOrderFlow(b *testing.B, mode devstack.RedisMode, waiting int) {
	ropts, err := redis.ParseURL(devstacktest.Redis(b, mode))
	must(b, err)
	rdb := redis.NewClient(ropts)
	b.Cleanup(func() { _ = rdb.Close() })
	store := redisstate.New(rdb, redisstate.Options{KeepCompleted: redisstate.DefaultKeepCompleted, KeepFailed: redisstate.DefaultKeepFailed})
	ctx := b.Context()
	// The lists as long as a run makes them: every order of a 1.5M run
	// waits before the VIP drain.
	r := store.Rebuild()
	for i := 0; i < waiting; i += 10_000 {
		ids := make([]string, min(10_000, waiting-i))
		for j := range ids {
			ids[j] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+j)
		}
		must(b, r.Append(ctx, redisstate.Wait, ids))
	}
	must(b, r.Commit(ctx))

	const chunk = 1000
	created := time.Now()
	data := []byte(`{"id":"00000000-0000-4000-8000-000000000000","runId":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","cliente":"Cliente 1","valor":512.34,"tier":"DIAMANTE","priority":"VIP","createdAt":"2026-12-01T10:00:00.000Z"}`)
	var counters events.RunCounters
	server := serverCPU(b, rdb, mode)
	self := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		jobs := make([]redisstate.Job, chunk)
		ids := make([]string, chunk)
		done := make([]redisstate.Settled, chunk)
		for j := range jobs {
			id := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, j)
			jobs[j] = redisstate.Job{ID: id, Priority: events.PriorityVIP, Data: data, CreatedAt: created}
			ids[j] = id
			done[j] = redisstate.Settled{Job: jobs[j], Attempts: 1}
		}
		must(b, store.AddJobs(ctx, "bench", i, jobs))
		// The processor takes the oldest jobs of wait, as JetStream
		// delivers them: behind the long list, those are not this
		// chunk's, so they move by count.
		must(b, store.Activate(ctx, ids))
		now := time.Now()
		must(b, store.Finish(ctx, &redisstate.Batch{IDs: ids, ProcessedOn: now, FinishedOn: now, Completed: done}))
		counters.Processed.VIP += chunk
		counters.Widen(events.PriorityVIP, now, now)
		must(b, store.SaveCounters(ctx, "bench", counters))
	}
	b.StopTimer()
	orders := float64(b.N * chunk)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/orders, "ns/order")
	b.ReportMetric(float64((processCPU()-self).Nanoseconds())/orders/1000, "µs-cpu-here/order")
	if mode == devstack.RedisServer {
		b.ReportMetric(float64((serverCPU(b, rdb, mode)-server).Nanoseconds())/orders/1000, "µs-cpu-redis/order")
	}
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the CPU time redis-server used so far, from INFO cpu; 0 for
// miniredis, which runs in this process.
func serverCPU(b *testing.B, rdb *redis.Client, mode devstack.RedisMode) time.Duration {
	if mode != devstack.RedisServer {
		return 0
	}
	info, err := rdb.Info(b.Context(), "cpu").Result()
	must(b, err)
	var total float64
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			must(b, err)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
