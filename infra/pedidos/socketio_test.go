package pedidos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// TestSocketIOClientFollowsRun connects the real socket.io-client 4 (Node)
// to the api, once over the websocket transport and once over HTTP long
// polling, as the original project's dashboard connects, and runs an order
// run while they listen. Each client must get connected first, then status
// events whose phases are the run's, from GENERATING through to DONE, with
// the fields the original's dashboard checks (processing, counts, phase)
// and never more than 2 s apart during the run; progress events at most
// every 250 ms, the last one at 100 %; and a log event for a warning and
// for an error logged during the run. get-status is answered, and
// start-generation acknowledged without starting anything.
func TestSocketIOClientFollowsRun(t *testing.T) {
	t.Parallel()
	modules := npmCI(t, "socketio", filepath.Join("socket.io-client", "package.json"))
	r := startRig(t, rigConfig{batchSize: slow.batchSize, concurrency: slow.concurrency, logs: true})
	origin := strings.TrimSuffix(r.base, "/pedidos")
	transports := []string{"websocket", "polling"}
	clients := map[string]*sioClient{}
	for _, tr := range transports {
		c := startSIOClient(t, modules, origin, "/socket.io", tr)
		clients[tr] = c
		c.await(t, "its first status", func(m sioMessage) bool { return m.is("status") })
	}

	const quantity = 3000
	runID := r.start(t, quantity)
	// A warning and an error in the services' log files during the run:
	// one logged by control's logger, one by the processor dropping an
	// order it cannot decode.
	warning := "socket.io test warning " + runID
	r.loggers["control"].Warn(warning, slog.Any("run_id", runID))
	_, err := r.js.Publish(t.Context(), events.OrderSubject(events.PriorityVIP), []byte("not an order"),
		jetstream.WithMsgID("socketio-test-undecodable-"+runID))
	must(t, err)
	if phase := r.awaitEnd(t, runID); phase != events.PhaseDone {
		t.Fatalf("run %s ended in %s", runID, phase)
	}
	timeline := r.run(t).Timeline

	for _, tr := range transports {
		c := clients[tr]
		c.await(t, "the DONE status, the last progress and both log lines", func(sioMessage) bool {
			all := c.all()
			return slices.ContainsFunc(all, func(m sioMessage) bool { return m.isStatus(runID, events.PhaseDone) }) &&
				slices.ContainsFunc(all, func(m sioMessage) bool { return m.isProgress(runID, events.PhaseDone) }) &&
				slices.ContainsFunc(all, func(m sioMessage) bool { return m.isLog("warn", "control", warning) }) &&
				slices.ContainsFunc(all, func(m sioMessage) bool {
					return m.isLog("error", "processor", "dropping undecodable order")
				})
		})
		c.stop(t)
		t.Run(tr, func(t *testing.T) {
			checkSIOSession(t, c.all(), tr, runID, quantity, timeline)
		})
	}
}

// checkSIOSession checks what one client received.
func checkSIOSession(t *testing.T, msgs []sioMessage, transport, runID string, quantity int64, timeline []events.PhaseMark) {
	t.Helper()
	if len(msgs) < 2 || msgs[0].Kind != "connect" || !msgs[1].is("connected") {
		t.Fatalf("the session began with %v, want connect then the connected event", msgs[:min(2, len(msgs))])
	}
	var hello struct {
		Message   string `json:"message"`
		Timestamp int64  `json:"timestamp"`
		ClientID  string `json:"clientId"`
	}
	msgs[1].decode(t, &hello)
	if hello.Message == "" || hello.ClientID != msgs[0].ID || time.Since(time.UnixMilli(hello.Timestamp)) > 5*time.Minute {
		t.Errorf("connected = %+v, want a message, the socket id %s and a timestamp in Unix ms", hello, msgs[0].ID)
	}

	var changes []events.Phase // the phases of the status events of phase changes
	var runStatus []sioStatus  // every status of the run, in order
	var progress []sioProgress
	acks := map[string]json.RawMessage{}
	for _, m := range msgs {
		if m.Kind == "event" && m.Transport != transport {
			t.Errorf("event %s came over %s, want %s only", m.Event, m.Transport, transport)
		}
		switch {
		case m.Kind == "ack":
			acks[m.Message] = m.Data
		case m.is("status"):
			var st sioStatus
			m.decode(t, &st)
			if st.Version != 2 || st.MonoMs <= 0 || st.Timestamp <= 0 || st.Message == "" || st.Phase == "" ||
				st.Processing == nil || st.Counts == nil {
				t.Errorf("status %s lacks what the original's clients read (version 2, monoMs, timestamp, message, "+
					"phase, processing, counts)", m.Data)
			}
			if st.RunID != runID {
				continue
			}
			runStatus = append(runStatus, st)
			if st.Previous != nil && (len(changes) == 0 || changes[len(changes)-1] != st.Phase) {
				changes = append(changes, st.Phase)
			}
		case m.is("progress"):
			var p sioProgress
			m.decode(t, &p)
			if p.RunID == runID {
				progress = append(progress, p)
			}
		}
	}

	var want []events.Phase
	for _, mark := range timeline {
		want = append(want, mark.Phase)
	}
	if !slices.Equal(changes, want) {
		t.Errorf("status events of phase changes went through %v; the run's timeline is %v", changes, want)
	}
	checkStatusCadence(t, runStatus)
	checkProgress(t, progress, quantity)

	var st sioStatus
	if err := json.Unmarshal(acks["get-status"], &st); err != nil || st.Phase == "" || st.Processing == nil {
		t.Errorf("get-status was acknowledged with %s, want the status", acks["get-status"])
	}
	var refused struct{ Performed *bool }
	if err := json.Unmarshal(acks["start-generation"], &refused); err != nil || refused.Performed == nil || *refused.Performed {
		t.Errorf("start-generation was acknowledged with %s, want performed: false", acks["start-generation"])
	}
}

