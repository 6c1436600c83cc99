package generator

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/opsserver"
)

// TestRunServesReadinessOnMetricsAddr runs the generator before control
// has created the state bucket and the generators' consumer: its ops
// server says it is starting, then, once both exist, ready.
func TestRunServesReadinessOnMetricsAddr(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)
	addr := freeAddr(t)
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"NATS_URL": stack.NATSURL, "REDIS_URL": stack.RedisURL, "METRICS_ADDR": addr}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	url, err := opsserver.ReadyURL(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	await(ctx, t, "the generator starting", func() error {
		err := opsserver.Probe(ctx, url)
		if err == nil || !strings.Contains(err.Error(), opsserver.StatusStarting) {
			return errors.New("not starting: " + errString(err))
		}
		return nil
	})
	nc, err := nats.Connect(stack.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: events.BucketState}); err != nil {
		t.Fatal(err)
	}
	// Still starting: it waits for the generators' consumer too.
	time.Sleep(300 * time.Millisecond)
	if err := opsserver.Probe(ctx, url); err == nil || !strings.Contains(err.Error(), opsserver.StatusStarting) {
		t.Fatalf("with the bucket but no consumer: %v, want %s", errString(err), opsserver.StatusStarting)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamGeneration, Subjects: []string{events.SubjectGeneration}, Retention: jetstream.WorkQueuePolicy,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, events.StreamGeneration, jetstream.ConsumerConfig{
		Durable: events.ConsumerGenerator, AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	await(ctx, t, "the generator ready", func() error { return opsserver.Probe(ctx, url) })
}

// await calls f until it returns nil, and fails the test with its last
// error when ctx ends first.
func await(ctx context.Context, t *testing.T, what string, f func() error) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-tick.C:
		}
	}
}

// freeAddr is a loopback address free when it returns.
func freeAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func errString(err error) string {
	if err == nil {
		return "ready"
	}
	return err.Error()
}
