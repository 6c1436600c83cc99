package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// child is a process the harness started: a server, the services or the
// load generator. It lives in its own process group, and the kernel kills it
// if the harness dies, even of a SIGKILL.
type child struct {
	name string
	cmd  *exec.Cmd
	// stdin is the write end of the child's stdin; closing it asks
	// pedidos-devstack and the load generator to stop.
	stdin io.WriteCloser
	// lines receives the child's stdout, line by line, when asked for.
	lines <-chan string
	// logPath is where its stderr (and stdout, when not read) goes.
	logPath string

	// exited is closed once the process is reaped; waitErr is then set.
	exited  chan struct{}
	waitErr error
}

// childSpec says how to start a child.
type childSpec struct {
	name string
	path string
	args []string
	// env is the whole environment; nil inherits the harness's.
	env []string
	// logPath receives stderr, and stdout unless readStdout.
	logPath string
	// readStdout delivers stdout on child.lines instead of the log.
	readStdout bool
}

// startChild starts spec. Its process runs until stop, or until the
// harness dies.
func startChild(spec childSpec) (*child, error) {
	logFile, err := os.Create(spec.logPath)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.name, err)
	}
	// Not CommandContext: a child is stopped with SIGTERM first, by stop.
	cmd := exec.Command(spec.path, spec.args...) //nolint:gosec,noctx // the harness's own binaries
	cmd.Env = spec.env
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{name: spec.name, cmd: cmd, logPath: spec.logPath, exited: make(chan struct{})}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, errors.Join(fmt.Errorf("starting %s: %w", spec.name, err), logFile.Close())
	}
	var stdout io.Reader
	if spec.readStdout {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, errors.Join(fmt.Errorf("starting %s: %w", spec.name, err), logFile.Close())
		}
	} else {
		cmd.Stdout = logFile
	}
	lines := make(chan string, 16)
	c.lines = lines

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits,
		// not the process (golang/go#27505): this goroutine keeps its
		// thread for as long as the child lives.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		if stdout != nil {
			scanLines(stdout, lines)
		}
		close(lines)
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	err = <-started
	// The child writes to its own copy of the file.
	if cerr := logFile.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.name, err)
	}
	return c, nil
}

// scanLines sends every line of r to lines. Lines beyond the channel's
// buffer that nobody reads are dropped rather than blocking the child.
func scanLines(r io.Reader, lines chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		select {
		case lines <- sc.Text():
		default:
		}
	}
	_, _ = io.Copy(io.Discard, r) // after a line too long: drain, never block the child
}

// readLine waits up to timeout for the next line of the child's stdout.
func (c *child) readLine(ctx context.Context, timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-c.lines:
		if ok {
			return line, nil
		}
		<-c.exited
		if err := c.exitError(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s exited without a word; see %s", c.name, c.logPath)
	case <-timer.C:
		return "", fmt.Errorf("%s said nothing for %s; see %s", c.name, timeout, c.logPath)
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for %s: %w", c.name, ctx.Err())
	}
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to stop (stdin closed, SIGTERM), waits up to grace,
// then kills its process group. It returns an error if the child exited
// with a failure or had to be killed. It is safe to call more than once.
func (c *child) stop(grace time.Duration) error {
	_ = c.stdin.Close() // already closed on a second call
	select {
	case <-c.exited:
		return c.exitError()
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s: %w", c.name, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.exited:
		return c.exitError()
	case <-timer.C:
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGKILL) // the group: the child and what it started
	<-c.exited
	return fmt.Errorf("%s still running %s after SIGTERM: killed; see %s", c.name, grace, c.logPath)
}

// exitError describes how the child exited once it has; nil for a clean
// exit.
func (c *child) exitError() error {
	if c.waitErr == nil {
		return nil
	}
	return fmt.Errorf("%s: %w; last lines of %s:\n%s", c.name, c.waitErr, c.logPath, tailFile(c.logPath, 15))
}

// tailFile returns the last n lines of the file at path, or why it cannot.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
