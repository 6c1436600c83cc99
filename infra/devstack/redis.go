package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Timings of the redis-server child.
const (
	// redisStopTimeout is how long Close waits after SIGTERM before SIGKILL.
	redisStopTimeout = 5 * time.Second
	// redisPingInterval is the pause between two pings while it starts.
	redisPingInterval = 5 * time.Millisecond
	// redisRandomPortAttempts is how many random ports Start tries: another
	// process may take the one picked before redis-server binds it.
	redisRandomPortAttempts = 3
)

// startRedis embeds Redis as cfg.Redis says and logs which one and why.
func startRedis(ctx context.Context, cfg Config) (embedded, error) {
	if err := checkPort(ctx, "redis", cfg.Host, cfg.RedisPort, "REDIS_URL", "redis", ""); err != nil {
		return embedded{}, err
	}
	if cfg.Redis == RedisMiniredis {
		cfg.Logger.InfoContext(ctx, "using in-process miniredis (no persistence, slow Lua)", slog.String("reason", "Config.Redis is miniredis"))
		return startMiniredis(cfg)
	}
	path, err := exec.LookPath("redis-server")
	switch {
	case err != nil && cfg.Redis == RedisServer:
		return embedded{}, fmt.Errorf("starting redis: %w", err)
	case err != nil:
		cfg.Logger.InfoContext(ctx, "redis-server not found on PATH; using in-process miniredis (no persistence, slow Lua) — install redis-server for real runs")
		return startMiniredis(cfg)
	}
	cfg.Logger.InfoContext(ctx, "using redis-server as a child process", slog.String("path", path))
	for attempt := 1; ; attempt++ {
		port := cfg.RedisPort
		if port == 0 {
			if port, err = freePort(ctx, cfg.Host); err != nil {
				return embedded{}, fmt.Errorf("starting redis: %w", err)
			}
		}
		srv, err := startRedisServer(ctx, cfg, path, port)
		if err == nil || cfg.RedisPort != 0 || attempt == redisRandomPortAttempts || ctx.Err() != nil {
			return srv, err
		}
		cfg.Logger.WarnContext(ctx, "redis-server did not start; trying another port", slog.Int("port", port), slog.Any("error", err))
	}
}

// startMiniredis runs miniredis in-process.
func startMiniredis(cfg Config) (embedded, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.RedisPort))); err != nil {
		return embedded{}, fmt.Errorf("starting redis: %w", err)
	}
	return embedded{
		Server: Server{Name: "redis", Kind: KindInProcess, URL: "redis://" + m.Addr(), PID: os.Getpid()},
		stop: func() error {
			m.Close()
			return nil
		},
	}, nil
}

// redisChild is a running redis-server process.
type redisChild struct {
	cmd *exec.Cmd
	out *outputLog
	// exited is closed once the process is reaped; waitErr and
	// cmd.ProcessState are then set.
	exited  chan struct{}
	waitErr error
}

// startRedisServer runs redis-server on port, with an append-only file
// under cfg.Dir/redis so that keys survive a restart, and waits until it
// answers PING.
func startRedisServer(ctx context.Context, cfg Config, path string, port int) (embedded, error) {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	out := &outputLog{l: cfg.Logger.With(slog.String("server", "redis"))}
	// Not CommandContext: the child outlives Start's ctx, until Close.
	cmd := exec.Command(path, //nolint:gosec,noctx // path is redis-server as found on PATH
		"--bind", cfg.Host, "--port", strconv.Itoa(port),
		"--dir", filepath.Join(cfg.Dir, "redis"),
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		// A Bull job hash holds the order (~200 bytes): let such small
		// hashes stay listpacks, half the memory of a hash table.
		"--hash-max-listpack-value", "512",
		"--protected-mode", "no", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childProcAttr()

	c := &redisChild{cmd: cmd, out: out, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, not
		// the process (golang/go#27505). Locking this goroutine to its
		// thread for the child's whole life, and never unlocking, keeps
		// that thread alive exactly as long as the child.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return embedded{}, fmt.Errorf("starting redis: %w", err)
	}
	if err := c.waitReady(ctx, addr); err != nil {
		err = fmt.Errorf("starting redis: %w", err)
		select {
		case <-c.exited:
			return embedded{}, err
		default:
			return embedded{}, errors.Join(err, c.stop())
		}
	}
	return embedded{
		Server: Server{Name: "redis", Kind: KindChild, URL: "redis://" + addr, PID: cmd.Process.Pid},
		stop:   c.stop,
	}, nil
}

// waitReady pings the child until it answers, it exits, or ctx is done.
func (c *redisChild) waitReady(ctx context.Context, addr string) error {
	tick := time.NewTicker(redisPingInterval)
	defer tick.Stop()
	for {
		err := c.ping(ctx, addr)
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("redis-server exited before accepting connections (%s); its last output:\n%s", c.cmd.ProcessState, c.out.Tail())
		case <-ctx.Done():
			return fmt.Errorf("waiting for redis-server on %s: %w (last ping: %w)", addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// ping checks that the server at addr is the child (on a random port,
// another server may have bound the port between its pick and the child's
// start) and that it has loaded its data.
func (c *redisChild) ping(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// go-redis gets this connection rather than dialling: it logs every
	// failed dial to its process-wide logger, and this loop expects many.
	client := redis.NewClient(&redis.Options{
		Addr:                     addr,
		Dialer:                   func(context.Context, string, string) (net.Conn, error) { return conn, nil },
		PoolSize:                 1,
		MaxRetries:               -1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer func() { _ = client.Close() }() // closes conn; nothing to flush after a read
	// INFO answers while the append-only file loads; loading:0 says done.
	info, err := client.Info(ctx, "server", "persistence").Result()
	if err != nil {
		return err
	}
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	switch {
	case fields["process_id"] != strconv.Itoa(c.cmd.Process.Pid):
		return errors.New("another server answers on the port of redis-server")
	case fields["loading"] != "0":
		return errors.New("redis-server is loading its append-only file")
	}
	return nil
}

// stop sends SIGTERM (redis-server then syncs its append-only file and
// exits), and SIGKILL if it is still running after redisStopTimeout.
func (c *redisChild) stop() error {
	select {
	case <-c.exited:
		return fmt.Errorf("redis-server had exited on its own (%s); its last output:\n%s", c.cmd.ProcessState, c.out.Tail())
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = c.cmd.Process.Kill() // Signal fails where SIGTERM is not supported
	}
	timer := time.NewTimer(redisStopTimeout)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("redis-server: %w; its last output:\n%s", c.waitErr, c.out.Tail())
		}
		return nil
	case <-timer.C:
		if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("killing redis-server: %w", err)
		}
		<-c.exited
		return fmt.Errorf("redis-server still running %s after SIGTERM; killed", redisStopTimeout)
	}
}
