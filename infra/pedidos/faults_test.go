package pedidos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// faultOrders is the size of each fault case's run.
const faultOrders = 50_000

// A faultCase is one process that fails at one stage of a run: SIGKILLed
// and started again on the same data a second later or, with stop,
// SIGSTOPped for 5 s and continued.
type faultCase struct {
	// target is the process: redis (redis-server), stores (NATS and
	// MongoDB, in one pedidos-devstack), control, generator, processor
	// (one of two) or api.
	target string
	// stage is when: generating (orders being published), vip (the VIP
	// stage) or normal (the NORMAL stage).
	stage string
	stop  bool
}

func (c faultCase) String() string {
	how := "kill"
	if c.stop {
		how = "stop"
	}
	return c.target + "-" + how + "-" + c.stage
}

// faultSubset is what make test runs; make faults runs faultMatrix. The
// whole stack killed during the VIP stage is TestMakeRunSurvivesSIGKILLOnMiniredis,
// a cancel during the NORMAL stage TestAPICancelDuringNormal.
var faultSubset = []faultCase{{target: "redis", stage: "generating"}, {target: "processor", stage: "vip"}}

// faultMatrix is every process killed at every stage, and a processor
// stopped at each.
func faultMatrix() []faultCase {
	var cs []faultCase
	for _, stage := range []string{"generating", "vip", "normal"} {
		for _, target := range []string{"redis", "stores", "control", "generator", "processor", "api"} {
			cs = append(cs, faultCase{target: target, stage: stage})
		}
		cs = append(cs, faultCase{target: "processor", stage: stage, stop: true})
	}
	return cs
}

// TestFaults runs each fault case on the services as processes of their
// own, as containers would (control, a generator, two processors and an
// api), on NATS and MongoDB in one pedidos-devstack process and
// redis-server in another. Every run must end DONE with every order stored
// once and processed, no NORMAL order processed before the last VIP one,
// process_runs (totals and priority audit) and GET /pedidos agreeing with
// MongoDB. It logs one table of the cases. PEDIDOS_FAULTS=all (make
// faults) runs the whole matrix, a comma-separated list of case names
// those cases, else the subset.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes per case and runs 50 000 orders each")
	}
	// Not parallel, as the cluster test: its processes load a 2-core machine.
	cases := faultSubset
	switch v := os.Getenv("PEDIDOS_FAULTS"); v {
	case "":
	case "all":
		cases = faultMatrix()
	default: // case names, comma-separated
		cases = slices.DeleteFunc(faultMatrix(), func(c faultCase) bool { return !slices.Contains(strings.Split(v, ","), c.String()) })
	}
	bins := buildCluster(t)
	var rows []faultRow
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			row := runFault(t, bins, c)
			rows = append(rows, row)
			row.check(t)
		})
	}
	t.Log("\n" + faultTable(rows))
}

// faultRow is what one case measured, from MongoDB and the stack.
type faultRow struct {
	c        faultCase
	phase    events.Phase
	s        stored
	report   events.RunReport
	counts   events.ByPriority // GET /pedidos
	afterWas time.Duration     // from the fault to DONE
}

// check fails t for what the row shows wrong.
func (r faultRow) check(t *testing.T) {
	t.Helper()
	if r.phase != events.PhaseDone {
		t.Errorf("the run ended %s, want DONE", r.phase)
	}
	if n := int64(len(r.s.ids)); n != faultOrders {
		t.Errorf("MongoDB holds %d orders of the run, want %d, each once", n, faultOrders)
	}
	if r.s.notProcessed > 0 {
		t.Errorf("%d orders stored with a status other than %q", r.s.notProcessed, events.StatusProcessed)
	}
	if r.s.inversions > 0 {
		t.Errorf("%d NORMAL orders processed before the last VIP one (%v)", r.s.inversions, r.s.lastVIP)
	}
	if !r.verifiedAgrees() {
		t.Errorf("process_runs holds %+v, verified %+v; MongoDB's orders say %+v, last VIP %v, first NORMAL %v",
			r.report, r.report.Verified, r.s.count, r.s.lastVIP, r.s.firstNormal)
	}
	if r.counts != r.s.count {
		t.Errorf("GET /pedidos counts %+v; MongoDB holds %+v", r.counts, r.s.count)
	}
}

// sameTime says whether p is want, to the millisecond MongoDB keeps.
func sameTime(p *time.Time, want time.Time) bool {
	return p != nil && p.Sub(want).Abs() < time.Millisecond
}

// reportAgrees says whether process_runs' totals and audit, folded from
// the batch reports as the run went, are MongoDB's.
func (r faultRow) reportAgrees() bool {
	a := r.report.Audit
	return r.report.Status == events.PhaseDone && a.Inversions == r.s.inversions &&
		r.report.TotalProcessedVIP == r.s.count.VIP && r.report.TotalProcessedNormal == r.s.count.Normal &&
		sameTime(a.LastVIPProcessedAt, r.s.lastVIP) && sameTime(a.FirstNormalProcessedAt, r.s.firstNormal)
}

// verifiedAgrees says whether process_runs' verification, the run counted
// again from MongoDB by control after DONE, is what MongoDB holds, and
// says whether the report agreed with it.
func (r faultRow) verifiedAgrees() bool {
	v := r.report.Verified
	return v != nil && v.Processed == r.s.count && v.Inversions == r.s.inversions && v.Agrees == r.reportAgrees() &&
		sameTime(v.LastVIPProcessedAt, r.s.lastVIP) && sameTime(v.FirstNormalProcessedAt, r.s.firstNormal)
}

