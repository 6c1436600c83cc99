package pedidos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// TestMakeRunSurvivesSIGKILLOnMiniredis runs the all-in-one binary as `make
// run` does on a fresh machine (Redis is the in-process miniredis, which
// keeps nothing across a restart), kills it with SIGKILL while VIP orders
// are processed, and starts it again on the same data. The run must end
// DONE with every order stored once, no NORMAL order processed before the
// last VIP one, and GET /pedidos and GET /pedidos/queue/status right again:
// the counters equal to what MongoDB holds, the queue empty.
func TestMakeRunSurvivesSIGKILLOnMiniredis(t *testing.T) {
	t.Parallel()
	const quantity = 20_000
	bin := buildPedidos(t)
	p := newAllInOne(t, bin, map[string]string{
		"EMBEDDED_REDIS":           "miniredis",
		"GENERATION_CHUNK_SIZE":    "2000",
		"ORDERS_BATCH_SIZE":        "250",
		"ORDERS_QUEUE_CONCURRENCY": "4",
	})
	p.start(t)
	runID := p.generate(t, quantity)
	p.awaitStatus(t, "VIP orders being processed", 2*time.Minute, func(st runStatus) bool {
		return st.Counts.VIP > 500
	})
	p.kill(t)
	restarted := time.Now()
	p.start(t)
	st := p.awaitStatus(t, "the run to end", 4*time.Minute, func(st runStatus) bool { return !st.Phase.Active() })
	if st.Phase != events.PhaseDone || st.RunID == nil || *st.RunID != runID {
		t.Fatalf("after the restart the run ended %s (run %v), want %s DONE", st.Phase, st.RunID, runID)
	}
	t.Logf("DONE %v after the restart", time.Since(restarted).Round(time.Millisecond))

	stored := storedOrders(t, p.mongoURI(), runID)
	if n := int64(len(stored.ids)); n != quantity {
		t.Errorf("MongoDB holds %d orders of the run, want %d, each once", n, quantity)
	}
	if stored.notProcessed > 0 {
		t.Errorf("%d orders stored with a status other than %q", stored.notProcessed, events.StatusProcessed)
	}
	if !stored.lastVIP.Before(stored.firstNormal) {
		t.Errorf("the last VIP order was processed at %v, the first NORMAL one at %v", stored.lastVIP, stored.firstNormal)
	}
	if st.Counts.VIP != stored.count.VIP || st.Counts.Normal != stored.count.Normal {
		t.Errorf("GET /pedidos counts %+v; MongoDB holds %+v", st.Counts, stored.count)
	}
	var q struct{ Waiting, Active, Completed, Failed int64 }
	p.get(t, "/pedidos/queue/status", &q)
	if q.Waiting != 0 || q.Active != 0 || q.Failed != 0 || q.Completed == 0 {
		t.Errorf("GET /pedidos/queue/status = %+v; want nothing waiting or active, the kept completed jobs", q)
	}
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildPedidos builds the all-in-one binary once per test process.
func buildPedidos(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pedidos-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "pedidos")
		out, err := exec.CommandContext(t.Context(), "go", "build", "-o", buildBin, "./cmd/pedidos").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// allInOne is the all-in-one binary run as a process of its own, on ports
// and a data directory of the test's.
type allInOne struct {
	bin, dir string
	env      []string
	api      string // http://127.0.0.1:port
	ports    map[string]int
	cmd      *exec.Cmd
	out      *bytes.Buffer
	exited   chan struct{}
}

func newAllInOne(t *testing.T, bin string, vars map[string]string) *allInOne {
	t.Helper()
	p := &allInOne{bin: bin, dir: t.TempDir(), ports: map[string]int{}}
	for _, name := range []string{"PORT", "EMBEDDED_NATS_PORT", "EMBEDDED_MONGO_PORT", "EMBEDDED_REDIS_PORT"} {
		p.ports[name] = freePort(t)
	}
	p.api = "http://127.0.0.1:" + strconv.Itoa(p.ports["PORT"])
	p.env = append(os.Environ(), "DATA_DIR="+p.dir, "LOG_FORMAT=json", "BACKEND_LOGS=false")
	for name, port := range p.ports {
		p.env = append(p.env, name+"="+strconv.Itoa(port))
	}
	for k, v := range vars {
		p.env = append(p.env, k+"="+v)
	}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill(t)
		}
		if t.Failed() {
			t.Logf("the last output of pedidos:\n%s", tail(p.out.Bytes(), 4000))
		}
	})
	return p
}

func (p *allInOne) mongoURI() string {
	return "mongodb://127.0.0.1:" + strconv.Itoa(p.ports["EMBEDDED_MONGO_PORT"]) + "/"
}

