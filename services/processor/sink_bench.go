//go:build pedidosbench

package processor

// benchDiscardWrites reads BENCH_DISCARD_WRITES in benchmark builds.
func benchDiscardWrites(getenv func(string) string) bool {
	return getenv("BENCH_DISCARD_WRITES") == "true"
}