// faultTable formats the rows as one table.
func faultTable(rows []faultRow) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "case\tend\tstored\tlost\tnot processed\tinversions\tredelivered\tduplicates\tcounters = MongoDB\treport = MongoDB\tverified = MongoDB\tlongest stall\tfault → DONE\t")
	for _, r := range rows {
		acc := r.report.Accounting
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%v\t%.1f s\t%.1f s\t\n", r.c, r.phase, len(r.s.ids),
			faultOrders-int64(len(r.s.ids)), r.s.notProcessed, r.s.inversions,
			acc.Redelivered.VIP+acc.Redelivered.Normal, acc.Duplicates.VIP+acc.Duplicates.Normal,
			r.counts == r.s.count, r.reportAgrees(), r.verifiedAgrees(), r.s.longestGap.Seconds(), r.afterWas.Seconds())
	}
	_ = w.Flush() // writes to a strings.Builder
	return b.String()
}

// runFault runs one case on fresh processes and data.
func runFault(t *testing.T, bins map[string]string, c faultCase) faultRow {
	t.Helper()
	dir := t.TempDir()
	natsPort, mongoPort, redisPort := freePort(t), freePort(t), freePort(t)
	starts := map[string]func() *child{
		"stores": func() *child {
			return startChild(t, "stores", nil, bins["pedidos-devstack"], "-dir", filepath.Join(dir, "stores"), "-only", "nats,mongo",
				"-nats-port", strconv.Itoa(natsPort), "-mongo-port", strconv.Itoa(mongoPort), "-stdin=false")
		},
		"redis": func() *child {
			return startChild(t, "redis", nil, bins["pedidos-devstack"], "-dir", filepath.Join(dir, "redis"), "-only", "redis",
				"-redis", "redis-server", "-redis-port", strconv.Itoa(redisPort), "-stdin=false")
		},
	}
	procs := map[string]*child{"stores": starts["stores"](), "redis": starts["redis"]()}
	eventually(t, time.Minute, func() error { return dialBoth(t, natsPort, mongoPort, redisPort) })

	natsURL := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	mongoURI := "mongodb://127.0.0.1:" + strconv.Itoa(mongoPort) + "/"
	apiPort := freePort(t)
	env := []string{
		"NATS_URL=" + natsURL, "MONGO_URI=" + mongoURI, "REDIS_URL=redis://127.0.0.1:" + strconv.Itoa(redisPort),
		"LOG_FORMAT=json", "GENERATION_CHUNK_SIZE=1000", "ORDERS_BATCH_SIZE=250", "ORDERS_QUEUE_CONCURRENCY=2",
		"PORT=" + strconv.Itoa(apiPort),
	}
	for _, s := range []struct{ name, bin string }{
		{"control", "pedidos-control"}, {"generator", "pedidos-generator"}, {"processor", "pedidos-processor"},
		{"processor-1", "pedidos-processor"}, {"api", "pedidos-api"},
	} {
		starts[s.name] = func() *child {
			return startChild(t, s.name, slices.Concat(env, []string{"DATA_DIR=" + filepath.Join(dir, s.name)}), bins[s.bin])
		}
		procs[s.name] = starts[s.name]()
	}

	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	reply := requestGenerate(t, nc, faultOrders)

	stages := map[string][]events.Phase{
		"generating": {events.PhaseGenerating},
		"vip":        {events.PhaseEnqueueVIP, events.PhaseWaitingVIPDrain},
		"normal":     {events.PhaseEnqueueNormal, events.PhaseWaitingNormalDrain},
	}
	var faulted time.Time
	run := watchRun(t, js, func(run events.Run) {
		if faulted.IsZero() && slices.Contains(stages[c.stage], run.Phase) {
			faulted = time.Now()
			p := procs[c.target]
			if c.stop {
				t.Logf("%s: SIGSTOP of %s for 5 s", run.Phase, c.target)
				must(t, p.cmd.Process.Signal(syscall.SIGSTOP))
				time.Sleep(5 * time.Second)
				must(t, p.cmd.Process.Signal(syscall.SIGCONT))
			} else {
				t.Logf("%s: SIGKILL of %s", run.Phase, c.target)
				p.kill(t)
				time.Sleep(time.Second)
				procs[c.target] = starts[c.target]()
			}
		}
	})
	if run.Phase != events.PhaseDone {
		return faultRow{c: c, phase: run.Phase}
	}
	if run.ID != reply.RunID || faulted.IsZero() {
		t.Fatalf("run %s DONE, want %s; faulted %v", run.ID, reply.RunID, !faulted.IsZero())
	}
	row := faultRow{c: c, phase: run.Phase, afterWas: time.Since(faulted), s: storedOrders(t, mongoURI, reply.RunID)}

	// Control counts a DONE run again from MongoDB in the background.
	row.report = runReport(t, mongoURI, reply.RunID, func(r events.RunReport) bool { return r.Verified != nil })
	// GET /pedidos counts what MongoDB holds, once control has written
	// again what Redis lost; past a minute, what it answers then.
	api := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	_ = eventuallyOK(time.Minute, func() error {
		var st runStatus
		code, body := get(t.Context(), t, api+"/pedidos")
		if code != http.StatusOK {
			return fmt.Errorf("GET /pedidos = %d %s", code, body)
		}
		must(t, json.Unmarshal(body, &st))
		row.counts = st.Counts
		if row.counts != row.s.count {
			return fmt.Errorf("GET /pedidos counts %+v; MongoDB holds %+v", row.counts, row.s.count)
		}
		return nil
	})
	return row
}

// eventuallyOK calls f until it returns nil or timeout passes, and returns
// its last error.
func eventuallyOK(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
