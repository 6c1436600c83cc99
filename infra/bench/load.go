package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load of the issue: GET /pedidos at 200 requests/s and 200 SSE
// clients, from a second process.
const (
	defaultLoadRPS = 200
	defaultLoadSSE = 200
	// loadMaxInFlight bounds the GETs awaiting their answer; a slot of the
	// schedule that finds them all busy is counted as dropped, not sent.
	loadMaxInFlight = 2000
	// loadRequestTimeout bounds one GET.
	loadRequestTimeout = 10 * time.Second
	// loadConnectTimeout bounds the wait for every SSE client to connect.
	loadConnectTimeout = 30 * time.Second
	// loadErrorSamples is how many distinct error messages are kept.
	loadErrorSamples = 5
)

// loadResult is what the load generator measured.
type loadResult struct {
	RPS int `json:"rps"`
	// Duration is how long the GET schedule ran.
	Duration ms `json:"durationMs"`
	// Requests were sent; OK answered 200; Errors did not; Dropped are
	// slots of the schedule skipped because loadMaxInFlight GETs were busy.
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	Errors   int64 `json:"errors"`
	Dropped  int64 `json:"dropped"`
	// Latencies of the answered GETs, from the time the schedule said to
	// send them (open loop: a late send counts against the server).
	P50          ms       `json:"p50Ms"`
	P99          ms       `json:"p99Ms"`
	Max          ms       `json:"maxMs"`
	ErrorSamples []string `json:"errorSamples,omitempty"`
	// SSE clients: asked for, connected, events received in all, and
	// connections refused or lost before the end.
	SSEClients   int   `json:"sseClients"`
	SSEConnected int   `json:"sseConnected"`
	SSEEvents    int64 `json:"sseEvents"`
	SSEErrors    int64 `json:"sseErrors"`
}

// loadReady is the first line the load generator prints.
type loadReady struct {
	SSEConnected int `json:"sseConnected"`
}

// runLoad is the load subcommand: it opens the SSE clients, prints a
// loadReady line, sends GETs on a fixed schedule until stdin is closed (or
// -duration, or a signal), then prints a loadResult line.
func runLoad(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "base `URL` of the API, e.g. http://127.0.0.1:3000")
	rps := fs.Int("rps", defaultLoadRPS, "GET /pedidos per second")
	clients := fs.Int("sse", defaultLoadSSE, "SSE clients on /pedidos/events")
	duration := fs.Duration("duration", 30*time.Minute, "stop after this long at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *rps < 0 || *clients < 0 || *duration <= 0 {
		return errors.New("load: want -url, -rps ≥ 0, -sse ≥ 0 and -duration > 0")
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()

	sseCtx, stopSSE := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSSE()
	sse := &sseClients{url: *base + "/pedidos/events"}
	res := loadResult{RPS: *rps, SSEClients: *clients}
	res.SSEConnected = sse.open(sseCtx, *clients)
	if err := json.NewEncoder(stdout).Encode(loadReady{SSEConnected: res.SSEConnected}); err != nil {
		return fmt.Errorf("writing the ready line: %w", err)
	}

	g := &getter{url: *base + "/pedidos", client: &http.Client{
		Timeout:   loadRequestTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: loadMaxInFlight},
	}}
	began := time.Now()
	g.schedule(ctx, *rps)
	res.Duration = ms(time.Since(began))
	g.client.CloseIdleConnections()
	stopSSE()
	sse.wg.Wait()
	if sse.client != nil {
		sse.client.CloseIdleConnections()
	}
	g.fill(&res)
	res.SSEEvents, res.SSEErrors = sse.events.Load(), sse.errors.Load()
	return json.NewEncoder(stdout).Encode(res)
}

// getter sends GET requests on a fixed schedule and records their fate.
type getter struct {
	url    string
	client *http.Client

	inFlight atomic.Int64
	wg       sync.WaitGroup

	mu        sync.Mutex
	latencies []time.Duration
	requests  int64
	errors    int64
	dropped   int64
	samples   []string
}

// schedule sends rps GETs a second, each at its slot whatever the answers
// of the previous ones, until ctx is done; then waits for those in flight.
// With rps 0 it sends none and only waits.
func (g *getter) schedule(ctx context.Context, rps int) {
	if rps == 0 {
		<-ctx.Done()
		return
	}
	interval := time.Second / time.Duration(rps)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	reqCtx := context.WithoutCancel(ctx) // in-flight GETs finish after the stop
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			g.wg.Wait()
			return
		case <-timer.C:
		}
		if g.inFlight.Load() >= loadMaxInFlight {
			g.mu.Lock()
			g.dropped++
			g.mu.Unlock()
			continue
		}
		g.inFlight.Add(1)
		g.wg.Go(func() {
			defer g.inFlight.Add(-1)
			g.record(at, g.get(reqCtx))
		})
	}
}

