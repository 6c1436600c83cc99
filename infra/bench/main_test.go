package main

import (
	"os/exec"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseSizes(t *testing.T) {
	t.Parallel()
	got, err := parseSizes("100000, 500_000,1500000")
	if err != nil || !slices.Equal(got, []int64{100_000, 500_000, 1_500_000}) {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-5", "1e6", "100000,"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) succeeded", bad)
		}
	}
}

func TestServicesEnv(t *testing.T) {
	t.Parallel()
	h := &harness{
		opts:    params{sizes: []int64{2_000_000}, env: envList{"ORDERS_BATCH_SIZE=1000", "NATS_URL=nats://elsewhere:4222", "LOG_FORMAT=text"}},
		baseEnv: []string{"PATH=/usr/bin", "ORDERS_BATCH_SIZE=200", "MONGO_URI=mongodb://shell/"},
		getenv:  func(string) string { return "" },
	}
	urls := map[string]string{serverNATS: "nats://127.0.0.1:1", serverMongo: "mongodb://127.0.0.1:2/", serverRedis: "redis://127.0.0.1:3"}
	// Ask exec which value of each key a child gets: the last one.
	cmd := exec.CommandContext(t.Context(), "true")
	cmd.Env = h.servicesEnv(kindQueue, urls, 8080, "/data")
	got := map[string]string{}
	for _, kv := range cmd.Environ() {
		for _, key := range []string{"PATH", "ORDERS_BATCH_SIZE", "NATS_URL", "MONGO_URI", "REDIS_URL", "PORT", "DATA_DIR", "LOG_FORMAT", "MAX_ORDERS", "BENCH_DISCARD_WRITES"} {
			if v, ok := cutKey(kv, key); ok {
				got[key] = v
			}
		}
	}
	want := map[string]string{
		"PATH": "/usr/bin", "ORDERS_BATCH_SIZE": "1000", "NATS_URL": "nats://127.0.0.1:1", "MONGO_URI": "mongodb://127.0.0.1:2/",
		"REDIS_URL": "redis://127.0.0.1:3", "PORT": "8080", "DATA_DIR": "/data", "LOG_FORMAT": "text",
		"MAX_ORDERS": "2000000", "BENCH_DISCARD_WRITES": "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if v := h.envValue("ORDERS_BATCH_SIZE"); v != "1000" {
		t.Errorf("envValue(ORDERS_BATCH_SIZE) = %q, want the -env value", v)
	}
}

// cutKey returns the value of kv if its key is key.
func cutKey(kv, key string) (string, bool) {
	if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
		return kv[len(key)+1:], true
	}
	return "", false
}

func TestEnvList(t *testing.T) {
	t.Parallel()
	var e envList
	for _, ok := range []string{"A=1", "B=", "C=x=y"} {
		if err := e.Set(ok); err != nil {
			t.Errorf("Set(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"A", "=1", "A B=1"} {
		if err := e.Set(bad); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
	if !slices.Equal(e, envList{"A=1", "B=", "C=x=y"}) {
		t.Errorf("envList = %v", e)
	}
}
