package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "nats,mongo,redis", want: []string{"nats", "mongo", "redis"}},
		{in: "mongo", want: []string{"mongo"}},
		{in: " redis , nats,redis", want: []string{"redis", "nats"}},
		{in: "", wantErr: true},
		{in: "nats,", wantErr: true},
		{in: "postgres", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseOnly(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseOnly(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestBinaryServesNATSUntilStdinCloses builds the command, starts it with
// -only nats as a parent would, uses the server it announces, and closes
// its stdin: the process must stop cleanly.
func TestBinaryServesNATSUntilStdinCloses(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH:", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "pedidos-devstack")
	if out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, bin, "-only", "nats", "-dir", t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer // read only once Wait returned
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadBytes('\n')
	exited := make(chan struct{})
	var waitErr error // set before exited is closed
	go func() {
		_, _ = io.Copy(io.Discard, r) // nothing after the ready line; until exit
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cancel() // kills the process if still running
		<-exited
		t.Logf("pedidos-devstack stderr:\n%s", stderr.Bytes())
	})
	if err != nil {
		t.Fatalf("reading the ready line: %v", err)
	}
	var ready readyLine
	if err := json.Unmarshal(line, &ready); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	if ready.NATS == "" || ready.Mongo != "" || ready.Redis != "" || len(ready.Servers) != 1 ||
		ready.Servers[0].Name != "nats" || ready.Servers[0].URL != ready.NATS || ready.Servers[0].PID != cmd.Process.Pid {
		t.Errorf("ready line = %s; want only nats, served by pid %d", line, cmd.Process.Pid)
	}

	nc, err := nats.Connect(ready.NATS)
	if err != nil {
		t.Fatalf("connecting to %s: %v", ready.NATS, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Errorf("JetStream account info: %v", err)
	}
	nc.Close()

	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("exit after stdin closed: %v", waitErr)
		}
	case <-ctx.Done():
		t.Error("still running after stdin closed")
	}
}
