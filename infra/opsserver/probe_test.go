package opsserver_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pedidos/pedidos/infra/opsserver"
)

func TestProbeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, want string
		wantErr    bool
	}{
		{":9090", "http://127.0.0.1:9090/health/ready", false},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/health/ready", false},
		{"[::]:9090", "http://127.0.0.1:9090/health/ready", false},
		{"127.0.0.1:9090", "http://127.0.0.1:9090/health/ready", false},
		{"[::1]:9090", "http://[::1]:9090/health/ready", false},
		{"control:9090", "http://control:9090/health/ready", false},
		{"9090", "", true},
		{":0", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := opsserver.ProbeURL(tt.addr, opsserver.PathReady)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ProbeURL(%q) = %q, %v; want %q, error %v", tt.addr, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadyURL(t *testing.T) {
	t.Parallel()
	if got, err := opsserver.ReadyURL(":9090"); err != nil || got != "http://127.0.0.1:9090/health/ready" {
		t.Errorf("ReadyURL(:9090) = %q, %v", got, err)
	}
	if _, err := opsserver.ReadyURL(""); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("ReadyURL(\"\") = %v, want an error naming METRICS_ADDR", err)
	}
}

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{":9090", "0.0.0.0:9090", "[::]:9090", "127.0.0.1:0", "control:9090"} {
		if err := opsserver.CheckAddr(ok); err != nil {
			t.Errorf("CheckAddr(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"9090", "localhost", ":http", ":70000", ":-1", "::1:9090"} {
		if err := opsserver.CheckAddr(bad); err == nil {
			t.Errorf("CheckAddr(%q) = nil, want an error", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	ops := start(t, opsserver.Config{Addr: "127.0.0.1:0"})
	addr := ops.Addr().String()
	// The program reads its ops address from its environment, as a
	// service's healthcheck reads METRICS_ADDR.
	getenv := func(k string) string {
		if k == "METRICS_ADDR" {
			return addr
		}
		return ""
	}
	url := func(getenv func(string) string) (string, error) {
		return opsserver.ProbeURL(getenv("METRICS_ADDR"), opsserver.PathReady)
	}
	noURL := func(func(string) string) (string, error) { return "", errors.New("METRICS_ADDR is not set") }

	tests := []struct {
		name     string
		args     []string
		url      opsserver.URLFunc
		ready    bool
		wantDone bool
		wantCode int
		wantErr  string // in stderr
	}{
		{"no argument runs the service", []string{"pedidos-x"}, url, false, false, 0, ""},
		{"starting", []string{"pedidos-x", "-healthcheck"}, url, false, true, 1, "503"},
		{"ready", []string{"pedidos-x", "-healthcheck"}, url, true, true, 0, ""},
		{"no address", []string{"pedidos-x", "-healthcheck"}, noURL, true, true, 1, "METRICS_ADDR is not set"},
		{"unknown flag", []string{"pedidos-x", "-healthcheckx"}, url, true, true, 2, "usage: pedidos-x"},
		{"argument", []string{"pedidos-x", "serve"}, url, true, true, 2, `unexpected argument "serve"`},
		{"help", []string{"pedidos-x", "-h"}, url, true, true, 0, "-healthcheck"},
	}
	for _, tt := range tests {
		// Sequential: the cases share the server's readiness.
		if tt.ready {
			ops.SetReady()
		}
		var stderr bytes.Buffer
		done, code := opsserver.Flags(context.Background(), tt.args, getenv, &stderr, tt.url)
		if done != tt.wantDone || code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%s: Flags(%q) = %v, %d, stderr %q; want %v, %d, stderr with %q",
				tt.name, tt.args, done, code, stderr.String(), tt.wantDone, tt.wantCode, tt.wantErr)
		}
		if tt.wantCode == 0 && tt.wantErr == "" && stderr.Len() > 0 {
			t.Errorf("%s: stderr %q, want nothing", tt.name, stderr.String())
		}
	}
}
