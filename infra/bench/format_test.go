package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", []time.Duration{7}, 50, 7},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"max", hundred, 100, 100 * time.Millisecond},
		{"tiny p is the minimum", hundred, 0.001, time.Millisecond},
		{"p99 of 3 is the max", []time.Duration{1, 2, 3}, 99, 3},
		{"p50 of 4 is the 2nd", []time.Duration{1, 2, 3, 4}, 50, 2},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{fmtCount(0), "0"},
		{fmtCount(999), "999"},
		{fmtCount(1000), "1,000"},
		{fmtCount(1500000), "1,500,000"},
		{fmtCount(-12345), "-12,345"},
		{fmtRate(81234.6), "81,235/s"},
		{fmtBytes(512), "512 B"},
		{fmtBytes(1536), "1.5 KiB"},
		{fmtBytes(300 << 20), "300.0 MiB"},
		{fmtBytes(5 << 29), "2.50 GiB"},
		{fmtSeconds(850 * time.Millisecond), "850 ms"},
		{fmtSeconds(12345 * time.Millisecond), "12.35 s"},
		{fmtMillis(840 * time.Microsecond), "0.84"},
		{fmtMillis(12340 * time.Microsecond), "12.3"},
		{fmtMillis(250 * time.Millisecond), "250"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestMsJSON(t *testing.T) {
	t.Parallel()
	in := struct {
		D ms `json:"d"`
	}{ms(1234567 * time.Microsecond)}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"d":1234.567}` {
		t.Errorf("encoded %s, want milliseconds to the microsecond", data)
	}
	var out struct {
		D ms `json:"d"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.D != in.D {
		t.Errorf("round trip: %v, want %v", out.D, in.D)
	}
}
