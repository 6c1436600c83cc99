package sse

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/logs"
)

// TestListenerTakesWhatClientsTake runs a hub against real JetStream with a
// listener and no SSE client: the listener gets the phase events the hub
// follows, with their sequence, and the WARN and ERROR lines; it gets
// progress snapshots only while it wants them, and none after it stopped.
func TestListenerTakesWhatClientsTake(t *testing.T) {
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

	var snapshots atomic.Int64
	h := NewHub(Config{
		JetStream: js,
		Active:    func() bool { return true },
		Progress: func(context.Context) ([]byte, error) {
			return []byte(`{"n":` + strconv.FormatInt(snapshots.Add(1), 10) + `}`), nil
		},
		ProgressInterval: 5 * time.Millisecond,
	})
	var (
		wants    atomic.Bool
		mu       sync.Mutex
		phases   []uint64
		progress [][]byte
		lines    []logs.Line
	)
	stop := h.Listen(Listener{
		Phase: func(seq uint64, ev *events.PhaseEvent) {
			mu.Lock()
			defer mu.Unlock()
			if ev.RunID == "r" && ev.Phase == events.PhaseGenerating {
				phases = append(phases, seq)
			}
		},
		Progress: func(data []byte) {
			mu.Lock()
			defer mu.Unlock()
			progress = append(progress, data)
		},
		Log: func(l logs.Line) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, l)
		},
		Wants: wants.Load,
	})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	data, _ := json.Marshal(events.PhaseEvent{RunID: "r", Phase: events.PhaseGenerating})
	ack, err := js.Publish(ctx, events.SubjectPhase, data)
	if err != nil {
		t.Fatal(err)
	}
	h.publishLog(logs.Line{Time: time.Now(), Level: slog.LevelWarn, Process: "control", Msg: "slow"})
	waitFor(t, "the phase event and the log line", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(phases) == 1 && len(lines) == 1
	})
	mu.Lock()
	if phases[0] != ack.Sequence || lines[0].Msg != "slow" || len(progress) != 0 {
		t.Errorf("listener got phases %v (want [%d]), lines %+v, %d progress events while it wanted none",
			phases, ack.Sequence, lines, len(progress))
	}
	if n := snapshots.Load(); n != 0 {
		t.Errorf("the hub took %d progress snapshots with no client and no listener wanting them", n)
	}
	mu.Unlock()
	if n := h.Clients(); n != 0 {
		t.Errorf("Clients() = %d with one listener, want 0", n)
	}

	wants.Store(true)
	waitFor(t, "progress events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(progress) >= 3
	})
	stop()
	mu.Lock()
	got := len(progress)
	mu.Unlock()
	taken := snapshots.Load()
	h.publishLog(logs.Line{Time: time.Now(), Level: slog.LevelError, Process: "control", Msg: "after stop"})
	// For twenty ticks: one snapshot may have been in flight when stop
	// returned, no more.
	for deadline := time.Now().Add(20 * 5 * time.Millisecond); time.Now().Before(deadline); {
		mu.Lock()
		more, logged := len(progress)-got, len(lines)-1
		mu.Unlock()
		if n := snapshots.Load() - taken; n > 1 || more > 1 || logged != 0 {
			t.Fatalf("after stop the hub took %d snapshots, and the listener got %d more progress events and %d log lines",
				n, more, logged)
		}
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // checking that nothing happens for a while
	}
}

// waitFor polls ok until it holds, for at most waitTimeout.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // polling with a deadline
	}
}
