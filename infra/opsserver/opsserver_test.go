package opsserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pedidos/pedidos/infra/opsserver"
)

func TestServerProbes(t *testing.T) {
	t.Parallel()
	ops := start(t, opsserver.Config{Addr: "127.0.0.1:0"})
	base := "http://" + ops.Addr().String()

	if code, r := get(t, base+opsserver.PathLive); code != http.StatusOK || r.Status != opsserver.StatusOK {
		t.Errorf("live = %d %+v, want 200 ok", code, r)
	}
	if code, r := get(t, base+opsserver.PathReady); code != http.StatusServiceUnavailable || r.Status != opsserver.StatusStarting {
		t.Errorf("ready before SetReady = %d %+v, want 503 starting", code, r)
	}

	down := errors.New("connection refused")
	ops.SetReady(
		opsserver.Check{Name: "nats", Check: func(context.Context) error { return nil }},
		opsserver.Check{Name: "mongo", Check: func(context.Context) error { return down }},
	)
	code, r := get(t, base+opsserver.PathReady)
	if code != http.StatusServiceUnavailable || r.Status != opsserver.StatusUnavailable ||
		r.Checks["nats"] != opsserver.StatusOK || r.Checks["mongo"] != down.Error() {
		t.Errorf("ready with mongo down = %d %+v, want 503 unavailable, nats ok, mongo %q", code, r, down)
	}

	ops.SetReady(opsserver.Check{Name: "nats", Check: func(context.Context) error { return nil }})
	if code, r := get(t, base+opsserver.PathReady); code != http.StatusOK || r.Status != opsserver.StatusOK || len(r.Checks) != 1 {
		t.Errorf("ready = %d %+v, want 200 ok with one check", code, r)
	}

	// What the metrics will be: added while the server runs.
	ops.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "pedidos_up 1\n")
	}))
	if body := getBody(t, base+"/metrics"); body != "pedidos_up 1\n" {
		t.Errorf("/metrics = %q", body)
	}

	if err := ops.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := ops.Stop(t.Context()); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	if err := opsserver.Probe(t.Context(), base+opsserver.PathLive); err == nil {
		t.Error("the server still answers after Stop")
	}
}

func TestReadyBoundsEachCheck(t *testing.T) {
	t.Parallel()
	ops := start(t, opsserver.Config{Addr: "127.0.0.1:0"})
	ops.SetReady(opsserver.Check{Name: "redis", Check: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	began := time.Now()
	code, r := get(t, "http://"+ops.Addr().String()+opsserver.PathReady)
	if took := time.Since(began); took > opsserver.CheckTimeout+time.Second {
		t.Errorf("ready took %s, want about %s", took, opsserver.CheckTimeout)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Checks["redis"], "deadline") {
		t.Errorf("ready with a hung check = %d %+v, want 503 and a deadline", code, r)
	}
}

func TestStartWithoutAddressServesNothing(t *testing.T) {
	t.Parallel()
	ops := start(t, opsserver.Config{})
	if ops.Addr() != nil {
		t.Errorf("Addr() = %v, want nil", ops.Addr())
	}
	ops.SetReady()
	if err := ops.Stop(t.Context()); err != nil {
		t.Errorf("Stop = %v", err)
	}
}

func TestStartReportsATakenPort(t *testing.T) {
	t.Parallel()
	taken := start(t, opsserver.Config{Addr: "127.0.0.1:0"})
	_, err := opsserver.Start(t.Context(), opsserver.Config{Addr: taken.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("Start on a taken port = %v, want an error naming the address", err)
	}
}

func TestStartServesAGivenListener(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops := start(t, opsserver.Config{Listener: ln})
	if ops.Addr().String() != ln.Addr().String() {
		t.Errorf("Addr() = %v, want %v", ops.Addr(), ln.Addr())
	}
	if err := opsserver.Probe(t.Context(), "http://"+ln.Addr().String()+opsserver.PathLive); err != nil {
		t.Error(err)
	}
}

// start starts an ops server stopped when the test ends.
func start(t *testing.T, cfg opsserver.Config) *opsserver.Server {
	t.Helper()
	ops, err := opsserver.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ops.Stop(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return ops
}

// get GETs a probe and decodes its answer.
func get(t *testing.T, url string) (int, opsserver.Readiness) {
	t.Helper()
	resp := do(t, url)
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	var r opsserver.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, r
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp := do(t, url)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func do(t *testing.T, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}
