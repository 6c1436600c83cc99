package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ms is a duration that JSON encodes as a number of milliseconds.
type ms time.Duration

// MarshalJSON encodes d as milliseconds, to the microsecond.
func (d ms) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

// UnmarshalJSON decodes milliseconds.
func (d *ms) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("decoding milliseconds: %w", err)
	}
	*d = ms(f * float64(time.Millisecond))
	return nil
}

// String formats d as time.Duration does.
func (d ms) String() string { return time.Duration(d).String() }

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted, by the
// nearest-rank method; 0 when sorted is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// fmtSeconds formats a duration for a table: "850 ms", "12.34 s".
func fmtSeconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// fmtMillis formats a latency: "0.84", "12.3", "250".
func fmtMillis(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return strconv.FormatFloat(f, 'f', 2, 64)
	case f < 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

// fmtCount formats a whole number with thousands separators: "1,500,000".
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtRate formats orders per second: "81,234/s".
func fmtRate(perSec float64) string { return fmtCount(int64(math.Round(perSec))) + "/s" }

// fmtBytes formats a size in binary units: "512.0 MiB", "1.25 GiB".
func fmtBytes(n int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	switch {
	case n >= gib:
		return fmt.Sprintf("%.2f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	}
	return fmt.Sprintf("%d B", n)
}
