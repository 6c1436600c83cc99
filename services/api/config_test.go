package api

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnvDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 3000 || cfg.NATSURL != "nats://127.0.0.1:4222" || cfg.MongoURI != "mongodb://127.0.0.1:27017/" ||
		cfg.RedisURL != "redis://127.0.0.1:6379" || cfg.MaxOrders != 1_500_000 || !slices.Equal(cfg.CORSOrigins, []string{"*"}) ||
		!cfg.Logs || cfg.APIKey != "" {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{
		"PORT":         "8080",
		"NATS_URL":     "nats://a:4222,nats://b:4222",
		"MONGO_URI":    "mongodb://u:p@m1:27017,m2:27017/?replicaSet=rs0",
		"REDIS_HOST":   "::1",
		"REDIS_PORT":   "6380",
		"MAX_ORDERS":   "2000",
		"CORS_ORIGINS": "https://a.example, http://localhost:3001",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8080 || cfg.RedisURL != "redis://[::1]:6380" || cfg.MaxOrders != 2000 ||
		!slices.Equal(cfg.CORSOrigins, []string{"https://a.example", "http://localhost:3001"}) {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, err = ConfigFromEnv(env(map[string]string{"REDIS_URL": "redis://:pw@r:6379/2", "REDIS_HOST": "ignored"}))
	if err != nil || cfg.RedisURL != "redis://:pw@r:6379/2" {
		t.Errorf("REDIS_URL: cfg.RedisURL = %q, %v", cfg.RedisURL, err)
	}
}

func TestConfigFromEnvLogsAndKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		logs bool
	}{
		{map[string]string{"DATA_DIR": "/var/pedidos"}, true},
		{map[string]string{"BACKEND_LOGS": "true"}, true},
		{map[string]string{"BACKEND_LOGS": "1"}, true},
		{map[string]string{"BACKEND_LOGS": "false"}, false},
		{map[string]string{"BACKEND_LOGS": "0"}, false},
	}
	for _, tt := range tests {
		cfg, err := ConfigFromEnv(env(tt.env))
		if err != nil || cfg.Logs != tt.logs {
			t.Errorf("ConfigFromEnv(%v): Logs = %t, %v; want %t", tt.env, cfg.Logs, err, tt.logs)
		}
	}
	cfg, err := ConfigFromEnv(env(map[string]string{"API_KEY": "k3y"}))
	if err != nil || cfg.APIKey != "k3y" {
		t.Errorf("API_KEY: cfg.APIKey = %q, %v", cfg.APIKey, err)
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		want []string // every one must appear in the error
	}{
		{map[string]string{"PORT": "http"}, []string{`PORT="http"`}},
		{map[string]string{"PORT": "70000"}, []string{"PORT"}},
		{map[string]string{"NATS_URL": "localhost:4222"}, []string{"NATS_URL", "scheme"}},
		{map[string]string{"MONGO_URI": "postgres://x"}, []string{"MONGO_URI"}},
		{map[string]string{"MONGO_URI": "mongodb://u:secret@/db"}, []string{"MONGO_URI", "u:xxxxx@"}},
		{map[string]string{"REDIS_URL": "http://r"}, []string{"REDIS_URL"}},
		{map[string]string{"REDIS_PORT": "0"}, []string{"REDIS_PORT"}},
		{map[string]string{"MAX_ORDERS": "0"}, []string{"MAX_ORDERS"}},
		{map[string]string{"MAX_ORDERS": "1.5e6"}, []string{"MAX_ORDERS"}},
		{map[string]string{"CORS_ORIGINS": "https://a,,https://b"}, []string{"CORS_ORIGINS"}},
		{map[string]string{"CORS_ORIGINS": "example.com"}, []string{"CORS_ORIGINS"}},
		{map[string]string{"PORT": "x", "MAX_ORDERS": "-1"}, []string{"PORT", "MAX_ORDERS"}},
		{map[string]string{"BACKEND_LOGS": "off"}, []string{`BACKEND_LOGS="off"`, "true or false"}},
	}
	for _, tt := range tests {
		_, err := ConfigFromEnv(env(tt.env))
		if err == nil {
			t.Errorf("ConfigFromEnv(%v) = nil error", tt.env)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ConfigFromEnv(%v) = %q, want it to mention %q", tt.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q leaks a password", err)
		}
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Port:        3000,
		NATSURL:     "nats://s3cr3t-token@n1:4222,nats://user:pw1@n2:4222",
		MongoURI:    "mongodb://admin:pw2@m1,m2/ecommerce?authSource=admin",
		RedisURL:    "redis://:pw3@r:6379/0",
		MaxOrders:   10,
		CORSOrigins: []string{"*"},
		Logs:        true,
		APIKey:      "pw4-api-key",
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("start", slog.Any("config", cfg))
	out := b.String()
	for _, secret := range []string{"s3cr3t-token", "pw1", "pw2", "pw3", "pw4"} {
		if strings.Contains(out, secret) {
			t.Errorf("log %q leaks %q", out, secret)
		}
	}
	for _, kept := range []string{"n1:4222", "user:xxxxx@n2", "admin:xxxxx@m1,m2/ecommerce", ":xxxxx@r:6379", "max_orders=10", "api_key=xxxxx", "logs=true"} {
		if !strings.Contains(out, kept) {
			t.Errorf("log %q lacks %q", out, kept)
		}
	}
}
