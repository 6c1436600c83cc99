package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pedidos/pedidos/events"
)

// results is the content of the JSON file.
type results struct {
	StartedAt  time.Time    `json:"startedAt"`
	FinishedAt time.Time    `json:"finishedAt"`
	Command    []string     `json:"command"`
	Machine    machine      `json:"machine"`
	Settings   settings     `json:"settings"`
	Sizes      []sizeResult `json:"sizes"`
	Summary    *summary     `json:"summary,omitempty"`
}

// settings are what the measurements depended on besides the machine.
type settings struct {
	BatchSize int `json:"batchSize"`
	Writers   int `json:"writers"`
	// Env are the -env overrides passed to the services.
	Env []string `json:"env"`
	// Servers given on the command line, by name; the others were embedded.
	Servers map[string]string `json:"servers,omitempty"`
	LoadRPS int               `json:"loadRps"`
	LoadSSE int               `json:"loadSse"`
}

func (h *harness) settings() settings {
	s := settings{BatchSize: h.batchSize, Writers: h.writers, Env: append([]string{}, h.opts.env...),
		LoadRPS: h.opts.loadRPS, LoadSSE: h.opts.loadSSE}
	if len(h.given) > 0 {
		s.Servers = h.given
	}
	return s
}

// sizeResult is every measurement of one N.
type sizeResult struct {
	N     int64        `json:"n"`
	Floor *floorResult `json:"floor,omitempty"`
	Run   *runResult   `json:"run,omitempty"`
	// Fallback is the run on the in-process miniredis (-fallback).
	Fallback *runResult `json:"fallback,omitempty"`
	// Paused is generation and publish with processing paused (-paused).
	Paused *pausedResult `json:"paused,omitempty"`
	Queue  *runResult    `json:"queue,omitempty"`
	Loaded *runResult    `json:"loaded,omitempty"`
	// Figures are the numbers the table shows, derived from the above.
	Figures figures  `json:"figures"`
	Errors  []string `json:"errors,omitempty"`
}

