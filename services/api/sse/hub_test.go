package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tmaxmax/go-sse"
	"go.uber.org/goleak"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitTimeout = 10 * time.Second

// testHub returns a hub that never has an active run, served by an
// httptest server.
func testHub(t *testing.T, cfg Config) (*Hub, *httptest.Server) {
	t.Helper()
	if cfg.Active == nil {
		cfg.Active = func() bool { return false }
	}
	if cfg.Progress == nil {
		cfg.Progress = func(context.Context) ([]byte, error) { return []byte("{}"), nil }
	}
	h := NewHub(cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Serve(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		h.Close() // ends the streams, so that Close below does not wait
		srv.Close()
	})
	return h, srv
}

// get opens a stream and returns a reader of its lines.
func get(t *testing.T, url, lastID string) (*bufio.Scanner, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the returned stop closes it
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return bufio.NewScanner(resp.Body), func() { cancel(); _ = resp.Body.Close() }
}

func phase(seq uint64, p events.Phase) *sse.Message {
	return phaseMessage(seq, &events.PhaseEvent{RunID: "r", Phase: p})
}

func TestSlowClientIsDroppedNotWaitedFor(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{ClientBuffer: 2, History: 8})
	slow, _ := h.subscribe("")
	fast, _ := h.subscribe("")
	for seq := uint64(1); seq <= 3; seq++ { // never blocks, whoever reads
		h.publishPhase(seq, phase(seq, events.PhaseGenerating))
		<-fast.phases
	}
	select {
	case <-slow.dropped:
	default:
		t.Fatal("a client with a full buffer was not dropped")
	}
	select {
	case <-fast.dropped:
		t.Fatal("a client that keeps up was dropped")
	default:
	}
	if n := h.Clients(); n != 1 {
		t.Errorf("Clients() = %d, want 1", n)
	}
	// Reconnecting with the last id it got, it replays the rest.
	_, replay := h.subscribe("2")
	if len(replay) != 1 || replay[0].ID.String() != "3" {
		t.Errorf("replay after 2 = %v, want event 3", replay)
	}
}

func TestProgressKeepsOnlyNewest(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	c, _ := h.subscribe("")
	for i := range 3 {
		m := &sse.Message{Type: sse.Type(EventProgress)}
		m.AppendData(strconv.Itoa(i))
		h.publishProgress(m)
	}
	got := <-c.progress
	if !strings.Contains(got.String(), "data: 2") {
		t.Errorf("progress = %q, want the newest (2)", got.String())
	}
	select {
	case m := <-c.progress:
		t.Errorf("stale progress %q left over", m.String())
	default:
	}
}

func TestServeHeartbeatAndClose(t *testing.T) {
	t.Parallel()
	h, srv := testHub(t, Config{Heartbeat: 20 * time.Millisecond})
	lines, stop := get(t, srv.URL, "")
	defer stop()
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if lines.Text() == ": heartbeat" {
			break
		}
	}
	// Before any run: a phase event IDLE without id comes first.
	if len(seen) < 2 || seen[0] != "event: phase" || !strings.Contains(seen[1], `"phase":"IDLE"`) {
		t.Fatalf("stream began with %q, want an IDLE phase event", seen)
	}
	h.Close()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for lines.Scan() { // until the server ends the stream
		}
	}()
	select {
	case <-ended:
	case <-time.After(waitTimeout):
		stop()
		<-ended
		t.Fatal("Close did not end the stream")
	}
}

// TestIdleLongerThanWriteTimeout checks that the write deadline covers
// writes only: a stream idle for longer stays open.
func TestIdleLongerThanWriteTimeout(t *testing.T) {
	t.Parallel()
	_, srv := testHub(t, Config{Heartbeat: 100 * time.Millisecond, WriteTimeout: 20 * time.Millisecond})
	lines, stop := get(t, srv.URL, "")
	defer stop()
	beats := 0
	for beats < 3 && lines.Scan() {
		if lines.Text() == ": heartbeat" {
			beats++
		}
	}
	if beats < 3 {
		t.Fatalf("stream ended after %d heartbeats: %v", beats, lines.Err())
	}
}

func TestServeAfterCloseRefuses(t *testing.T) {
	t.Parallel()
	h, srv := testHub(t, Config{})
	h.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status after Close = %d, want 503", resp.StatusCode)
	}
}

func TestManyClients(t *testing.T) {
	t.Parallel()
	const clients = 200
	h, srv := testHub(t, Config{})
	h.publishPhase(1, phase(1, events.PhaseGenerating))

	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for range clients {
		lines, stop := get(t, srv.URL, "")
		wg.Go(func() {
			defer stop()
			var ids []string
			for lines.Scan() && len(ids) < 2 {
				if id, ok := strings.CutPrefix(lines.Text(), "id: "); ok {
					ids = append(ids, id)
				}
			}
			if strings.Join(ids, ",") != "1,2" {
				errs <- "got ids " + strings.Join(ids, ",")
			}
		})
	}
	deadline := time.Now().Add(waitTimeout)
	for h.Clients() < clients && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // polling with a deadline
	}
	h.publishPhase(2, phase(2, events.PhaseEnqueueVIP))
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestFollowsStream runs the hub against real JetStream: it reads back no
// more than History events, and replays from them.
func TestFollowsStream(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)
	nc, err := nats.Connect(stack.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamControl, Subjects: []string{events.SubjectPhase}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	publish := func(i int) {
		data, _ := json.Marshal(events.PhaseEvent{RunID: "r" + strconv.Itoa(i), Phase: events.PhaseDone})
		if _, err := js.Publish(ctx, events.SubjectPhase, data); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 10; i++ {
		publish(i)
	}

	h, srv := testHub(t, Config{JetStream: js, History: 4})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	publish(11)
	deadline := time.Now().Add(waitTimeout)
	for {
		h.mu.Lock()
		last := h.lastSeq
		h.mu.Unlock()
		if last == 11 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub at sequence %d, want 11", last)
		}
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // polling with a deadline
	}
	_, replay := h.subscribe("0")
	var ids []string
	for _, m := range replay {
		ids = append(ids, m.ID.String())
	}
	if strings.Join(ids, ",") != "8,9,10,11" {
		t.Errorf("replay = %v, want the last 4 events, 8 to 11", ids)
	}
	lines, stop := get(t, srv.URL, "10")
	defer stop()
	for lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "id: "); ok {
			if id != "11" {
				t.Errorf("replay after 10 began with %s, want 11", id)
			}
			break
		}
	}
}

// BenchmarkPublishPhase fans a phase event out to 200 clients (and takes
// it out of their buffers, as their handlers would).
func BenchmarkPublishPhase(b *testing.B) {
	h := NewHub(Config{})
	clients := make([]*client, 200)
	for i := range clients {
		clients[i], _ = h.subscribe("")
	}
	m := phase(1, events.PhaseGenerating)
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		h.publishPhase(i, m)
		for _, c := range clients {
			<-c.phases
		}
	}
}

func BenchmarkPublishProgress(b *testing.B) {
	h := NewHub(Config{})
	for range 200 {
		h.subscribe("")
	}
	m := &sse.Message{Type: sse.Type(EventProgress)}
	m.AppendData(`{"phase":"GENERATING"}`)
	b.ReportAllocs()
	for b.Loop() {
		h.publishProgress(m)
	}
}