// get sends one GET and reads its answer.
func (g *getter) get(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /pedidos: %s", resp.Status)
	}
	return nil
}

func (g *getter) record(at time.Time, err error) {
	latency := time.Since(at)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if err == nil {
		g.latencies = append(g.latencies, latency)
		return
	}
	g.errors++
	if msg := err.Error(); len(g.samples) < loadErrorSamples && !slices.Contains(g.samples, msg) {
		g.samples = append(g.samples, msg)
	}
}

// fill writes the figures of the GETs into res.
func (g *getter) fill(res *loadResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	slices.Sort(g.latencies)
	res.Requests, res.Errors, res.Dropped = g.requests, g.errors, g.dropped
	res.OK = int64(len(g.latencies))
	res.P50 = ms(percentile(g.latencies, 50))
	res.P99 = ms(percentile(g.latencies, 99))
	res.Max = ms(percentile(g.latencies, 100))
	res.ErrorSamples = g.samples
}

// sseClients holds connections to the event stream and counts what they
// receive.
type sseClients struct {
	url    string
	client *http.Client // set by open
	wg     sync.WaitGroup
	events atomic.Int64
	errors atomic.Int64
}

// open connects n clients and returns how many were connected within
// loadConnectTimeout. They read until ctx is done.
func (s *sseClients) open(ctx context.Context, n int) int {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	s.client = client
	connected := make(chan bool, n)
	for range n {
		s.wg.Go(func() { s.follow(ctx, client, connected) })
	}
	timeout := time.NewTimer(loadConnectTimeout)
	defer timeout.Stop()
	ok := 0
	for range n {
		select {
		case c := <-connected:
			if c {
				ok++
			}
		case <-timeout.C:
			return ok
		}
	}
	return ok
}

// follow is one SSE client: it reports on connected whether it connected,
// then counts the events it reads until ctx is done.
func (s *sseClients) follow(ctx context.Context, client *http.Client, connected chan<- bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, http.NoBody)
	if err != nil {
		s.errors.Add(1)
		connected <- false
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		s.errors.Add(1)
		connected <- false
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		s.errors.Add(1)
		connected <- false
		return
	}
	connected <- true
	s.events.Add(countEvents(bufio.NewReader(resp.Body)))
	if ctx.Err() == nil {
		s.errors.Add(1) // lost before the end
	}
}

// countEvents counts the events of an SSE stream until it ends: each blank
// line that closes at least one data line.
func countEvents(r *bufio.Reader) int64 {
	var n int64
	data := false
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			switch line = bytes.TrimRight(line, "\r\n"); {
			case len(line) == 0 && data:
				n++
				data = false
			case bytes.HasPrefix(line, []byte("data:")):
				data = true
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a long data line: its head was seen
		}
		if err != nil {
			return n
		}
	}
}

// loadProc is the load generator running as a second process.
type loadProc struct {
	c        *child
	finished bool
}

// startLoad starts this binary's load subcommand against base and waits
// until its SSE clients are connected.
func (h *harness) startLoad(ctx context.Context, base string, n int64, dir string) (*loadProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("starting the load generator: %w", err)
	}
	c, err := startChild(childSpec{
		name: "load generator",
		path: exe,
		args: []string{"load", "-url", base, "-rps", strconv.Itoa(h.opts.loadRPS),
			"-sse", strconv.Itoa(h.opts.loadSSE), "-duration", h.runTimeout(n).String()},
		logPath:    filepath.Join(dir, "load.log"),
		readStdout: true,
	})
	if err != nil {
		return nil, err
	}
	l := &loadProc{c: c}
	line, err := c.readLine(ctx, loadConnectTimeout+10*time.Second)
	if err != nil {
		return nil, errors.Join(err, l.kill())
	}
	var ready loadReady
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		return nil, errors.Join(fmt.Errorf("load generator: ready line %q: %w", line, err), l.kill())
	}
	h.log.InfoContext(ctx, "load generator ready", slog.Any("sse_connected", ready.SSEConnected), slog.Any("sse", h.opts.loadSSE), slog.Any("rps", h.opts.loadRPS))
	return l, nil
}

// finish stops the load and returns what it measured.
func (l *loadProc) finish(ctx context.Context) (*loadResult, error) {
	if err := l.c.stdin.Close(); err != nil {
		return nil, fmt.Errorf("stopping the load generator: %w", err)
	}
	line, err := l.c.readLine(ctx, loadRequestTimeout+30*time.Second)
	if err != nil {
		return nil, errors.Join(err, l.kill())
	}
	var res loadResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return nil, errors.Join(fmt.Errorf("load generator: result line %q: %w", line, err), l.kill())
	}
	return &res, l.kill()
}

// kill stops the load generator; after the first call it does nothing.
func (l *loadProc) kill() error {
	if l.finished {
		return nil
	}
	l.finished = true
	return l.c.stop(10 * time.Second)
}