// figures are the derived numbers of one N; nil when what they derive
// from was not measured.
type figures struct {
	GenerationMs     *float64 `json:"generationMs,omitempty"`
	GenerationPerSec *float64 `json:"generationPerSec,omitempty"`
	VIPWindowMs      *float64 `json:"vipWindowMs,omitempty"`
	NormalWindowMs   *float64 `json:"normalWindowMs,omitempty"`
	TotalMs          *float64 `json:"totalMs,omitempty"`
	OrdersPerSec     *float64 `json:"ordersPerSec,omitempty"`
	CostPerOrderUs   *float64 `json:"costPerOrderUs,omitempty"`
	// RedisCPUPerOrderUs is the Redis server's CPU time per order in the
	// run, FallbackRedisCPUPerOrderUs miniredis's (the process it runs in).
	RedisCPUPerOrderUs         *float64 `json:"redisCpuPerOrderUs,omitempty"`
	FallbackMs                 *float64 `json:"fallbackMs,omitempty"`
	FallbackToRun              *float64 `json:"fallbackToRun,omitempty"`
	FallbackRedisCPUPerOrderUs *float64 `json:"fallbackRedisCpuPerOrderUs,omitempty"`
	PausedGenerationPerSec     *float64 `json:"pausedGenerationPerSec,omitempty"`
	Inversions                 *int64   `json:"inversions,omitempty"`
	FloorMs                    *float64 `json:"floorMs,omitempty"`
	FloorPerSec                *float64 `json:"floorPerSec,omitempty"`
	RunToFloor                 *float64 `json:"runToFloor,omitempty"`
	QueueTotalMs               *float64 `json:"queueTotalMs,omitempty"`
	QueuePerSec                *float64 `json:"queuePerSec,omitempty"`
	QueueNormalPerSec          *float64 `json:"queueNormalPerSec,omitempty"`
	LoadedTotalMs              *float64 `json:"loadedTotalMs,omitempty"`
	SlowdownPct                *float64 `json:"slowdownPct,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// derive computes the figures of sr.
func derive(sr sizeResult) figures {
	var f figures
	n := float64(sr.N)
	if r := reportOf(sr.Run); r != nil {
		f.GenerationMs = ptr(float64(r.GenerationTimeMs))
		if r.GenerationTimeMs > 0 {
			f.GenerationPerSec = ptr(n / (float64(r.GenerationTimeMs) / 1000))
		}
		f.VIPWindowMs = ptr(float64(r.ProcessingTimeVIPMs))
		f.NormalWindowMs = ptr(float64(r.ProcessingTimeNormalMs))
		f.TotalMs = ptr(float64(r.TotalTimeMs))
		if r.TotalTimeMs > 0 {
			f.OrdersPerSec = ptr(n / (float64(r.TotalTimeMs) / 1000))
		}
		f.CostPerOrderUs = ptr(float64(r.TotalTimeMs) * 1000 / n)
		f.Inversions = ptr(r.Audit.Inversions)
	}
	f.RedisCPUPerOrderUs = redisCPUPerOrder(sr.Run, n)
	if r := reportOf(sr.Fallback); r != nil {
		f.FallbackMs = ptr(float64(r.TotalTimeMs))
		f.FallbackRedisCPUPerOrderUs = redisCPUPerOrder(sr.Fallback, n)
		if f.TotalMs != nil && *f.TotalMs > 0 {
			f.FallbackToRun = ptr(float64(r.TotalTimeMs) / *f.TotalMs)
		}
	}
	if sr.Paused != nil && sr.Paused.PerSec > 0 {
		f.PausedGenerationPerSec = ptr(sr.Paused.PerSec)
	}
	if sr.Floor != nil {
		f.FloorMs = ptr(float64(sr.Floor.Elapsed) / float64(time.Millisecond))
		f.FloorPerSec = ptr(sr.Floor.DocsPerSec)
		if f.TotalMs != nil && *f.FloorMs > 0 {
			f.RunToFloor = ptr(*f.TotalMs / *f.FloorMs)
		}
	}
	if r := reportOf(sr.Queue); r != nil {
		f.QueueTotalMs = ptr(float64(r.TotalTimeMs))
		if r.TotalTimeMs > 0 {
			f.QueuePerSec = ptr(n / (float64(r.TotalTimeMs) / 1000))
		}
		if r.ProcessingTimeNormalMs > 0 {
			f.QueueNormalPerSec = ptr(float64(r.TotalProcessedNormal) / (float64(r.ProcessingTimeNormalMs) / 1000))
		}
	}
	if r := reportOf(sr.Loaded); r != nil {
		f.LoadedTotalMs = ptr(float64(r.TotalTimeMs))
		if f.TotalMs != nil && *f.TotalMs > 0 {
			f.SlowdownPct = ptr((float64(r.TotalTimeMs)/(*f.TotalMs) - 1) * 100)
		}
	}
	return f
}

// redisCPUPerOrder is the CPU time the Redis server's process used per
// order during run, in microseconds, or nil when it was not sampled.
func redisCPUPerOrder(run *runResult, n float64) *float64 {
	if run == nil || run.Report == nil {
		return nil
	}
	p, ok := run.Sampled.Processes[serverRedis]
	if !ok || p.CPU == 0 {
		return nil
	}
	return ptr(float64(time.Duration(p.CPU).Microseconds()) / n)
}

// reportOf returns the run's process_runs document, or nil.
func reportOf(r *runResult) *events.RunReport {
	if r == nil {
		return nil
	}
	return r.Report
}

// row is one line of a table: a figure, its value, the target.
type row struct{ label, value, target string }

// noValue stands for a figure that was not measured.
const noValue = "—"

// rows returns the table of sr.
func rows(sr sizeResult) []row {
	f := sr.Figures
	ms := func(v *float64) string {
		if v == nil {
			return noValue
		}
		return fmtSeconds(time.Duration(*v * float64(time.Millisecond)))
	}
	rate := func(v *float64) string {
		if v == nil {
			return noValue
		}
		return fmtRate(*v)
	}
	out := []row{
		{"generation+publish time", ms(f.GenerationMs), ""},
		{"generation+publish rate", rate(f.GenerationPerSec), "≥ 100,000/s"},
		{"VIP window", ms(f.VIPWindowMs), ""},
		{"NORMAL window", ms(f.NormalWindowMs), ""},
		{"total wall time", ms(f.TotalMs) + harnessWall(sr.Run), ""},
		{"orders/s", rate(f.OrdersPerSec), ""},
		{"floor time (InsertMany alone)", ms(f.FloorMs) + floorDetail(sr.Floor), ""},
		{"ratio run/floor", ratio(f.RunToFloor), "≤ 1.25 at 1.5M"},
		{"Redis CPU per order (redis-server)", micros(f.RedisCPUPerOrderUs), ""},
		{"Redis peak memory (redis-server)", redisPeak(sr.Run), "≤ 150 MiB at 1.5M"},
		{"total wall time on miniredis", ms(f.FallbackMs), ""},
		{"ratio miniredis/redis-server", ratio(f.FallbackToRun), "≤ 1.25 at 1.5M"},
		{"Redis CPU per order (miniredis)", micros(f.FallbackRedisCPUPerOrderUs), ""},
		{"generation+publish, processing paused", rate(f.PausedGenerationPerSec), "≥ 100,000/s at 1.5M"},
		{"queue-layer time", ms(f.QueueTotalMs), ""},
		{"queue-layer orders/s", rate(f.QueuePerSec), "≥ 30,000/s sustained at 1.5M"},
		{"queue-layer NORMAL window rate", rate(f.QueueNormalPerSec), ""},
	}
	out = append(out, processRows(sr.Run)...)
	out = append(out, othersRow(sr))
	out = append(out,
		row{"MongoDB data size", mongoData(sr.Run), ""},
		row{"priority inversions", count(f.Inversions), "0"},
		row{"cost per order", micros(f.CostPerOrderUs), "at 1.5M ≤ 1.2 × at 100k"},
	)
	if sr.Loaded != nil {
		out = append(out, loadRows(sr.Loaded, f)...)
	}
	return out
}

// processRows are the peak RSS and CPU time of each process of run.
func processRows(run *runResult) []row {
	var out []row
	for _, name := range []string{"services", serverNATS, serverMongo, serverRedis} {
		label, target := "peak RSS "+name, ""
		if name == "services" {
			label, target = "peak RSS services (all four)", "≤ 1 GiB at 1.5M"
		}
		value := noValue
		if run != nil {
			if p, ok := run.Sampled.Processes[name]; ok && p.Peak() > 0 {
				value = fmt.Sprintf("%s   (CPU %s)", fmtBytes(p.Peak()), fmtSeconds(time.Duration(p.CPU)))
			} else if !ok {
				value = "not sampled (server given)"
			}
		}
		out = append(out, row{label, value, target})
	}
	return out
}

// loadRows are the figures of the run under load.
func loadRows(run *runResult, f figures) []row {
	l := run.Load
	if l == nil {
		return []row{{"run under load", noValue, ""}}
	}
	slowdown := noValue
	if f.SlowdownPct != nil {
		slowdown = fmt.Sprintf("%+.1f %%", *f.SlowdownPct)
	}
	rows := []row{
		{"GET /pedidos p50 / p99 / max", fmt.Sprintf("%s / %s / %s ms", fmtMillis(time.Duration(l.P50)),
			fmtMillis(time.Duration(l.P99)), fmtMillis(time.Duration(l.Max))), fmt.Sprintf("p99 ≤ 25 ms at %d req/s, 1.5M", l.RPS)},
		{"GET /pedidos requests", fmt.Sprintf("%s sent, %s errors, %s dropped", fmtCount(l.Requests),
			fmtCount(l.Errors), fmtCount(l.Dropped)), ""},
		{"SSE clients", fmt.Sprintf("%d of %d connected, %s events, %d lost", l.SSEConnected, l.SSEClients,
			fmtCount(l.SSEEvents), l.SSEErrors), ""},
		{"load generator's CPU", fmtSeconds(time.Duration(run.Sampled.Processes["load"].CPU)), "on the same cores as the run"},
		{"total wall time under load", ms2s(f.LoadedTotalMs), ""},
		{"slowdown under load", slowdown, fmt.Sprintf("≤ 5 %% with %d SSE clients, 1.5M", l.SSEClients)},
	}
	if l.RPS == 0 { // only SSE clients: no GET to report
		rows = rows[2:]
	}
	return rows
}

// othersRow says how much CPU time other programs used during each
// measurement.
func othersRow(sr sizeResult) row {
	label := "other programs' CPU: run / floor / queue"
	measured := []*sampled{sampledOf(sr.Run), floorSampled(sr.Floor), sampledOf(sr.Queue)}
	if sr.Loaded != nil {
		label += " / under load"
		measured = append(measured, sampledOf(sr.Loaded))
	}
	parts := make([]string, 0, len(measured))
	for _, smp := range measured {
		if smp == nil || smp.MachineBusy == 0 {
			parts = append(parts, noValue)
			continue
		}
		parts = append(parts, fmtSeconds(time.Duration(smp.Others)))
	}
	return row{label, strings.Join(parts, " / "), "≈ 0 (else the figures are disturbed)"}
}

func sampledOf(r *runResult) *sampled {
	if r == nil {
		return nil
	}
	return &r.Sampled
}

func floorSampled(f *floorResult) *sampled {
	if f == nil {
		return nil
	}
	return &f.Sampled
}

func ms2s(v *float64) string {
	if v == nil {
		return noValue
	}
	return fmtSeconds(time.Duration(*v * float64(time.Millisecond)))
}

func ratio(v *float64) string {
	if v == nil {
		return noValue
	}
	return fmt.Sprintf("%.2f", *v)
}

func micros(v *float64) string {
	if v == nil {
		return noValue
	}
	return fmt.Sprintf("%.1f µs", *v)
}

func count(v *int64) string {
	if v == nil {
		return noValue
	}
	return fmtCount(*v)
}

// harnessWall is the run's wall time as the harness saw it, in brackets.
func harnessWall(r *runResult) string {
	if r == nil || r.Wall == 0 {
		return ""
	}
	return fmt.Sprintf("   (harness saw %s)", fmtSeconds(time.Duration(r.Wall)))
}

// floorDetail says how the floor was measured, in brackets.
func floorDetail(f *floorResult) string {
	if f == nil {
		return ""
	}
	indexed := ""
	if f.Indexed {
		indexed = ", indexed"
	}
	return fmt.Sprintf("   (%s docs/s; batches of %d, %d at once%s)", fmtCount(int64(math.Round(f.DocsPerSec))), f.BatchSize, f.Writers, indexed)
}

func redisPeak(r *runResult) string {
	switch {
	case r == nil || r.Report == nil:
		return noValue
	case r.Redis.Error != "":
		return r.Redis.Error
	}
	return fmtBytes(r.Redis.Peak)
}

func mongoData(r *runResult) string {
	if r == nil || r.Report == nil {
		return noValue
	}
	m := r.Mongo
	var parts []string
	if m.DataSize > 0 || m.StorageSize > 0 {
		parts = append(parts, fmt.Sprintf("dbStats data %s, storage %s", fmtBytes(m.DataSize), fmtBytes(m.StorageSize)))
	}
	if m.Disk > 0 {
		parts = append(parts, "on disk "+fmtBytes(m.Disk))
	}
	if len(parts) == 0 {
		return m.Error
	}
	return strings.Join(parts, "; ")
}

// writeTable prints the table of sr.
func writeTable(w io.Writer, sr sizeResult) {
	fmt.Fprintf(w, "\nN = %s orders\n", fmtCount(sr.N))
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  figure\tmeasured\ttarget")
	for _, r := range rows(sr) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.label, r.value, r.target)
	}
	_ = tw.Flush() // w is stdout; nothing to do about a failed write
	for _, e := range sr.Errors {
		fmt.Fprintf(w, "  ! %s\n", firstLine(e))
	}
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// summary compares the sizes.
type summary struct {
	Sizes []summaryRow `json:"sizes"`
	// CostRatio is the cost per order of the largest N over that of the
	// smallest.
	CostRatio *float64 `json:"costRatioLargestToSmallest,omitempty"`
	SmallestN int64    `json:"smallestN"`
	LargestN  int64    `json:"largestN"`
}

// summaryRow is one N in the summary.
type summaryRow struct {
	N              int64    `json:"n"`
	TotalMs        *float64 `json:"totalMs,omitempty"`
	OrdersPerSec   *float64 `json:"ordersPerSec,omitempty"`
	CostPerOrderUs *float64 `json:"costPerOrderUs,omitempty"`
	RunToFloor     *float64 `json:"runToFloor,omitempty"`
	QueuePerSec    *float64 `json:"queuePerSec,omitempty"`
}

// summarize compares the cost per order across sizes.
func summarize(sizes []sizeResult) *summary {
	if len(sizes) == 0 {
		return nil
	}
	s := &summary{}
	var small, large *float64
	for _, sr := range sizes {
		f := sr.Figures
		s.Sizes = append(s.Sizes, summaryRow{N: sr.N, TotalMs: f.TotalMs, OrdersPerSec: f.OrdersPerSec,
			CostPerOrderUs: f.CostPerOrderUs, RunToFloor: f.RunToFloor, QueuePerSec: f.QueuePerSec})
		if s.SmallestN == 0 || sr.N < s.SmallestN {
			s.SmallestN, small = sr.N, f.CostPerOrderUs
		}
		if sr.N > s.LargestN {
			s.LargestN, large = sr.N, f.CostPerOrderUs
		}
	}
	if small != nil && large != nil && *small > 0 && s.LargestN != s.SmallestN {
		s.CostRatio = ptr(*large / *small)
	}
	return s
}

// writeSummary prints s.
func writeSummary(w io.Writer, s *summary) {
	if s == nil {
		return
	}
	fmt.Fprintln(w, "\nSummary")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  N\ttotal\torders/s\tcost/order\trun/floor\tqueue-layer/s\t")
	for _, r := range s.Sizes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t\n", fmtCount(r.N), ms2s(r.TotalMs), rateOr(r.OrdersPerSec),
			micros(r.CostPerOrderUs), ratio(r.RunToFloor), rateOr(r.QueuePerSec))
	}
	_ = tw.Flush() // w is stdout; nothing to do about a failed write
	if s.CostRatio != nil {
		fmt.Fprintf(w, "  cost per order, N=%s over N=%s: %.2f   (target: ≤ 1.2 for 1.5M over 100k)\n",
			fmtCount(s.LargestN), fmtCount(s.SmallestN), *s.CostRatio)
	}
}

func rateOr(v *float64) string {
	if v == nil {
		return noValue
	}
	return fmtRate(*v)
}

// writeJSON writes res to path, creating its directory.
func writeJSON(path string, res *results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}
