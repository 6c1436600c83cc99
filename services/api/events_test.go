package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tmaxmax/go-sse"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
)

// received is an SSE event and when it arrived.
type received struct {
	sse.Event
	at time.Time
}

// stream is a client of GET /pedidos/events.
type stream struct {
	t      *testing.T
	events chan received
	cancel context.CancelFunc
	done   chan struct{}
}

// connect opens the event stream, with a Last-Event-ID when lastID is set.
func (e *testEnv) connect(lastID string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		e.t.Fatalf("GET /events = %d %v", resp.StatusCode, resp.Header)
	}
	s := &stream{t: e.t, events: make(chan received, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer func() { _ = resp.Body.Close() }()
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				return
			}
			select {
			case s.events <- received{Event: ev, at: time.Now()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	e.t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event of type typ, skipping others.
func (s *stream) next(typ string) received {
	s.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-s.events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s event within %s", typ, waitTimeout)
		}
	}
}

// nextPhase returns the next phase event, decoded.
func (s *stream) nextPhase() (string, events.PhaseEvent) {
	s.t.Helper()
	ev := s.next("phase")
	var pe events.PhaseEvent
	if err := json.Unmarshal([]byte(ev.Data), &pe); err != nil {
		s.t.Fatalf("phase event %q: %v", ev.Data, err)
	}
	return ev.LastEventID, pe
}

// none checks that no event of type typ arrives within d.
func (s *stream) none(typ string, d time.Duration) {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-s.events:
			if ev.Type == typ {
				s.t.Fatalf("unexpected %s event %s", typ, ev.Data)
			}
		case <-timeout:
			return
		}
	}
}

// phaseEvent is a transition of run r1.
func phaseEvent(p, prev events.Phase) events.PhaseEvent {
	return events.PhaseEvent{RunID: "r1", Phase: p, Previous: prev, At: time.Now().UTC().Truncate(time.Millisecond)}
}

func TestEventsPhases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.createControlResources()
	seq1 := e.publishPhase(phaseEvent(events.PhaseGenerating, events.PhaseIdle))
	e.startAPI()

	// On connect the client first gets the current phase, with its id.
	eventually(t, func() error {
		s := e.connect("")
		defer s.close()
		id, pe := s.nextPhase()
		if id != strconv.FormatUint(seq1, 10) || pe.Phase != events.PhaseGenerating || pe.RunID != "r1" {
			return fmt.Errorf("first event = %s %+v, want %d GENERATING", id, pe, seq1)
		}
		return nil
	})
	s := e.connect("")
	if id, _ := s.nextPhase(); id != strconv.FormatUint(seq1, 10) {
		t.Fatalf("first event id = %s, want %d", id, seq1)
	}

	// Every transition follows, with its stream sequence as id.
	want := phaseEvent(events.PhaseEnqueueVIP, events.PhaseGenerating)
	want.Counts.Generated = events.ByPriority{VIP: 25, Normal: 75}
	seq2 := e.publishPhase(want)
	id, got := s.nextPhase()
	if id != strconv.FormatUint(seq2, 10) || got.Phase != want.Phase || got.Previous != want.Previous ||
		got.Counts != want.Counts || !got.At.Equal(want.At) {
		t.Fatalf("event = %s %+v, want %d %+v", id, got, seq2, want)
	}
	s.close()

	// A client that reconnects with Last-Event-ID gets exactly what it missed.
	seq3 := e.publishPhase(phaseEvent(events.PhaseWaitingVIPDrain, events.PhaseEnqueueVIP))
	seq4 := e.publishPhase(phaseEvent(events.PhaseEnqueueNormal, events.PhaseWaitingVIPDrain))
	s = e.connect(strconv.FormatUint(seq2, 10))
	for _, want := range []struct {
		seq   uint64
		phase events.Phase
	}{{seq3, events.PhaseWaitingVIPDrain}, {seq4, events.PhaseEnqueueNormal}} {
		id, got := s.nextPhase()
		if id != strconv.FormatUint(want.seq, 10) || got.Phase != want.phase {
			t.Fatalf("replayed %s %s, want %d %s", id, got.Phase, want.seq, want.phase)
		}
	}
	seq5 := e.publishPhase(phaseEvent(events.PhaseWaitingNormalDrain, events.PhaseEnqueueNormal))
	if id, got := s.nextPhase(); id != strconv.FormatUint(seq5, 10) || got.Phase != events.PhaseWaitingNormalDrain {
		t.Fatalf("after the replay got %s %s, want %d WAITING_NORMAL_DRAIN only", id, got.Phase, seq5)
	}

	// A client that saw everything gets nothing more on reconnect.
	s = e.connect(strconv.FormatUint(seq5, 10))
	s.none("phase", 300*time.Millisecond)
}

func TestEventsBeforeControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()

	// No stream yet: the client learns that nothing runs.
	s := e.connect("")
	id, pe := s.nextPhase()
	if id != "" || pe.Phase != events.PhaseIdle {
		t.Fatalf("first event = %q %+v, want IDLE without id", id, pe)
	}

	// Control starts later; its first event reaches the connected client.
	e.createControlResources()
	seq := e.publishPhase(phaseEvent(events.PhaseGenerating, events.PhaseIdle))
	id, pe = s.nextPhase()
	if id != strconv.FormatUint(seq, 10) || pe.Phase != events.PhaseGenerating {
		t.Fatalf("event = %q %+v, want %d GENERATING", id, pe, seq)
	}
}

func TestEventsProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	kv := e.createControlResources()
	e.startAPI()
	e.waitReady()

	start := time.Now().UTC()
	run := events.Run{ID: "run-p", Quantity: 100, Phase: events.PhaseGenerating, StartedAt: start,
		Timeline: []events.PhaseMark{{Phase: events.PhaseGenerating, At: start}}}
	putJSON(t, kv, events.KeyRun, run)
	s := e.connect("")

	// While the run is active, progress arrives every 250 ms with the status.
	var prev received
	const samples = 8
	for i := range samples {
		e.setCounters("run-p", events.RunCounters{Processed: events.ByPriority{VIP: int64(i)}})
		ev := s.next("progress")
		var st statusAnswer
		if err := json.Unmarshal([]byte(ev.Data), &st); err != nil {
			t.Fatalf("progress %q: %v", ev.Data, err)
		}
		if st.Phase != events.PhaseGenerating || *st.RunID != "run-p" || st.Progress.Target != 100 {
			t.Fatalf("progress = %+v, want the status of run-p", st)
		}
		if i > 0 {
			// 250 ms ticks; the slack covers scheduling under -race.
			if gap := ev.at.Sub(prev.at); gap > 250*time.Millisecond+150*time.Millisecond || gap < 100*time.Millisecond {
				t.Errorf("progress %d arrived %v after the previous one, want about 250ms", i, gap)
			}
		}
		prev = ev
	}

	// The run ends: one final progress event, then none.
	end := time.Now().UTC()
	run.Phase, run.FinishedAt = events.PhaseDone, &end
	putJSON(t, kv, events.KeyRun, run)
	for {
		ev := s.next("progress")
		var st statusAnswer
		if err := json.Unmarshal([]byte(ev.Data), &st); err != nil {
			t.Fatal(err)
		}
		if st.Phase == events.PhaseDone {
			if st.ETA.ProgressPercent != 100 {
				t.Errorf("final progress = %+v, want 100%%", st)
			}
			break
		}
	}
	s.none("progress", time.Second)
}

// TestEventsAfterStreamRecreated covers a reset that deletes and re-creates
// the CONTROL stream: the api follows the new stream, whose sequences start
// over.
func TestEventsAfterStreamRecreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.createControlResources()
	e.publishPhase(phaseEvent(events.PhaseGenerating, events.PhaseIdle))
	seq := e.publishPhase(phaseEvent(events.PhaseAborted, events.PhaseGenerating))
	e.startAPI()
	s := e.connect("")
	for {
		if id, _ := s.nextPhase(); id == strconv.FormatUint(seq, 10) {
			break
		}
	}

	if err := e.js.DeleteStream(t.Context(), events.StreamControl); err != nil {
		t.Fatal(err)
	}
	if err := e.js.DeleteKeyValue(t.Context(), events.BucketState); err != nil {
		t.Fatal(err)
	}
	e.createControlResources()
	ev := phaseEvent(events.PhaseGenerating, events.PhaseIdle)
	ev.RunID = "r2"
	if got := e.publishPhase(ev); got != 1 {
		t.Fatalf("first sequence of the new stream = %d, want 1", got)
	}
	if id, pe := s.nextPhase(); id != "1" || pe.RunID != "r2" {
		t.Fatalf("after the re-creation got %s %+v, want 1 r2", id, pe)
	}
	s2 := e.connect("")
	if id, pe := s2.nextPhase(); id != "1" || pe.RunID != "r2" {
		t.Fatalf("a new client got %s %+v, want the current phase 1 r2", id, pe)
	}
}
