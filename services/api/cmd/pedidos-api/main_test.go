package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

func TestMain(m *testing.M) {
	// run writes log files through lumberjack, which starts a goroutine per
	// file that nothing stops (v2.2.1 has no way to).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestRunRejectsBadEnvironment(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]map[string]string{
		"PORT":       {"PORT": "port"},
		"LOG_FORMAT": {"LOG_FORMAT": "xml"},
		"LOG_LEVEL":  {"LOG_LEVEL": "loud"},
	} {
		err := run(t.Context(), env(want), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("run with %v = %v, want an error naming %s", want, err, name)
		}
	}
}

// syncBuffer is a bytes.Buffer the logger and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // run listens on it again; another process taking it meanwhile is unlikely

	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env(map[string]string{
			"PORT":       strconv.Itoa(port),
			"NATS_URL":   stack.NATSURL,
			"MONGO_URI":  stack.MongoURI,
			"REDIS_URL":  strings.Replace(stack.RedisURL, "redis://", "redis://:hunter2@", 1),
			"LOG_FORMAT": "json",
			"DATA_DIR":   dataDir,
		}), &out)
	}()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/pedidos/health/live"
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	logs := out.String()
	if !strings.Contains(logs, `"msg":"starting pedidos-api"`) || !strings.Contains(logs, `"redis_url":"redis://:xxxxx@`) {
		t.Errorf("logs lack the masked configuration:\n%s", logs)
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("logs leak the redis password:\n%s", logs)
	}
	file, err := os.ReadFile(filepath.Join(dataDir, "logs", "api.info.log"))
	if err != nil || !strings.Contains(string(file), `"msg":"starting pedidos-api"`) {
		t.Errorf("DATA_DIR/logs/api.info.log lacks the start: %v\n%s", err, file)
	}
}
