package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/services/api"
)

// These tests speak Engine.IO 4 and Socket.IO v5 packets over HTTP long
// polling by hand, as socket.io-client 4 does (infra/pedidos runs the real
// client, over both transports): a handshake GET, the namespace CONNECT
// POSTed, then GETs that each return the packets queued, separated by
// 0x1e.

// sioSession is one socket.io client of the api, over long polling. A
// goroutine polls until the session or the test ends.
type sioSession struct {
	e   *testEnv
	url string // .../socket.io/?EIO=4&transport=polling&sid=…
	in  chan sioPacket
	// events are the events received so far, in order; acks the
	// acknowledgements, by id.
	events []sioEvent
	acks   map[int]json.RawMessage
}

type sioEvent struct {
	name string
	data json.RawMessage
}

// sioPacket is an event or an ack received.
type sioPacket struct {
	event sioEvent
	ack   int // > 0 for an ack
	data  json.RawMessage
}

// handshake is the Engine.IO open packet's data.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// sioConnect opens a session at root + "/socket.io/", connects to the
// default namespace and starts polling.
func (e *testEnv) sioConnect(root string) (*sioSession, handshake) {
	e.t.Helper()
	base := root + "/socket.io/?EIO=4&transport=polling"
	code, body := e.rawRequest(http.MethodGet, base, "", nil)
	if code != http.StatusOK || !strings.HasPrefix(body, "0") {
		e.t.Fatalf("handshake GET %s = %d %q, want 200 and an open packet", base, code, body)
	}
	var hs handshake
	if err := json.Unmarshal([]byte(body[1:]), &hs); err != nil {
		e.t.Fatalf("open packet %q: %v", body, err)
	}
	s := &sioSession{e: e, url: base + "&sid=" + hs.SID, in: make(chan sioPacket, 256), acks: map[int]json.RawMessage{}}
	s.send("40")
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.pollUntilEnd()
	}()
	e.t.Cleanup(func() { <-done }) // the test's context ends its requests
	return s, hs
}

// rawRequest sends one request to url and returns the status and body;
// an error of the transport is a status 0 (the test ended).
func (e *testEnv) rawRequest(method, url, body string, header http.Header) (int, string) {
	req, err := http.NewRequestWithContext(e.t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// send POSTs Engine.IO packets.
func (s *sioSession) send(packets ...string) {
	s.e.t.Helper()
	if code, body := s.e.rawRequest(http.MethodPost, s.url, strings.Join(packets, "\x1e"), nil); code != http.StatusOK || body != "ok" {
		s.e.t.Fatalf("POST %v = %d %q", packets, code, body)
	}
}

// pollUntilEnd GETs the packets waiting, again and again, and hands the
// events and acks to s.in; it answers pings. Each GET returns as soon as
// anything is queued, or at the next ping. It returns when a GET fails:
// the session or the test ended.
func (s *sioSession) pollUntilEnd() {
	defer close(s.in)
	for {
		code, body := s.e.rawRequest(http.MethodGet, s.url, "", nil)
		if code != http.StatusOK {
			return
		}
		for p := range strings.SplitSeq(body, "\x1e") {
			switch p {
			case "1": // close: the server ended the session
				return
			case "2": // ping
				_, _ = s.e.rawRequest(http.MethodPost, s.url, "3", nil)
				continue
			}
			pk, err := parsePacket(p)
			if err != nil {
				s.e.t.Error(err)
				return
			}
			if pk != nil {
				s.in <- *pk
			}
		}
	}
}

// parsePacket parses an Engine.IO message packet carrying a Socket.IO
// event (42[name, data]) or ack (43<id>[data]); it returns nil for a
// namespace CONNECT (40).
func parsePacket(p string) (*sioPacket, error) {
	switch {
	case strings.HasPrefix(p, "40"):
		return nil, nil
	case strings.HasPrefix(p, "42"):
		var args []json.RawMessage
		if err := json.Unmarshal([]byte(p[2:]), &args); err != nil {
			return nil, fmt.Errorf("event packet %q: %w", p, err)
		}
		if len(args) != 2 {
			return nil, fmt.Errorf("event packet %q: want a name and one argument", p)
		}
		var name string
		if err := json.Unmarshal(args[0], &name); err != nil {
			return nil, fmt.Errorf("event packet %q: %w", p, err)
		}
		return &sioPacket{event: sioEvent{name: name, data: args[1]}}, nil
	case strings.HasPrefix(p, "43"):
		i := strings.IndexByte(p, '[')
		if i < 0 {
			return nil, fmt.Errorf("ack packet %q", p)
		}
		id, err := strconv.Atoi(p[2:i])
		var args []json.RawMessage
		if err != nil || id <= 0 || json.Unmarshal([]byte(p[i:]), &args) != nil || len(args) != 1 {
			return nil, fmt.Errorf("ack packet %q", p)
		}
		return &sioPacket{ack: id, data: args[0]}, nil
	}
	return nil, fmt.Errorf("unexpected packet %q", p)
}

// take takes in what the poller received, waiting up to wait for more.
func (s *sioSession) take(wait time.Duration) {
	s.e.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case pk, ok := <-s.in:
			if !ok {
				s.e.t.Fatal("the session ended")
			}
			if pk.ack > 0 {
				s.acks[pk.ack] = pk.data
			} else {
				s.events = append(s.events, pk.event)
			}
			if len(s.in) == 0 {
				return
			}
		case <-timer.C:
			return
		}
	}
}

