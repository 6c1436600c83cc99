package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// binaries are the programs the harness builds once and starts per run.
type binaries struct {
	// devstack is infra/devstack/cmd/pedidos-devstack.
	devstack string
	// pedidos is the all-in-one binary (infra/pedidos/cmd/pedidos), as shipped.
	pedidos string
	// pedidosBench is the same built with -tags pedidosbench, whose
	// processor honours BENCH_DISCARD_WRITES.
	pedidosBench string
}

// repoRoot returns the directory of the go.work the go command uses.
func repoRoot(ctx context.Context) (string, error) {
	out, err := goCommand(ctx, "", "env", "GOWORK")
	if err != nil {
		return "", err
	}
	work := strings.TrimSpace(out)
	if work == "" || work == "off" {
		return "", fmt.Errorf("no go.work in use (GOWORK=%q): run the harness from inside the Pedidos repository", work)
	}
	return filepath.Dir(work), nil
}

// build builds the binaries into dir; the queue-layer build only if
// queue.
func build(ctx context.Context, root, dir string, queue bool) (binaries, error) {
	b := binaries{
		devstack:     filepath.Join(dir, "pedidos-devstack"),
		pedidos:      filepath.Join(dir, "pedidos"),
		pedidosBench: filepath.Join(dir, "pedidos-bench"),
	}
	builds := [][]string{
		{"build", "-o", b.devstack, "./infra/devstack/cmd/pedidos-devstack"},
		{"build", "-o", b.pedidos, "./infra/pedidos/cmd/pedidos"},
	}
	if queue {
		builds = append(builds, []string{"build", "-tags", "pedidosbench", "-o", b.pedidosBench, "./infra/pedidos/cmd/pedidos"})
	}
	for _, args := range builds {
		if _, err := goCommand(ctx, root, args...); err != nil {
			return b, err
		}
	}
	return b, nil
}

// goCommand runs the go command in dir and returns its standard output.
func goCommand(ctx context.Context, dir string, args ...string) (string, error) {
	return command(ctx, dir, "go", args...)
}

// command runs name in dir with a 10-minute bound and returns its standard
// output; its standard error goes into the error.
func command(ctx context.Context, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}
