package retry

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestUntilRetriesAndLogsOnce(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b := Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}
	attempts := 0
	got, err := Until(t.Context(), logger, &b, "thing", func(context.Context) (string, error) {
		attempts++
		if attempts < 5 {
			return "", errors.New("not there")
		}
		return "there", nil
	})
	if err != nil || got != "there" || attempts != 5 {
		t.Fatalf("Until = %q, %v after %d attempts; want there, nil after 5", got, err, attempts)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "waiting for resource") || !strings.Contains(lines[1], "resource available") {
		t.Errorf("logged %q, want one waiting line and one available line", lines)
	}
}

func TestUntilStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	b := Backoff{Min: time.Hour}
	_, err := Until(ctx, slog.New(slog.DiscardHandler), &b, "thing", func(context.Context) (int, error) {
		cancel()
		return 0, errors.New("not there")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Until = %v, want context.Canceled", err)
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		if !b.Wait(t.Context()) {
			t.Fatal("Wait returned false with a live context")
		}
		got = append(got, b.next)
	}
	want := []time.Duration{2, 4, 4, 4, 4}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("next delays = %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if b.Wait(t.Context()); b.next != 2*time.Millisecond {
		t.Errorf("after Reset the next delay is %v, want 2ms", b.next)
	}
}
