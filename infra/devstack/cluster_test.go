package devstack_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

func TestNATSClusterReplicatesAndSurvivesANode(t *testing.T) {
	t.Parallel()
	c := devstacktest.StartNATSCluster(t, 3)
	if got := len(c.URLs()); got != 3 || strings.Count(c.URL(), ",") != 2 {
		t.Fatalf("URLs() = %v, URL() = %q: want three", c.URLs(), c.URL())
	}
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: testStream, Subjects: []string{testSubject}, Storage: jetstream.FileStorage, Replicas: 3,
	}); err != nil {
		t.Fatalf("creating an R3 stream: %v", err)
	}
	publish(t, js, "before")
	info := awaitReplicas(ctx, t, js, 2)
	if info.Config.Replicas != 3 {
		t.Errorf("stream replicas = %d, want 3", info.Config.Replicas)
	}

	// Lose a node that is not the stream's leader, the client's own when it
	// can: the client moves to another node and the stream takes writes.
	lost := -1
	for i := range 3 {
		if name := c.ServerName(i); name != info.Cluster.Leader && (lost < 0 || name == nc.ConnectedServerName()) {
			lost = i
		}
	}
	c.Stop(lost)
	c.Stop(lost) // a second Stop does nothing
	publishRetry(ctx, t, js, "while a node is down")

	// The node comes back and catches up: three current replicas again.
	if err := c.Restart(lost); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	awaitReplicas(ctx, t, js, 2)
	if got := fetchAll(t, js); !slices.Equal(got, []string{"before", "while a node is down"}) {
		t.Errorf("messages = %q", got)
	}
}

// publishRetry publishes data until JetStream acknowledges it, as a client
// must while the cluster fails over; the message id makes a retry of a
// publish that was stored but not acknowledged a duplicate JetStream drops.
func publishRetry(ctx context.Context, t *testing.T, js jetstream.JetStream, data string) {
	t.Helper()
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.Publish(attempt, testSubject, []byte(data), jetstream.WithMsgID(data))
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("publishing %q: %v", data, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// awaitReplicas waits until the test stream has a leader and want current
// followers, and returns its info.
func awaitReplicas(ctx context.Context, t *testing.T, js jetstream.JetStream, want int) *jetstream.StreamInfo {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		info, err := streamReplicas(ctx, js, want)
		if err == nil {
			return info
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("stream replicas: %v", last)
		case <-tick.C:
		}
	}
}

func streamReplicas(ctx context.Context, js jetstream.JetStream, want int) (*jetstream.StreamInfo, error) {
	s, err := js.Stream(ctx, testStream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return nil, fmt.Errorf("no leader: %+v", info.Cluster)
	}
	current := 0
	for _, r := range info.Cluster.Replicas {
		if r.Current {
			current++
		}
	}
	if current != want {
		return nil, fmt.Errorf("%d current followers, want %d: %+v", current, want, info.Cluster.Replicas)
	}
	return info, nil
}
