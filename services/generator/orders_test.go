package generator

import (
	"regexp"
	"testing"
	"time"

	"github.com/pedidos/pedidos/events"
)

func TestChunkSourceIsDeterministic(t *testing.T) {
	t.Parallel()
	src := newChunkSource("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	now := time.Now()
	a := src.fill(nil, 20_000, 1000, now)
	b := src.fill(nil, 20_000, 1000, now.Add(time.Hour))
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Tier != b[i].Tier || a[i].Valor != b[i].Valor || a[i].Cliente != b[i].Cliente {
			t.Fatalf("order %d differs between two builds of the same chunk: %+v / %+v", i, a[i], b[i])
		}
	}
	other := newChunkSource("another-run").fill(nil, 20_000, 1000, now)
	if other[0].ID == a[0].ID {
		t.Error("two runs produced the same order id")
	}
	next := src.fill(nil, 21_000, 1000, now)
	if next[0].ID == a[0].ID {
		t.Error("two chunks produced the same order id")
	}
}

func TestChunkSourceOrders(t *testing.T) {
	t.Parallel()
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	const n = 100_000
	orders := newChunkSource("run").fill(nil, 0, n, time.Now())
	ids := make(map[string]bool, n)
	tiers := map[events.Tier]int{}
	for i, o := range orders {
		if err := o.Validate(); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		if !uuidV4.MatchString(o.ID) {
			t.Fatalf("order %d: id %q is not a version 4 UUID", i, o.ID)
		}
		if ids[o.ID] {
			t.Fatalf("order %d: duplicate id %s", i, o.ID)
		}
		ids[o.ID] = true
		tiers[o.Tier]++
	}
	if orders[0].Cliente != "Cliente 1" || orders[n-1].Cliente != "Cliente 100000" {
		t.Errorf("first and last cliente = %q … %q", orders[0].Cliente, orders[n-1].Cliente)
	}
	// Uniform tiers: each within 2% of n/4 (the chance of missing that by
	// accident is far below one in a million).
	for _, tier := range events.Tiers {
		if c := tiers[tier]; c < n/4-n/50 || c > n/4+n/50 {
			t.Errorf("tier %s drawn %d times out of %d; want about %d", tier, c, n, n/4)
		}
	}
}

func BenchmarkChunkFill(b *testing.B) {
	src := newChunkSource("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	orders := make([]events.Order, 0, 10_000)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		orders = src.fill(orders, 0, 10_000, now)
	}
}
