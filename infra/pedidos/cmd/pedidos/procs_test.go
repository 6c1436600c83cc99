package main

import (
	"runtime"
	"testing"
)

// Not parallel: GOMAXPROCS is the test process's.
func TestOversubscribe(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })

	procs, changed := oversubscribe(func(string) string { return "" })
	if !changed || procs != 2*before || runtime.GOMAXPROCS(0) != 2*before {
		t.Errorf("oversubscribe() = %d, %v with GOMAXPROCS %d; want %d, true", procs, changed, runtime.GOMAXPROCS(0), 2*before)
	}

	runtime.GOMAXPROCS(before)
	set := func(key string) string {
		if key == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}
	procs, changed = oversubscribe(set)
	if changed || procs != before || runtime.GOMAXPROCS(0) != before {
		t.Errorf("with GOMAXPROCS set: oversubscribe() = %d, %v, GOMAXPROCS %d; want %d, false, unchanged", procs, changed, runtime.GOMAXPROCS(0), before)
	}
}
