package fleet_test

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/fleet"
)

func TestInstancesFindsEveryLiveInstance(t *testing.T) {
	t.Parallel()
	stack := devstacktest.StartWith(t, devstack.Config{MongoURI: "mongodb://unused", RedisURL: "redis://unused"})
	nc, err := nats.Connect(stack.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	ids, err := fleet.Instances(t.Context(), nc, "worker")
	if err != nil || len(ids) != 0 {
		t.Fatalf("no instance running: %v, %v", ids, err)
	}
	var want []string
	for range 3 {
		svc, err := micro.AddService(nc, micro.Config{Name: "worker", Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop() })
		want = append(want, svc.Info().ID)
	}
	other, err := micro.AddService(nc, micro.Config{Name: "other", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Stop() })

	ids, err = fleet.Instances(t.Context(), nc, "worker")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("instances = %v, want %v", ids, want)
	}
}
