package control

import (
	"strings"
	"testing"
)

func TestConfigFromEnvReplicas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    int
		wantErr bool
	}{
		{"", 1, false},
		{"1", 1, false},
		{"3", 3, false},
		{"5", 5, false},
		{"0", 0, true},
		{"6", 0, true},
		{"-1", 0, true},
		{"three", 0, true},
		{"3 ", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg, err := ConfigFromEnv(envOf(map[string]string{"NATS_REPLICAS": tt.value}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "NATS_REPLICAS") {
					t.Fatalf("ConfigFromEnv(NATS_REPLICAS=%q) = %v, want an error naming NATS_REPLICAS", tt.value, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Replicas != tt.want {
				t.Errorf("Replicas = %d, want %d", cfg.Replicas, tt.want)
			}
		})
	}
}

func TestConfigFromEnvMetricsAddr(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(envOf(map[string]string{"METRICS_ADDR": ":9090"}))
	if err != nil || cfg.MetricsAddr != ":9090" {
		t.Errorf("METRICS_ADDR=:9090: %+v, %v", cfg.MetricsAddr, err)
	}
	if cfg, err := ConfigFromEnv(envOf(nil)); err != nil || cfg.MetricsAddr != "" {
		t.Errorf("METRICS_ADDR unset: %q, %v; want no ops server", cfg.MetricsAddr, err)
	}
	if _, err := ConfigFromEnv(envOf(map[string]string{"METRICS_ADDR": "9090"})); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("METRICS_ADDR=9090: %v, want an error naming METRICS_ADDR", err)
	}
}

func TestConfigLogValueRedactsEveryNATSURL(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(envOf(map[string]string{
		"NATS_URL": "nats://u:secret1@nats-1:4222, nats://u:secret2@nats-2:4222",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.LogValue().String()
	if strings.Contains(got, "secret") || !strings.Contains(got, "nats://u:xxxxx@nats-1:4222,nats://u:xxxxx@nats-2:4222") {
		t.Errorf("LogValue() = %s, want both URLs with their passwords masked", got)
	}
}

// envOf is a getenv that reads m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
