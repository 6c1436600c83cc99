package main

import "runtime"

// oversubscribe gives the process twice the Ps (GOMAXPROCS) the runtime
// chose, unless the GOMAXPROCS variable is set, and returns the new value
// and whether it changed it.
//
// In this one process the api's request handlers share the Ps with the
// processor's CPU-bound batches (encoding, the driver's InsertMany) and,
// with the embedded servers, with NATS and FerretDB. With one P per core, a
// request that becomes runnable waits until a busy goroutine blocks or is
// preempted, up to 10 ms at a time; with spare Ps it runs at once on a
// thread of its own and the kernel shares the cores between threads.
// Measured under the benchmark harness's load (500k orders, GET /pedidos at
// 200/s and 200 SSE clients, 2 cores): GET p99 22.8 and 31.3 ms with 2 Ps,
// 12.8 and 14.7 ms with 4, the run no slower. The services run as separate
// programs in production do not need it: none shares its process with
// another's CPU-bound work.
func oversubscribe(getenv func(string) string) (int, bool) {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), false
	}
	procs := 2 * runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(procs)
	return procs, true
}