// checkStatusCadence checks that from the GENERATING status to the DONE
// one, no two status events were sent more than 2 s apart.
func checkStatusCadence(t *testing.T, statuses []sioStatus) {
	t.Helper()
	first := slices.IndexFunc(statuses, func(s sioStatus) bool { return s.Phase == events.PhaseGenerating })
	last := slices.IndexFunc(statuses, func(s sioStatus) bool { return s.Phase == events.PhaseDone })
	if first < 0 || last < first {
		t.Fatalf("no GENERATING status before a DONE one among %d status events", len(statuses))
	}
	for i := first + 1; i <= last; i++ {
		if gap := statuses[i].Timestamp - statuses[i-1].Timestamp; gap > 2000 {
			t.Errorf("status events %d ms apart during the run (%s, then %s), want at most 2000",
				gap, statuses[i-1].Phase, statuses[i].Phase)
		}
	}
	t.Logf("%d status events during the run", last-first+1)
}

// checkProgress checks the progress events of the run: at most one per
// 250 ms, counts that only grow, and a last one at 100 %.
func checkProgress(t *testing.T, progress []sioProgress, quantity int64) {
	t.Helper()
	if len(progress) < 2 {
		t.Fatalf("%d progress events for the run, want several", len(progress))
	}
	for i := 1; i < len(progress); i++ {
		a, b := progress[i-1], progress[i]
		// Timestamps are whole milliseconds, truncated: 250 ms apart may
		// read as 249.
		if gap := b.Timestamp - a.Timestamp; gap < 249 {
			t.Errorf("progress events %d ms apart, want at least 250", gap)
		}
		if b.Current < a.Current || b.VIPProcessed < a.VIPProcessed || b.NormalProcessed < a.NormalProcessed {
			t.Errorf("progress went back: %+v, then %+v", a, b)
		}
	}
	end := progress[len(progress)-1]
	if end.Phase != events.PhaseDone || end.Progress != 100 || end.Current != quantity || end.Total != quantity ||
		end.VIPProcessed+end.NormalProcessed != quantity {
		t.Errorf("last progress event %+v, want DONE, 100 %%, %d of %d", end, quantity, quantity)
	}
	t.Logf("%d progress events", len(progress))
}

// sioStatus is the part of a status event the test reads.
type sioStatus struct {
	Version    int             `json:"version"`
	MonoMs     int64           `json:"monoMs"`
	Timestamp  int64           `json:"timestamp"`
	Message    string          `json:"message"`
	Phase      events.Phase    `json:"phase"`
	Previous   *events.Phase   `json:"previous"`
	RunID      string          `json:"runId"`
	Processing json.RawMessage `json:"processing"`
	Counts     json.RawMessage `json:"counts"`
}

// sioProgress is a progress event.
type sioProgress struct {
	Version         int          `json:"version"`
	Phase           events.Phase `json:"phase"`
	Progress        float64      `json:"progress"`
	Total           int64        `json:"total"`
	Current         int64        `json:"current"`
	VIPProcessed    int64        `json:"vipProcessed"`
	NormalProcessed int64        `json:"normalProcessed"`
	RunID           string       `json:"runId"`
	Timestamp       int64        `json:"timestamp"`
}