// start starts the process and waits until its api is ready.
func (p *allInOne) start(t *testing.T) {
	t.Helper()
	p.out = &bytes.Buffer{}
	p.cmd = exec.CommandContext(t.Context(), p.bin) // killed by the test, or when it ends
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, &lockedWriter{w: p.out}, &lockedWriter{w: p.out}
	p.exited = make(chan struct{})
	must(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	eventually(t, 2*time.Minute, func() error {
		select {
		case <-p.exited:
			t.Fatalf("pedidos exited while starting: %v", p.cmd.ProcessState)
		default:
		}
		resp, err := http.Get(p.api + "/pedidos/health/ready") //nolint:noctx // a probe
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %s", resp.Status)
		}
		return nil
	})
}

// kill kills the process with SIGKILL and waits for it to be gone.
func (p *allInOne) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-p.exited
	p.cmd = nil
}

// generate starts a run; control may still be creating the topology, and
// the api answers 503 until it answers.
func (p *allInOne) generate(t *testing.T, quantity int) string {
	t.Helper()
	var reply struct{ RunID string }
	eventually(t, 30*time.Second, func() error {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			p.api+"/pedidos/generate?quantity="+strconv.Itoa(quantity), nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errors.New("control not ready")
		}
		if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusAccepted || reply.RunID == "" {
			t.Fatalf("generate = %s %+v", resp.Status, reply)
		}
		return nil
	})
	return reply.RunID
}

func (p *allInOne) get(t *testing.T, path string, out any) {
	t.Helper()
	if err := p.getErr(t.Context(), path, out); err != nil {
		t.Fatal(err)
	}
}

func (p *allInOne) getErr(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.api+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s = %s %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// runStatus is what these tests read of GET /pedidos.
type runStatus struct {
	Phase  events.Phase      `json:"phase"`
	RunID  *string           `json:"runId"`
	Counts events.ByPriority `json:"counts"`
}

// awaitStatus polls GET /pedidos until ok holds.
func (p *allInOne) awaitStatus(t *testing.T, what string, timeout time.Duration, ok func(runStatus) bool) runStatus {
	t.Helper()
	var st runStatus
	eventually(t, timeout, func() error {
		if err := p.getErr(t.Context(), "/pedidos", &st); err != nil {
			return err
		}
		if !ok(st) {
			return fmt.Errorf("waiting for %s: %+v", what, st)
		}
		return nil
	})
	return st
}

// stored is what MongoDB holds of one run.
type stored struct {
	ids                  map[string]bool
	count                events.ByPriority
	notProcessed         int64
	lastVIP, firstNormal time.Time
	// inversions counts the NORMAL orders processed before the last VIP
	// one; longestGap is the longest time between two processedAt, the
	// run's longest stall.
	inversions int64
	longestGap time.Duration
}

// storedOrders reads every order of run runID from MongoDB.
func storedOrders(t *testing.T, uri, runID string) stored {
	t.Helper()
	mc, err := mongo.Connect(options.Client().ApplyURI(uri))
	must(t, err)
	defer func() { _ = mc.Disconnect(context.WithoutCancel(t.Context())) }()
	cur, err := mc.Database(events.Database).Collection(events.CollectionOrders).Find(t.Context(),
		bson.D{{Key: "runId", Value: runID}},
		options.Find().SetProjection(bson.D{{Key: "priority", Value: 1}, {Key: "status", Value: 1}, {Key: "processedAt", Value: 1}}))
	must(t, err)
	s := stored{ids: map[string]bool{}}
	var normals, all []time.Time
	for cur.Next(t.Context()) {
		var d struct {
			ID          string    `bson:"_id"`
			Priority    string    `bson:"priority"`
			Status      string    `bson:"status"`
			ProcessedAt time.Time `bson:"processedAt"`
		}
		must(t, cur.Decode(&d))
		if s.ids[d.ID] {
			t.Errorf("order %s stored twice", d.ID)
		}
		s.ids[d.ID] = true
		all = append(all, d.ProcessedAt)
		if d.Status != events.StatusProcessed {
			s.notProcessed++
		}
		if events.Priority(d.Priority) == events.PriorityVIP {
			s.count.VIP++
			if d.ProcessedAt.After(s.lastVIP) {
				s.lastVIP = d.ProcessedAt
			}
		} else {
			s.count.Normal++
			normals = append(normals, d.ProcessedAt)
			if s.firstNormal.IsZero() || d.ProcessedAt.Before(s.firstNormal) {
				s.firstNormal = d.ProcessedAt
			}
		}
	}
	must(t, cur.Err())
	for _, at := range normals {
		if at.Before(s.lastVIP) {
			s.inversions++
		}
	}
	slices.SortFunc(all, time.Time.Compare)
	for i := 1; i < len(all); i++ {
		s.longestGap = max(s.longestGap, all[i].Sub(all[i-1]))
	}
	return s
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	must(t, err)
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockedWriter serialises writes to w: the process's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
