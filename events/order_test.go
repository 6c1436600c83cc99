package events

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func sampleOrder() Order {
	return Order{
		ID:        "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		RunID:     "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		Cliente:   "Cliente 42",
		Valor:     123.45,
		Tier:      TierDiamante,
		Priority:  PriorityVIP,
		CreatedAt: time.Date(2026, 11, 27, 13, 4, 5, 678_000_000, time.UTC),
	}
}

func TestOrderJSONRoundTrip(t *testing.T) {
	t.Parallel()
	orders := []Order{sampleOrder()}
	odd := sampleOrder()
	odd.Cliente = "Zé \"aspas\" \\ <tag>\n\u2028"
	odd.Valor = 0
	orders = append(orders, odd)
	for _, o := range orders {
		data := o.AppendJSON(nil)
		if !json.Valid(data) {
			t.Fatalf("AppendJSON produced invalid JSON: %s", data)
		}
		var got Order
		if err := DecodeOrder(data, &got); err != nil {
			t.Fatalf("DecodeOrder(%s): %v", data, err)
		}
		if !got.CreatedAt.Equal(o.CreatedAt) {
			t.Errorf("createdAt = %v, want %v", got.CreatedAt, o.CreatedAt)
		}
		got.CreatedAt = o.CreatedAt
		if got != o {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, o)
		}
		std, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var viaStd Order
		if err := json.Unmarshal(std, &viaStd); err != nil {
			t.Fatal(err)
		}
		viaStd.CreatedAt = o.CreatedAt
		if viaStd != got {
			t.Errorf("AppendJSON and encoding/json disagree:\n%s\n%s", data, std)
		}
	}
}

func TestOrderValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Order)
		ok     bool
	}{
		{"valid", func(*Order) {}, true},
		{"no id", func(o *Order) { o.ID = "" }, false},
		{"no run", func(o *Order) { o.RunID = "" }, false},
		{"unknown tier", func(o *Order) { o.Tier = "OURO_VELHO" }, false},
		{"priority does not match tier", func(o *Order) { o.Priority = PriorityNormal }, false},
		{"negative valor", func(o *Order) { o.Valor = -0.01 }, false},
		{"valor over the maximum", func(o *Order) { o.Valor = MaxValor + 0.01 }, false},
		{"NaN valor", func(o *Order) { o.Valor = math.NaN() }, false},
		{"no createdAt", func(o *Order) { o.CreatedAt = time.Time{} }, false},
		{"normal tier", func(o *Order) { o.Tier, o.Priority = TierPrata, PriorityNormal }, true},
	}
	for _, tt := range tests {
		o := sampleOrder()
		tt.change(&o)
		err := o.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("%s: error %v does not wrap ErrInvalidOrder", tt.name, err)
		}
	}
}

// FuzzDecodeOrder checks that no payload makes the decoder panic, and that
// whatever it accepts re-encodes into a payload it decodes the same way.
func FuzzDecodeOrder(f *testing.F) {
	o := sampleOrder()
	f.Add(o.AppendJSON(nil))
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte(`{"valor":"NaN","createdAt":"yesterday"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Order
		if err := DecodeOrder(data, &got); err != nil {
			if !errors.Is(err, ErrInvalidOrder) {
				t.Fatalf("error %v does not wrap ErrInvalidOrder", err)
			}
			return
		}
		if got.Validate() != nil || got.CreatedAt.Year() < 1 || got.CreatedAt.Year() > 9999 {
			return
		}
		var again Order
		if err := DecodeOrder(got.AppendJSON(nil), &again); err != nil {
			t.Fatalf("re-decoding %+v: %v", got, err)
		}
		if again.ID != got.ID || again.Valor != got.Valor || again.Cliente != got.Cliente {
			t.Fatalf("re-decoded %+v, want %+v", again, got)
		}
	})
}

// FuzzDecodeCanonical checks the fast path against encoding/json: whatever
// it accepts, encoding/json decodes to the same order.
func FuzzDecodeCanonical(f *testing.F) {
	o := sampleOrder()
	f.Add(o.AppendJSON(nil))
	o.Valor, o.Tier, o.Priority = 0.5, TierBronze, PriorityNormal
	f.Add(o.AppendJSON(nil))
	o.Valor = 1000
	f.Add(o.AppendJSON(nil))
	f.Add([]byte(`{"id":"a","runId":"b","cliente":"c","valor":01.5,"tier":"X","priority":"Y","createdAt":"2026-01-01T00:00:00.000Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Order
		if !decodeCanonical(data, &fast) {
			return
		}
		var std Order
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", data, err)
		}
		if !fast.CreatedAt.Equal(std.CreatedAt) {
			t.Fatalf("%q: createdAt %v, encoding/json %v", data, fast.CreatedAt, std.CreatedAt)
		}
		fast.CreatedAt = std.CreatedAt
		if fast != std {
			t.Fatalf("%q:\n fast %+v\n std  %+v", data, fast, std)
		}
	})
}

func BenchmarkOrderAppendJSON(b *testing.B) {
	o := sampleOrder()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = o.AppendJSON(buf[:0])
	}
}

func BenchmarkDecodeOrder(b *testing.B) {
	o := sampleOrder()
	data := o.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		var got Order
		if err := DecodeOrder(data, &got); err != nil {
			b.Fatal(err)
		}
	}
}
