package api

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	t.Parallel()
	const maxOrders = 1_500_000
	tests := []struct {
		query   string
		want    int64
		wantErr string // substring of the error; "" means valid
	}{
		{"", DefaultQuantity, ""},
		{"other=1", DefaultQuantity, ""},
		{"quantity=1", 1, ""},
		{"quantity=1500000", 1_500_000, ""},
		{"quantity=000042", 42, ""},
		{"quantity=7&unknown=x", 7, ""},
		{"quantity", 0, "from 1 to 1500000"},
		{"quantity=", 0, "from 1 to 1500000"},
		{"quantity=0", 0, "from 1 to 1500000"},
		{"quantity=1500001", 0, "from 1 to 1500000"},
		{"quantity=-5", 0, "from 1 to 1500000"},
		{"quantity=%2B5", 0, "from 1 to 1500000"},
		{"quantity=+5", 0, "from 1 to 1500000"}, // + decodes to a space
		{"quantity=%205", 0, "from 1 to 1500000"},
		{"quantity=5%20", 0, "from 1 to 1500000"},
		{"quantity=1.5", 0, "from 1 to 1500000"},
		{"quantity=1e3", 0, "from 1 to 1500000"},
		{"quantity=0x10", 0, "from 1 to 1500000"},
		{"quantity=1_000", 0, "from 1 to 1500000"},
		{"quantity=abc", 0, "from 1 to 1500000"},
		{"quantity=99999999999999999999999", 0, "from 1 to 1500000"},
		{"quantity=%EF%BC%95", 0, "from 1 to 1500000"}, // fullwidth digit five
		{"quantity=1&quantity=2", 0, "given once"},
		{"quantity=%zz", 0, "malformed"},
		{"quantity=5;x=1", 0, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			got, err := parseQuantity(tt.query, maxOrders)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("parseQuantity(%q) = %d, %v; want %d, nil", tt.query, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseQuantity(%q) = %d, %v; want error containing %q", tt.query, got, err, tt.wantErr)
			}
		})
	}
}

func TestParseQuantityDefaultCappedByMax(t *testing.T) {
	t.Parallel()
	got, err := parseQuantity("", 500)
	if err != nil || got != 500 {
		t.Fatalf("parseQuantity(\"\", 500) = %d, %v; want 500, nil", got, err)
	}
}

// FuzzParseQuantity checks that whatever the query, an accepted quantity is
// in range and is exactly what the query says, and that a refusal never
// echoes more than a bounded part of the input.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"", "quantity=10", "quantity=", "quantity=-1", "quantity=1&quantity=1", "quantity=%zz", "quantity=1e9", "a=b;c"} {
		f.Add(s)
	}
	const maxOrders = 1_500_000
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := parseQuantity(raw, maxOrders)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with quantity %d", err, n)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
			return
		}
		if n < 1 || n > maxOrders {
			t.Fatalf("parseQuantity(%q) = %d, out of range", raw, n)
		}
		q, qerr := parseQuery(raw)
		if qerr != nil {
			t.Fatalf("accepted a malformed query %q", raw)
		}
		vs, ok := q["quantity"]
		if !ok {
			if n != DefaultQuantity {
				t.Fatalf("absent quantity gave %d", n)
			}
			return
		}
		if len(vs) != 1 || strings.TrimLeft(vs[0], "0") != strconv.FormatInt(n, 10) {
			t.Fatalf("parseQuantity(%q) = %d, but the query says %q", raw, n, vs)
		}
	})
}
