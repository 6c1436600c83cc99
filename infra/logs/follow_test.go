package logs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// startFollow runs Follow on dir until the test ends, and returns what it
// reports and a function that stops it and returns its error.
func startFollow(t *testing.T, dir string) (*collector, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var c collector
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, dir, c.add) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Error("Follow did not return after its context was cancelled")
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return &c, stop
}

// waitStarted writes probes with write until Follow reports one: then
// Follow is past its start, and sees what is appended.
func waitStarted(t *testing.T, c *collector, write func(msg string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.has("probe") {
		if time.Now().After(deadline) {
			t.Fatal("Follow reports no new line")
		}
		write("probe")
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFollow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	api, _ := newLogger(t, Config{Dir: dir, Process: "api"})
	control, _ := newLogger(t, Config{Dir: dir, Process: "control"})
	api.Warn("before Follow")
	api.Error("before Follow")

	c, stop := startFollow(t, dir)
	waitStarted(t, c, func(msg string) { api.Warn(msg) })

	api.Info("info is not followed")
	api.Warn("a warning")
	api.Error("an error")
	control.Error("another process")
	for _, msg := range []string{"a warning", "an error", "another process"} {
		waitFor(t, msg, func() bool { return c.has(msg) })
	}

	if err := Truncate(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Follow to see the truncation", func() bool {
		// The truncated files are shorter than where Follow stopped: it
		// must read them again from the start.
		api.Warn("after Truncate")
		return c.has("after Truncate")
	})

	if err := stop(); err != nil {
		t.Fatalf("Follow = %v", err)
	}
	api.Error("after the end")
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		switch l.Msg {
		case "before Follow", "info is not followed", "after the end":
			t.Errorf("Follow reported %+v", l)
		}
		if l.Process != "api" && l.Process != "control" {
			t.Errorf("line of process %q", l.Process)
		}
	}
}

func TestFollowRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const name = "generator.warn.log"
	writeFile(t, dir, name, line(0, "WARN", "before Follow"))
	c, stop := startFollow(t, dir)
	waitStarted(t, c, func(msg string) { appendFile(t, dir, name, line(1, "WARN", msg)) })

	// As lumberjack rotates: the last line goes to the old file, which is
	// renamed, and a new file takes its name.
	appendFile(t, dir, name, line(2, "WARN", "last of the old file"))
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "generator.warn-2025-06-01T12-00-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, dir, name, line(3, "ERROR", "first of the new file"))
	for _, msg := range []string{"last of the old file", "first of the new file"} {
		waitFor(t, msg, func() bool { return c.has(msg) })
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c.has("before Follow") {
		t.Error("Follow reported a line written before it started")
	}
}

func TestFollowDirCreatedLater(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "logs")
	var c collector
	// Polls by hand: Follow started before the dir existed.
	f := newFollower(dir, c.add)
	defer f.closeAll()
	if err := f.poll(true); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Files that appear after the start are read from their beginning.
	writeFile(t, dir, "pedidos.error.log", line(0, "ERROR", "first"))
	appendRaw(t, dir, "pedidos.error.log", line(1, "ERROR", "second")[:20])
	if err := f.poll(false); err != nil {
		t.Fatal(err)
	}
	if got := msgs(c.lines); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("after the first poll: %q, want [first]", got)
	}
	// The end of a line still being written comes with the next poll.
	appendFile(t, dir, "pedidos.error.log", line(1, "ERROR", "second")[20:])
	if err := f.poll(false); err != nil {
		t.Fatal(err)
	}
	if got := msgs(c.lines); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("after the second poll: %q, want [first second]", got)
	}
}

func TestFollowFailsOnAFileForADir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "logs", "")
	err := Follow(t.Context(), filepath.Join(dir, "logs"), func(Line) {})
	if err == nil {
		t.Error("Follow of a file = nil error")
	}
}
