package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// A Command is the body of one of Pedidos's programs. It reads and checks
// its configuration from getenv, before any log file exists, and returns
// what runs the program until ctx is cancelled, logging to log.
type Command func(getenv func(string) string) (run func(ctx context.Context, log *slog.Logger) error, err error)

// Main runs cmd as the program's main function: configured from the
// environment, logging as process to stdout and the log files, until
// SIGINT or SIGTERM. An error is printed to stderr with the program's name
// and exits with status 1.
func Main(process string, cmd Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, process, os.Getenv, os.Stdout, cmd)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// Run configures cmd from getenv, then builds the logger of process (see
// FromEnv), writing to stdout and the log files, runs cmd with it, and
// closes the files when it returns. A bad configuration, of the logs or of
// cmd, is reported before any file is created.
func Run(ctx context.Context, process string, getenv func(string) string, stdout io.Writer, cmd Command) (err error) {
	cfg, err := FromEnv(getenv, process)
	if err != nil {
		return err
	}
	run, err := cmd(getenv)
	if err != nil {
		return err
	}
	log, files, err := New(cfg, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, files.Close()) }()
	return run(ctx, log)
}
