package pedidos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// npmCI installs the npm packages of testdata/<name>/package-lock.json
// with npm ci, once per lock file and Node version: into a directory under
// os.TempDir() named by their hash, which later runs reuse. It returns the
// node_modules directory; want is a file of it that a complete install
// holds. Node and npm must be on PATH. (installBull does the same for
// testdata/bull.)
func npmCI(t *testing.T, name, want string) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm; .ci/run does) "+
				"to run the tests that use npm packages", tool)
		}
	}
	src, err := filepath.Abs(filepath.Join("testdata", name))
	must(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	version, err := exec.CommandContext(ctx, "node", "--version").Output()
	must(t, err)
	files := []string{"package.json", "package-lock.json"}
	h := sha256.New()
	h.Write(bytes.TrimSpace(version))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		must(t, err)
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "pedidos-"+name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	modules := filepath.Join(dir, "node_modules")
	installed := filepath.Join(modules, want)
	if _, err := os.Stat(installed); err == nil {
		return modules
	}

	// Install beside the cache directory and rename it into place, so that
	// a directory under that name is always a complete install, whoever
	// else installs at the same time.
	tmp, err := os.MkdirTemp(os.TempDir(), "pedidos-"+name+"-install-")
	must(t, err)
	defer func() { _ = os.RemoveAll(tmp) }()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(tmp, f), b, 0o600))
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = tmp
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci of testdata/%s: %v\n%s", name, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(installed); serr != nil {
			t.Fatalf("moving the %s install into %s: %v", name, dir, err)
		}
		// Another test process installed it first.
	}
	t.Logf("installed the npm packages of testdata/%s in %s in %v", name, dir, time.Since(start).Round(time.Millisecond))
	return modules
}
