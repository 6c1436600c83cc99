package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machine describes where the figures were measured.
type machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memoryBytes"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"goVersion"`
	GitCommit   string `json:"gitCommit"`
	// GitDirty says the working tree had changes the commit does not hold.
	GitDirty bool `json:"gitDirty"`
}

// describeMachine gathers the machine's description; what cannot be read
// stays empty.
func describeMachine(ctx context.Context, root string) machine {
	m := machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = procField(data, "model name")
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(procField(data, "MemTotal")); len(f) == 2 && f[1] == "kB" {
			kb, _ := strconv.ParseInt(f[0], 10, 64) // 0 if malformed
			m.MemoryBytes = kb << 10
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := goCommand(ctx, root, "env", "GOVERSION"); err == nil {
		m.GoVersion = strings.TrimSpace(out) // the toolchain that built the services
	}
	if out, err := command(ctx, root, "git", "rev-parse", "HEAD"); err == nil {
		m.GitCommit = strings.TrimSpace(out)
	}
	if out, err := command(ctx, root, "git", "status", "--porcelain"); err == nil {
		m.GitDirty = strings.TrimSpace(out) != ""
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc
// file such as cpuinfo or meminfo.
func procField(data []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
