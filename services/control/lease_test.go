package control

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// TestLeaseHasOneHolderAndPassesOn: of two instances one leads; when it
// stops renewing (it died), the other leads within LeaderTTL; when that one
// lets go (a clean stop), the first leads again at once; and a leader
// whose lease was taken over learns it at its next renewal.
func TestLeaseHasOneHolderAndPassesOn(t *testing.T) {
	t.Parallel()
	_, _, js := startTopology(t)
	ctx := t.Context()
	kv, err := js.KeyValue(ctx, events.BucketLeader)
	must(t, err)
	a := &lease{kv: kv, id: "a", log: slog.New(slog.DiscardHandler)}
	b := &lease{kv: kv, id: "b", log: slog.New(slog.DiscardHandler)}

	revA, err := a.acquire(ctx)
	must(t, err)
	holdCtx, die := context.WithCancel(ctx)
	held := make(chan uint64, 1)
	go func() { rev, _ := a.hold(holdCtx, revA); held <- rev }()

	// b stands by while a renews.
	waitCtx, cancel := context.WithTimeout(ctx, 2*events.LeaderTTL)
	if _, err := b.acquire(waitCtx); err == nil {
		t.Fatal("b took the lease while a renewed it")
	}
	cancel()

	// a dies: it stops renewing, without letting go.
	die()
	<-held
	started := time.Now()
	revB, err := b.acquire(ctx)
	must(t, err)
	if took := time.Since(started); took > events.LeaderTTL+time.Second {
		t.Errorf("b took over %v after a died; want within LeaderTTL (%v)", took, events.LeaderTTL)
	}
	// a, back from the dead, cannot renew: b holds the lease.
	if _, err := a.hold(ctx, revA); err == nil {
		t.Fatal("a renewed a lease b had taken over")
	}

	// b stops cleanly: a leads at once.
	b.release(ctx, revB)
	started = time.Now()
	if _, err := a.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took > time.Second {
		t.Errorf("a took %v to lead after b let go; want at once", took)
	}
}

// startTopology starts an embedded NATS server for one test, with control's
// streams, consumers and buckets, and returns its URL, a connection to it
// and its JetStream.
func startTopology(t *testing.T) (string, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	stack := devstacktest.StartWith(t, devstack.Config{MongoURI: "mongodb://unused", RedisURL: "redis://unused"})
	nc, err := nats.Connect(stack.NATSURL)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	_, _, err = ensureTopology(t.Context(), js, 1)
	must(t, err)
	return stack.NATSURL, nc, js
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