// await takes packets in until ok holds for an event received, and
// returns it.
func (s *sioSession) await(what string, ok func(sioEvent) bool) sioEvent {
	s.e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, ev := range s.events {
			if ok(ev) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			s.e.t.Fatalf("no %s in the %d events received", what, len(s.events))
		}
		s.take(100 * time.Millisecond)
	}
}

// awaitAck takes packets in until the ack of id came, and returns it.
func (s *sioSession) awaitAck(id int) json.RawMessage {
	s.e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for s.acks[id] == nil {
		if time.Now().After(deadline) {
			s.e.t.Fatalf("no ack %d", id)
		}
		s.take(100 * time.Millisecond)
	}
	return s.acks[id]
}

// statusEvent is the part of a status event the tests read.
type statusEvent struct {
	Version    int             `json:"version"`
	MonoMs     *int64          `json:"monoMs"`
	Timestamp  int64           `json:"timestamp"`
	Message    string          `json:"message"`
	Phase      events.Phase    `json:"phase"`
	Previous   *events.Phase   `json:"previous"`
	RunID      *string         `json:"runId"`
	Target     int64           `json:"target"`
	Processing json.RawMessage `json:"processing"`
	Counts     *struct {
		VIP    int64 `json:"vip"`
		Normal int64 `json:"normal"`
	} `json:"counts"`
}

func decodeStatus(t *testing.T, data json.RawMessage) statusEvent {
	t.Helper()
	var st statusEvent
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("status %s: %v", data, err)
	}
	if st.Version != 2 || st.MonoMs == nil || st.Timestamp <= 0 || st.Message == "" || st.Phase == "" ||
		st.Processing == nil || st.Counts == nil {
		t.Errorf("status %s lacks what the original's clients read (version 2, monoMs, timestamp, message, phase, "+
			"processing, counts)", data)
	}
	return st
}

func TestSocketIOEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	kv := e.createControlResources()
	e.waitReady()
	root := strings.TrimSuffix(e.base, "/pedidos")

	s, hs := e.sioConnect(root)
	if hs.SID == "" || strings.Join(hs.Upgrades, ",") != "websocket" || hs.PingInterval != 25000 || hs.PingTimeout != 20000 {
		t.Errorf("handshake = %+v, want a sid, the websocket upgrade, a ping every 25 s within 20 s", hs)
	}
	hello := s.await("connected", func(ev sioEvent) bool { return ev.name == "connected" })
	if s.events[0].name != "connected" {
		t.Errorf("first event %s, want connected", s.events[0].name)
	}
	var c struct {
		Message   string `json:"message"`
		Timestamp int64  `json:"timestamp"`
		ClientID  string `json:"clientId"`
	}
	if err := json.Unmarshal(hello.data, &c); err != nil || c.Message == "" || c.ClientID == "" ||
		time.Since(time.UnixMilli(c.Timestamp)).Abs() > time.Minute {
		t.Errorf("connected = %s, want {message, timestamp (Unix ms), clientId}", hello.data)
	}
	first := decodeStatus(t, s.await("the current status", func(ev sioEvent) bool { return ev.name == "status" }).data)
	if first.Phase != events.PhaseIdle || first.RunID != nil {
		t.Errorf("status on connect = %+v, want IDLE before any run", first)
	}

	// A run starts: control records it and announces the phase.
	now := time.Now().UTC()
	putJSON(t, kv, events.KeyRun, events.Run{ID: "r1", Quantity: 500, Phase: events.PhaseGenerating, StartedAt: now,
		Timeline: []events.PhaseMark{{Phase: events.PhaseGenerating, At: now}}})
	e.setCounters("r1", events.RunCounters{Processed: events.ByPriority{VIP: 7}})
	e.publishPhase(events.PhaseEvent{RunID: "r1", Phase: events.PhaseGenerating, Previous: events.PhaseIdle, At: now})
	change := decodeStatus(t, s.await("the GENERATING status", func(ev sioEvent) bool {
		return ev.name == "status" && strings.Contains(string(ev.data), `"GENERATING"`)
	}).data)
	if change.Previous == nil || *change.Previous != events.PhaseIdle || change.RunID == nil || *change.RunID != "r1" {
		t.Errorf("status of the phase change = %+v, want run r1, previous IDLE", change)
	}

	// While it runs: progress events, and status ones.
	var p struct {
		Version  int          `json:"version"`
		Phase    events.Phase `json:"phase"`
		Total    int64        `json:"total"`
		Current  int64        `json:"current"`
		VIP      int64        `json:"vipProcessed"`
		Progress *float64     `json:"progress"`
		Message  string       `json:"message"`
		RunID    string       `json:"runId"`
	}
	ev := s.await("a progress event counting the VIP orders", func(ev sioEvent) bool {
		return ev.name == "progress" && json.Unmarshal(ev.data, &p) == nil && p.VIP == 7
	})
	if p.Version != 2 || p.Phase != events.PhaseGenerating || p.Total != 500 || p.Current != 7 || p.Progress == nil ||
		p.Message == "" || p.RunID != "r1" {
		t.Errorf("progress = %s", ev.data)
	}
	// The status of the phase change came before the counters: the
	// periodic ones that follow count the VIP orders.
	periodic := decodeStatus(t, s.await("a status with the run's target and counts", func(ev sioEvent) bool {
		var st statusEvent
		return ev.name == "status" && strings.Contains(string(ev.data), `"target":500`) &&
			json.Unmarshal(ev.data, &st) == nil && st.Counts != nil && st.Counts.VIP == 7
	}).data)
	if periodic.Phase != events.PhaseGenerating || periodic.Counts.VIP != 7 {
		t.Errorf("status during the run = %+v", periodic)
	}

	// Client messages: get-status is answered, the others acknowledged
	// only.
	s.send(`421["get-status"]`, `422["start-generation",{"quantity":10}]`)
	if st := decodeStatus(t, s.awaitAck(1)); st.Phase != events.PhaseGenerating {
		t.Errorf("get-status acknowledged with %+v", st)
	}
	var refused struct {
		Acknowledged, Performed bool
		Message                 string
	}
	if err := json.Unmarshal(s.awaitAck(2), &refused); err != nil || !refused.Acknowledged || refused.Performed || refused.Message == "" {
		t.Errorf("start-generation acknowledged with %s, want acknowledged, not performed", s.acks[2])
	}
	if st := e.status(); st.RunID == nil || *st.RunID != "r1" {
		t.Errorf("after start-generation, GET /pedidos = %+v: a message must start nothing", st)
	}
}

func TestSocketIOLogEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(e.withLogs())
	s, _ := e.sioConnect(strings.TrimSuffix(e.base, "/pedidos"))
	s.await("connected", func(ev sioEvent) bool { return ev.name == "connected" })

	var l struct {
		Timestamp int64          `json:"timestamp"`
		Level     string         `json:"level"`
		Message   string         `json:"message"`
		Category  string         `json:"category"`
		Data      map[string]any `json:"data"`
	}
	// writeLogs logs one line per level; only warnings and errors are
	// events. The hub follows the stream from when it started: log until
	// a line arrives.
	i := 0
	eventually(t, func() error {
		e.writeLogs("processor", fmt.Sprintf("slow write %d", i))
		i++
		s.take(50 * time.Millisecond)
		for _, ev := range s.events {
			if ev.name == "log" && json.Unmarshal(ev.data, &l) == nil && l.Level == "warn" {
				return nil
			}
		}
		return errors.New("no log event yet")
	})
	if !strings.HasPrefix(l.Message, "slow write") || l.Category != "processor" || l.Data["n"] != float64(2) ||
		time.Since(time.UnixMilli(l.Timestamp)).Abs() > time.Minute {
		t.Errorf("log event = %+v, want {timestamp (Unix ms), level warn, message, category processor, data}", l)
	}
	for _, ev := range s.events {
		if ev.name == "log" && strings.Contains(string(ev.data), `"level":"info"`) {
			t.Errorf("info line sent as a log event: %s", ev.data)
		}
	}
}

func TestSocketIORefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(func(c *api.Config) { c.CORSOrigins = []string{"http://dashboard.example"} })
	root := strings.TrimSuffix(e.base, "/pedidos")
	for _, tt := range []struct {
		name, method, query string
		status              int
		msg                 string
	}{
		{"Engine.IO 3", http.MethodGet, "EIO=3&transport=polling", http.StatusBadRequest, "EIO must be 4"},
		{"no version", http.MethodGet, "transport=polling", http.StatusBadRequest, "EIO must be 4"},
		{"unknown transport", http.MethodGet, "EIO=4&transport=flashsocket", http.StatusBadRequest, "transport must be"},
		{"unknown session", http.MethodGet, "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", http.StatusBadRequest, "Session ID unknown"},
		{"handshake by POST", http.MethodPost, "EIO=4&transport=polling", http.StatusBadRequest, "Bad handshake method"},
		{"malformed query", http.MethodGet, "EIO=4&transport=polling&%zz", http.StatusBadRequest, "malformed query string"},
	} {
		code, body := e.rawRequest(tt.method, root+"/socket.io/?"+tt.query, "", nil)
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, code, []byte(body), tt.status, tt.msg)
		})
	}

	// CORS as the API's: an origin CORS_ORIGINS does not allow is refused,
	// an allowed one is answered with its header, preflights are answered.
	handshake := root + "/socket.io/?EIO=4&transport=polling"
	code, body := e.rawRequest(http.MethodGet, handshake, "", http.Header{"Origin": {"http://elsewhere.example"}})
	assertError(t, code, []byte(body), http.StatusForbidden, "origin not allowed")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, handshake, nil)
	req.Header.Set("Origin", "http://dashboard.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "http://dashboard.example" ||
		!strings.HasPrefix(string(b), "0{") {
		t.Errorf("handshake from an allowed origin = %d %v %q", resp.StatusCode, resp.Header, b)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodOptions, handshake+"&sid=x", nil)
	req.Header.Set("Origin", "http://dashboard.example")
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "Content-Type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://dashboard.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), http.MethodPost) {
		t.Errorf("preflight = %d %v, want 204 allowing POST", resp.StatusCode, resp.Header)
	}
}

func TestSocketIOUnderPathPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI(func(c *api.Config) { c.PathPrefix = "/ops" })
	root := strings.TrimSuffix(e.base, "/pedidos")
	e.base = root + "/ops/pedidos"
	s, _ := e.sioConnect(root + "/ops")
	s.await("connected", func(ev sioEvent) bool { return ev.name == "connected" })
	code, body := e.rawRequest(http.MethodGet, root+"/socket.io/?EIO=4&transport=polling", "", nil)
	assertError(t, code, []byte(body), http.StatusNotFound, "Cannot GET /socket.io")
}

// TestSocketIOShutdown checks that a long-polling request does not hold
// the api's shutdown, nor does a connection that has sent no request (as
// a browser's preconnect leaves): the poll is ended at once, the unused
// connection closed, and Run returns.
func TestSocketIOShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- api.Run(ctx, api.Config{Listener: ln, NATSURL: e.stack.NATSURL, MongoURI: e.stack.MongoURI,
			RedisURL: e.stack.RedisURL, Logger: testLogger(t)})
	}()
	root := "http://" + ln.Addr().String()
	e.base = root + "/pedidos"
	e.waitLive()
	s, _ := e.sioConnect(root)
	s.await("the current status", func(ev sioEvent) bool { return ev.name == "status" })

	// The session's GET now waits at the server, with nothing to return
	// until the next ping, 25 s away.
	select {
	case pk, ok := <-s.in:
		t.Fatalf("the long poll returned at once (%v, %+v), with nothing to send", ok, pk)
	case <-time.After(300 * time.Millisecond):
	}
	var d net.Dialer
	unused, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unused.Close() }()
	start := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v with a long poll and an unused connection open, want them ended at once", d)
	}
	for range s.in { // until the poller's GET failed: the session ended
	}
}

// waitLive waits until the api answers its liveness probe.
func (e *testEnv) waitLive() {
	e.t.Helper()
	eventually(e.t, func() error {
		req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.base+"/health/live", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("live = %d", resp.StatusCode)
		}
		return nil
	})
}