// sioMessage is one line testdata/socketio/listen.js prints.
type sioMessage struct {
	Kind      string          `json:"kind"`
	Event     string          `json:"event"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data"`
	ID        string          `json:"id"`
	Transport string          `json:"transport"`
	Reason    string          `json:"reason"`
	At        int64           `json:"at"`
}

func (m sioMessage) is(event string) bool { return m.Kind == "event" && m.Event == event }

func (m sioMessage) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Data, v); err != nil {
		t.Fatalf("%s event %s: %v", m.Event, m.Data, err)
	}
}

func (m sioMessage) isStatus(runID string, phase events.Phase) bool {
	var st sioStatus
	return m.is("status") && json.Unmarshal(m.Data, &st) == nil && st.RunID == runID && st.Phase == phase
}

func (m sioMessage) isProgress(runID string, phase events.Phase) bool {
	var p sioProgress
	return m.is("progress") && json.Unmarshal(m.Data, &p) == nil && p.RunID == runID && p.Phase == phase
}

func (m sioMessage) isLog(level, category, message string) bool {
	var l struct {
		Timestamp int64  `json:"timestamp"`
		Level     string `json:"level"`
		Message   string `json:"message"`
		Category  string `json:"category"`
	}
	return m.is("log") && json.Unmarshal(m.Data, &l) == nil && l.Timestamp > 0 &&
		l.Level == level && l.Category == category && l.Message == message
}

// sioClient is one run of listen.js.
type sioClient struct {
	transport string
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	done      chan struct{} // closed when stdout is read to its end
	stderr    *strings.Builder

	mu       sync.Mutex
	messages []sioMessage
	stopped  bool
}

// startSIOClient runs listen.js against the api at origin, on path, over
// one transport, until the test ends or stop.
func startSIOClient(t *testing.T, modules, origin, path, transport string) *sioClient {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "socketio", "listen.js"))
	must(t, err)
	cmd := exec.CommandContext(t.Context(), "node", script, origin, path, transport, strconv.Itoa(int(rigTimeout.Seconds())*4))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.WaitDelay = 5 * time.Second
	c := &sioClient{transport: transport, cmd: cmd, done: make(chan struct{}), stderr: &strings.Builder{}}
	cmd.Stderr = c.stderr
	c.stdin, err = cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	go c.read(t, stdout)
	t.Cleanup(func() {
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if !stopped {
			_ = cmd.Process.Kill()
			<-c.done
			_ = cmd.Wait()
		}
	})
	c.await(t, "connected", func(m sioMessage) bool { return m.is("connected") })
	return c
}

// read collects what the client prints until its stdout closes.
func (c *sioClient) read(t *testing.T, stdout io.Reader) {
	defer close(c.done)
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for lines.Scan() {
		var m sioMessage
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Errorf("%s client printed %q: %v", c.transport, lines.Text(), err)
			continue
		}
		c.mu.Lock()
		c.messages = append(c.messages, m)
		c.mu.Unlock()
	}
}

// all returns what the client received so far.
func (c *sioClient) all() []sioMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.messages)
}

// await polls the client's messages until one satisfies ok, failing the
// test if the client exits first or rigTimeout passes.
func (c *sioClient) await(t *testing.T, what string, ok func(sioMessage) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * rigTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if slices.ContainsFunc(c.all(), ok) {
			return
		}
		select {
		case <-c.done:
			if slices.ContainsFunc(c.all(), ok) {
				return
			}
			t.Fatalf("%s client exited while the test waited for %s: %v\nstderr: %s\nlast messages: %v",
				c.transport, what, c.cmd.Wait(), c.stderr, c.tail())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s client: no %s in time; last messages: %v", c.transport, what, c.tail())
		}
	}
}

// tail describes the last messages, for a failure.
func (c *sioClient) tail() string {
	all := c.all()
	var b strings.Builder
	for _, m := range all[max(0, len(all)-5):] {
		fmt.Fprintf(&b, "\n  %s %s %s %.300s", m.Kind, m.Event, m.Message, m.Data)
	}
	return b.String()
}

// stop closes the client's standard input, which makes it disconnect and
// exit, and checks that it exited cleanly.
func (c *sioClient) stop(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	_ = c.stdin.Close()
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("%s client: %v\nstderr: %s", c.transport, err, c.stderr)
	}
}
