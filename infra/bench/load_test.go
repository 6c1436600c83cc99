package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCountEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stream string
		want         int64
	}{
		{"empty", "", 0},
		{"two events", "id: 1\nevent: phase\ndata: {}\n\nevent: progress\ndata: {}\n\n", 2},
		{"multi-line data is one event", "data: a\ndata: b\n\n", 1},
		{"comments and blank lines are not events", ": heartbeat\n\n\n", 0},
		{"CRLF", "data: x\r\n\r\n", 1},
		{"unterminated last event", "data: x\n\ndata: y\n", 1},
		{"long line", "data: " + strings.Repeat("x", 10000) + "\n\n", 1},
	}
	for _, tt := range tests {
		r := bufio.NewReaderSize(strings.NewReader(tt.stream), 16)
		if got := countEvents(r); got != tt.want {
			t.Errorf("%s: countEvents = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// standInAPI is a stand-in for the API: GET /pedidos answers at once, the
// event stream sends an event every 5 ms. gets counts the GETs.
func standInAPI(t *testing.T, gets *atomic.Int64) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pedidos", func(w http.ResponseWriter, _ *http.Request) {
		gets.Add(1)
		_, _ = io.WriteString(w, `{"phase":"GENERATING"}`)
	})
	mux.HandleFunc("GET /pedidos/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "id: %d\ndata: {}\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// runLoadUntil runs the load subcommand with args against url until done
// says so (checked every 5 ms), then closes its stdin, and returns its
// ready and result lines.
func runLoadUntil(t *testing.T, args []string, done func() bool) (loadReady, loadResult) {
	t.Helper()
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	exited := make(chan error, 1)
	go func() {
		err := runLoad(ctx, args, stdinR, stdoutW, io.Discard)
		_ = stdoutW.CloseWithError(err)
		exited <- err
	}()
	out := bufio.NewScanner(stdoutR)
	var ready loadReady
	if !out.Scan() || json.Unmarshal(out.Bytes(), &ready) != nil {
		t.Fatalf("no ready line: %q %v", out.Text(), out.Err())
	}
	for !done() && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	_ = stdinW.Close()
	var res loadResult
	if !out.Scan() || json.Unmarshal(out.Bytes(), &res) != nil {
		t.Fatalf("no result line: %q %v", out.Text(), out.Err())
	}
	if err := <-exited; err != nil {
		t.Fatalf("runLoad: %v", err)
	}
	return ready, res
}

// TestLoadAgainstAServer runs the load subcommand against a stand-in API
// and checks that it sends GETs, holds its SSE clients, and reports both.
func TestLoadAgainstAServer(t *testing.T) {
	t.Parallel()
	var gets atomic.Int64
	srv := standInAPI(t, &gets)
	ready, res := runLoadUntil(t, []string{"-url", srv.URL, "-rps", "400", "-sse", "5"},
		func() bool { return gets.Load() >= 20 })
	if ready.SSEConnected != 5 {
		t.Errorf("ready: %d SSE clients connected, want 5", ready.SSEConnected)
	}
	if res.Requests < 20 || res.OK != res.Requests || res.Errors != 0 || res.Requests > gets.Load() {
		t.Errorf("GETs: %+v; server answered %d", res, gets.Load())
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("latencies p50 %v p99 %v max %v: want 0 < p50 ≤ p99 ≤ max", res.P50, res.P99, res.Max)
	}
	if res.SSEClients != 5 || res.SSEConnected != 5 || res.SSEEvents < 5 || res.SSEErrors != 0 {
		t.Errorf("SSE: %d of %d connected, %d events, %d lost; want 5 of 5, at least one event each, none lost",
			res.SSEConnected, res.SSEClients, res.SSEEvents, res.SSEErrors)
	}
}

// TestLoadOnlySSE runs the load subcommand with -rps 0: SSE clients only,
// and not one GET.
func TestLoadOnlySSE(t *testing.T) {
	t.Parallel()
	var gets atomic.Int64
	srv := standInAPI(t, &gets)
	began := time.Now()
	_, res := runLoadUntil(t, []string{"-url", srv.URL, "-rps", "0", "-sse", "3"},
		func() bool { return time.Since(began) > 200*time.Millisecond })
	if res.Requests != 0 || gets.Load() != 0 {
		t.Errorf("-rps 0 sent %d GETs (server saw %d), want none", res.Requests, gets.Load())
	}
	if res.SSEConnected != 3 || res.SSEEvents < 3 || res.SSEErrors != 0 {
		t.Errorf("SSE: %d of 3 connected, %d events, %d lost; want 3, at least one event each, none lost",
			res.SSEConnected, res.SSEEvents, res.SSEErrors)
	}
}
