package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/opsserver"
)

// topologyTimeout bounds each wait of the topology tests.
const topologyTimeout = 60 * time.Second

// TestRunCreatesTopologyWithReplicas runs control against a three-node
// JetStream cluster, reached through a NATS_URL list that starts with a
// server that is down, first with NATS_REPLICAS=1, then, restarted, with 3:
// every stream, both consumers and the state bucket are created on one
// server, then scaled to three, each replica current; each time control's
// ops server on METRICS_ADDR then says it is ready.
func TestRunCreatesTopologyWithReplicas(t *testing.T) {
	t.Parallel()
	cluster := devstacktest.StartNATSCluster(t, 3)
	stack := devstacktest.StartWith(t, devstack.Config{NATSURL: cluster.URL()})
	natsURL := "nats://" + deadAddr(t) + "," + cluster.URL()

	nc, err := nats.Connect(cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := deadAddr(t)
	readyURL, err := opsserver.ReadyURL(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, replicas := range []string{"1", "3"} {
		cfg, err := ConfigFromEnv(envOf(map[string]string{
			"METRICS_ADDR":  metricsAddr,
			"NATS_URL":      natsURL,
			"MONGO_URI":     stack.MongoURI,
			"REDIS_URL":     stack.RedisURL,
			"NATS_REPLICAS": replicas,
			"MONGO_INDEXES": "never",
		}))
		if err != nil {
			t.Fatal(err)
		}
		runControl(t, cfg, func(ctx context.Context) {
			eventually(ctx, t, "topology with "+replicas+" replicas", func(ctx context.Context) error {
				return checkReplicas(ctx, js, cfg.Replicas)
			})
			// And control says it is ready on its ops server.
			eventually(ctx, t, "control ready", func(ctx context.Context) error {
				return opsserver.Probe(ctx, readyURL)
			})
		})
	}
}

// TestEnsureTopologyOnOneServer creates the topology on a single server,
// which holds one replica of everything; asking it for three fails and
// says why.
func TestEnsureTopologyOnOneServer(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)
	nc, err := nats.Connect(stack.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), topologyTimeout)
	defer cancel()
	for _, replicas := range []int{0, 1} {
		if _, _, err := ensureTopology(ctx, js, replicas); err != nil {
			t.Fatalf("ensureTopology(%d): %v", replicas, err)
		}
		if err := checkReplicas(ctx, js, 1); err != nil {
			t.Fatalf("ensureTopology(%d): %v", replicas, err)
		}
	}
	_, _, err = ensureTopology(ctx, js, 3)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "replicas") {
		t.Fatalf("ensureTopology(3) on one server = %v, want an error about replicas", err)
	}
}

// runControl runs control with cfg while check looks at what it did, then
// stops it and checks that it stopped cleanly.
func runControl(t *testing.T, cfg Config, check func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), topologyTimeout)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("control.Run: %v", err)
		}
	}()
	check(ctx)
}

// checkReplicas checks that every stream of Pedidos, the bucket's stream
// included, and both consumers have want replicas, each current.
func checkReplicas(ctx context.Context, js jetstream.JetStream, want int) error {
	for _, name := range []string{events.StreamOrders, events.StreamControl, "KV_" + events.BucketState} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		if info.Config.Replicas != want {
			return fmt.Errorf("stream %s: %d replicas configured, want %d", name, info.Config.Replicas, want)
		}
		if err := checkCluster(info.Cluster, want); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		if name != events.StreamOrders {
			continue
		}
		for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
			c, err := s.Consumer(ctx, events.OrderConsumer(p))
			if err != nil {
				return fmt.Errorf("consumer %s: %w", events.OrderConsumer(p), err)
			}
			if err := checkCluster(c.CachedInfo().Cluster, want); err != nil {
				return fmt.Errorf("consumer %s: %w", events.OrderConsumer(p), err)
			}
		}
	}
	return nil
}

// checkCluster checks that a stream or consumer has a leader and want-1
// current followers. A single server reports no leader for a consumer.
func checkCluster(ci *jetstream.ClusterInfo, want int) error {
	if want == 1 && (ci == nil || len(ci.Replicas) == 0) {
		return nil
	}
	if ci == nil || ci.Leader == "" {
		return errors.New("no leader")
	}
	current := 0
	for _, r := range ci.Replicas {
		if r.Current {
			current++
		}
	}
	if len(ci.Replicas) != want-1 || current != want-1 {
		return fmt.Errorf("leader %s and %d followers (%d current), want %d followers", ci.Leader, len(ci.Replicas), current, want-1)
	}
	return nil
}

// eventually calls f, each call bounded by 5 s, until it returns nil, and
// fails the test with the last error of a whole call when ctx ends first.
func eventually(ctx context.Context, t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(attempt)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, last)
		case <-tick.C:
		}
	}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
