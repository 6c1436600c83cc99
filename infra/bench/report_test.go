package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

// sampleSize is a size whose run and floor were measured, not its queue
// layer.
func sampleSize() sizeResult {
	sr := sizeResult{
		N:     100_000,
		Floor: &floorResult{Docs: 100_000, BatchSize: 500, Writers: 4, Elapsed: ms(8 * time.Second), DocsPerSec: 12_500},
		Run: &runResult{
			Kind: kindProduct, Phase: string(events.PhaseDone), Wall: ms(10100 * time.Millisecond),
			Report: &events.RunReport{
				GenerationTimeMs: 1000, ProcessingTimeVIPMs: 3000, ProcessingTimeNormalMs: 6500, TotalTimeMs: 10_000,
				TotalProcessedVIP: 25_000, TotalProcessedNormal: 75_000,
			},
			Sampled: sampled{MachineBusy: ms(20 * time.Second), Others: ms(1500 * time.Millisecond), Processes: map[string]procStats{
				"services":  {PeakRSS: 200 << 20, HWM: 210 << 20, CPU: ms(4 * time.Second)},
				serverNATS:  {PeakRSS: 90 << 20, HWM: 95 << 20},
				serverMongo: {PeakRSS: 60 << 20, HWM: 64 << 20},
				serverRedis: {PeakRSS: 30 << 20, HWM: 31 << 20, CPU: ms(500 * time.Millisecond)},
			}},
			Redis: redisMemory{Peak: 20 << 20},
			Mongo: mongoSize{DataSize: 80 << 20, StorageSize: 80 << 20, Disk: 120 << 20},
		},
		Fallback: &runResult{
			Kind: kindProduct, RedisServer: miniredis, Phase: string(events.PhaseDone),
			Report: &events.RunReport{TotalTimeMs: 11_000},
			Sampled: sampled{Processes: map[string]procStats{
				serverRedis: {CPU: ms(1200 * time.Millisecond)},
			}},
		},
		Paused: &pausedResult{GenerationMs: 833, PerSec: 120_000},
		Errors: []string{"queue: the services exited during the run\nand more"},
	}
	sr.Figures = derive(sr)
	return sr
}

func TestRowsDeriveFiguresAndShowTargets(t *testing.T) {
	t.Parallel()
	got := map[string]row{}
	for _, r := range rows(sampleSize()) {
		got[r.label] = r
	}
	want := []row{
		{"generation+publish rate", "100,000/s", "≥ 100,000/s"},
		{"total wall time", "10.00 s   (harness saw 10.10 s)", ""},
		{"orders/s", "10,000/s", ""},
		{"ratio run/floor", "1.25", "≤ 1.25 at 1.5M"},
		{"queue-layer orders/s", noValue, "≥ 30,000/s sustained at 1.5M"},
		{"peak RSS services (all four)", "210.0 MiB   (CPU 4.00 s)", "≤ 1 GiB at 1.5M"},
		{"other programs' CPU: run / floor / queue", "1.50 s / — / —", "≈ 0 (else the figures are disturbed)"},
		{"Redis peak memory (redis-server)", "20.0 MiB", "≤ 150 MiB at 1.5M"},
		{"Redis CPU per order (redis-server)", "5.0 µs", ""},
		{"ratio miniredis/redis-server", "1.10", "≤ 1.25 at 1.5M"},
		{"Redis CPU per order (miniredis)", "12.0 µs", ""},
		{"generation+publish, processing paused", "120,000/s", "≥ 100,000/s at 1.5M"},
		{"MongoDB data size", "dbStats data 80.0 MiB, storage 80.0 MiB; on disk 120.0 MiB", ""},
		{"priority inversions", "0", "0"},
		{"cost per order", "100.0 µs", "at 1.5M ≤ 1.2 × at 100k"},
	}
	for _, w := range want {
		if g, ok := got[w.label]; !ok || g != w {
			t.Errorf("row %q = %+v, want %+v", w.label, g, w)
		}
	}
	if _, ok := got["slowdown under load"]; ok {
		t.Error("a size measured without load has load rows")
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeTable(&buf, sampleSize())
	out := buf.String()
	if !strings.Contains(out, "N = 100,000 orders") {
		t.Errorf("no heading in:\n%s", out)
	}
	// tabwriter aligns the columns: every value starts at the same column.
	col := -1
	for line := range strings.Lines(out) {
		for _, label := range []string{"ratio run/floor", "orders/s", "priority inversions"} {
			if !strings.HasPrefix(line, "  "+label+" ") {
				continue
			}
			i := len("  " + label)
			i += len(line[i:]) - len(strings.TrimLeft(line[i:], " "))
			if col >= 0 && i != col {
				t.Errorf("value of %q at column %d, others at %d:\n%s", label, i, col, out)
			}
			col = i
		}
	}
	if !strings.Contains(out, "  ! queue: the services exited during the run\n") || strings.Contains(out, "and more") {
		t.Errorf("errors not shown by their first line:\n%s", out)
	}
}

func TestSummarizeComparesCostPerOrder(t *testing.T) {
	t.Parallel()
	small, large := sampleSize(), sampleSize()
	large.N = 1_500_000
	large.Run.Report = &events.RunReport{TotalTimeMs: 165_000}
	large.Figures = derive(large)
	s := summarize([]sizeResult{large, small})
	if s.SmallestN != 100_000 || s.LargestN != 1_500_000 || s.CostRatio == nil {
		t.Fatalf("summary = %+v", s)
	}
	if got, want := *s.CostRatio, 1.1; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("cost ratio = %v, want %v (110 µs over 100 µs)", got, want)
	}
	var buf bytes.Buffer
	writeSummary(&buf, s)
	if !strings.Contains(buf.String(), "cost per order, N=1,500,000 over N=100,000: 1.10") {
		t.Errorf("summary:\n%s", buf.String())
	}

	if s := summarize([]sizeResult{small}); s.CostRatio != nil {
		t.Errorf("one size: cost ratio %v, want none", *s.CostRatio)
	}
}
