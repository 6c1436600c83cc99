package sse

import (
	"strconv"
	"testing"

	"github.com/tmaxmax/go-sse"
)

func TestRing(t *testing.T) {
	t.Parallel()
	r := newRing(3)
	if got := r.after(0); got != nil {
		t.Fatalf("empty ring: after(0) = %v, want nil", got)
	}
	for seq := uint64(1); seq <= 5; seq++ { // keeps 3, 4, 5
		m := &sse.Message{ID: sse.ID(strconv.FormatUint(seq, 10))}
		r.push(entry{seq: seq, msg: m})
	}
	tests := []struct {
		seq  uint64
		want []string
	}{
		{0, []string{"3", "4", "5"}},
		{1, []string{"3", "4", "5"}}, // older than the ring: all it has
		{3, []string{"4", "5"}},
		{4, []string{"5"}},
		{5, nil},
		{9, []string{"5"}}, // newer than the stream: the current phase
	}
	for _, tt := range tests {
		var got []string
		for _, m := range r.after(tt.seq) {
			got = append(got, m.ID.String())
		}
		if len(got) != len(tt.want) {
			t.Errorf("after(%d) = %v, want %v", tt.seq, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("after(%d) = %v, want %v", tt.seq, got, tt.want)
				break
			}
		}
	}
	if e, ok := r.last(); !ok || e.seq != 5 {
		t.Errorf("last() = %d, %v; want 5, true", e.seq, ok)
	}
	r.reset()
	if _, ok := r.last(); ok {
		t.Error("last() after reset found an entry")
	}
}
