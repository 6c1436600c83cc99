package devstacktest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/pedidos/pedidos/infra/devstack"
)

// RedisModes are the two Redis servers Pedidos runs on: redis-server, and
// the in-process miniredis a machine without it falls back to. Tests of
// code that talks to Redis run against both.
var RedisModes = []devstack.RedisMode{devstack.RedisServer, devstack.RedisMiniredis}

// EachRedis runs f as one subtest per Redis mode, named after it. Where
// redis-server is not on PATH its subtest is skipped with a message, unless
// the CI variable is set: CI installs redis-server, so there its absence
// fails the test.
func EachRedis(t *testing.T, f func(t *testing.T, mode devstack.RedisMode)) {
	t.Helper()
	for _, mode := range RedisModes {
		t.Run(string(mode), func(t *testing.T) {
			RequireRedis(t, mode)
			f(t, mode)
		})
	}
}

// RequireRedis skips t when mode is redis-server and none is installed,
// outside CI; in CI it fails t instead.
func RequireRedis(t testing.TB, mode devstack.RedisMode) {
	t.Helper()
	if mode != devstack.RedisServer {
		return
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not on PATH, and CI must test it: %v", err)
		}
		t.Skipf("redis-server is not on PATH (install Debian's redis-server to run this variant; CI does): %v", err)
	}
}

// Redis starts only a Redis server of the given mode for one test, with its
// data in t.TempDir(), and returns its URL. It is stopped when the test ends.
func Redis(t testing.TB, mode devstack.RedisMode) string {
	t.Helper()
	RequireRedis(t, mode)
	stack, err := devstack.StartRedis(t.Context(), devstack.Config{Dir: t.TempDir(), Redis: mode})
	if err != nil {
		t.Fatalf("starting %s: %v", mode, err)
	}
	t.Cleanup(func() {
		if err := stack.Close(); err != nil {
			t.Errorf("stopping %s: %v", mode, err)
		}
	})
	return stack.RedisURL
}
