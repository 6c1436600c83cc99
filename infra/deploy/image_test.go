package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// imageTimeout bounds the image test once its images are built.
const imageTimeout = 3 * time.Minute

// TestImages builds the five images with `infra/images.sh host` (what
// `make images-host` runs: static binaries compiled here, FROM scratch, no
// base image pulled) and podman, checks what each declares (non-root user,
// HEALTHCHECK through the binary's -healthcheck, entrypoint, OCI labels),
// then runs them: the four services as containers against servers this
// test starts, each healthy by its own HEALTHCHECK, through a run of 2 000
// orders; and the all-in-one alone, with its embedded servers inside the
// container and its port published, through a run of 1 000.
func TestImages(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (apt-get install podman runc): the images are not built nor run")
	}
	if testing.Short() {
		t.Skip("-short: building the images compiles every binary")
	}
	t.Parallel()
	pm := newPodman(t)
	id := randomHex(t)
	repo := "localhost/pedidos-test-" + id + "/"
	// The label marks the build's intermediate images too, for removeImages.
	label := "pedidos.test=" + id
	build := exec.CommandContext(t.Context(), "../images.sh", "host")
	build.Env = append(os.Environ(), "IMAGE_ENGINE=podman", "IMAGE_REPO="+repo, "IMAGE_TAG=test",
		"IMAGE_BUILD_FLAGS=--label "+label, "IMAGE_CONTEXT="+t.TempDir())
	t.Cleanup(func() { pm.removeImages(t, repo, label) })
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("infra/images.sh host: %v\n%s", err, tail(out, 4000))
	}

	for _, name := range []string{"pedidos-api", "pedidos-control", "pedidos-generator", "pedidos-processor", "pedidos"} {
		checkImage(t.Context(), t, pm, repo+name+":test", "/"+name)
	}

	ctx, cancel := context.WithTimeout(t.Context(), imageTimeout)
	defer cancel()
	t.Run("services", func(t *testing.T) { runServices(ctx, t, pm, repo) })
	t.Run("all-in-one", func(t *testing.T) { runAllInOne(ctx, t, pm, repo) })
}

// checkImage checks the configuration image declares for binary.
func checkImage(ctx context.Context, t *testing.T, pm *podman, image, binary string) {
	t.Helper()
	var info []struct {
		Config struct {
			User       string
			Entrypoint []string
			Labels     map[string]string
		}
		Healthcheck struct{ Test []string }
	}
	if err := json.Unmarshal(pm.output(ctx, t, "image", "inspect", image), &info); err != nil || len(info) != 1 {
		t.Fatalf("podman image inspect %s: %v", image, err)
	}
	c := info[0].Config
	if c.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532 (numeric, not root)", image, c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{binary}) {
		t.Errorf("%s: entrypoint %q, want %s", image, c.Entrypoint, binary)
	}
	if want := []string{"CMD", binary, "-healthcheck"}; !slices.Equal(info[0].Healthcheck.Test, want) {
		t.Errorf("%s: healthcheck %q, want %q (no shell)", image, info[0].Healthcheck.Test, want)
	}
	for _, l := range []string{"title", "description", "source", "version", "revision", "created"} {
		if c.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("%s: no label org.opencontainers.image.%s", image, l)
		}
	}
	if got := c.Labels["org.opencontainers.image.title"]; got != strings.TrimPrefix(binary, "/") {
		t.Errorf("%s: title %q", image, got)
	}
}

// runServices runs the four service images on the host's network against a
// dev stack on loopback, waits until each is healthy, and runs 2 000
// orders through the api's container.
func runServices(ctx context.Context, t *testing.T, pm *podman, repo string) {
	stack := devstacktest.Start(t)
	env := []string{
		"NATS_URL=" + stack.NATSURL, "MONGO_URI=" + stack.MongoURI, "REDIS_URL=" + stack.RedisURL,
		"GENERATION_CHUNK_SIZE=500", "ORDERS_BATCH_SIZE=200",
	}
	apiPort := freePort(ctx, t)
	containers := map[string][]string{
		"control":   {"METRICS_ADDR=127.0.0.1:" + strconv.Itoa(freePort(ctx, t))},
		"generator": {"METRICS_ADDR=127.0.0.1:" + strconv.Itoa(freePort(ctx, t))},
		"processor": {"METRICS_ADDR=127.0.0.1:" + strconv.Itoa(freePort(ctx, t))},
		"api":       {"PORT=" + strconv.Itoa(apiPort)},
	}
	names := map[string]string{}
	for svc, own := range containers {
		names[svc] = pm.run(ctx, t, repo+"pedidos-"+svc+":test", []string{"--network", "host"}, append(slices.Clone(env), own...))
	}
	for svc, name := range names {
		pm.awaitHealthy(ctx, t, name, svc)
	}
	runOrders(ctx, t, "http://127.0.0.1:"+strconv.Itoa(apiPort), 2000)
}

// runAllInOne runs the all-in-one image on podman's own network, its NATS,
// FerretDB and Redis embedded in the container under /data, and its api
// published on a loopback port.
func runAllInOne(ctx context.Context, t *testing.T, pm *podman, repo string) {
	port := freePort(ctx, t)
	name := pm.run(ctx, t, repo+"pedidos:test", []string{"--publish", fmt.Sprintf("127.0.0.1:%d:3000", port)}, nil)
	pm.awaitHealthy(ctx, t, name, "pedidos")
	runOrders(ctx, t, "http://127.0.0.1:"+strconv.Itoa(port), 1000)
}

// runOrders starts a run of n orders through the api at base and waits
// for it to be DONE with every order processed, VIP before NORMAL.
func runOrders(ctx context.Context, t *testing.T, base string, n int) {
	t.Helper()
	var started struct{ RunID string }
	if code := httpJSON(ctx, t, http.MethodPost, base+"/pedidos/generate?quantity="+strconv.Itoa(n), &started); code != http.StatusAccepted {
		t.Fatalf("POST /pedidos/generate = %d", code)
	}
	var status struct {
		Phase  string
		RunID  string
		Counts struct{ VIP, Normal int64 }
	}
	await(ctx, t, "the run DONE", func() error {
		if code := httpJSON(ctx, t, http.MethodGet, base+"/pedidos", &status); code != http.StatusOK {
			return fmt.Errorf("GET /pedidos = %d", code)
		}
		if status.RunID != started.RunID || status.Phase != "DONE" {
			return fmt.Errorf("run %s in phase %s", status.RunID, status.Phase)
		}
		return nil
	})
	if got := status.Counts.VIP + status.Counts.Normal; got != int64(n) {
		t.Errorf("counts %+v, want %d orders", status.Counts, n)
	}
	var runs struct {
		Runs []struct {
			Status        string
			Quantity      int64
			PriorityAudit struct{ Inversions int64 }
		}
	}
	if code := httpJSON(ctx, t, http.MethodGet, base+"/pedidos/runs?limit=1", &runs); code != http.StatusOK || len(runs.Runs) != 1 {
		t.Fatalf("GET /pedidos/runs = %d, %d runs", code, len(runs.Runs))
	}
	if r := runs.Runs[0]; r.Status != "DONE" || r.Quantity != int64(n) || r.PriorityAudit.Inversions != 0 {
		t.Errorf("run report %+v, want DONE, %d orders, no inversion", r, n)
	}
}

// podman runs podman with the flags this machine needs, and removes what a
// test started when it ends.
type podman struct {
	// global and runFlags are added before every command and to every run.
	global, runFlags []string
}

// newPodman works around what a container sandbox may refuse podman: raising
// the containers' rlimits above its own hard limits (podman asks for more
// open files and processes than this machine's root may have), and crun on
// hybrid cgroups (runc, when installed, copes).
func newPodman(t *testing.T) *podman {
	t.Helper()
	pm := &podman{}
	if _, err := exec.LookPath("runc"); err == nil {
		pm.global = []string{"--runtime", "runc"}
	}
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	files := min(nofile.Max, 65536)
	pm.runFlags = []string{"--ulimit", fmt.Sprintf("nofile=%d:%d", files, files), "--ulimit", "nproc=4096:4096"}
	return pm
}

func (pm *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "podman", slices.Concat(pm.global, args)...)
}

// output runs a podman command that must succeed and returns its stdout.
func (pm *podman) output(ctx context.Context, t *testing.T, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := pm.command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// run starts image in the background with env and returns its container's
// name; the container is removed when the test ends, its logs shown if the
// test failed.
func (pm *podman) run(ctx context.Context, t *testing.T, image string, flags, env []string) string {
	t.Helper()
	name := "pedidos-test-" + randomHex(t)
	args := slices.Concat([]string{"run", "--detach", "--name", name}, pm.runFlags, flags)
	for _, e := range env {
		args = append(args, "--env", e)
	}
	pm.output(ctx, t, append(args, image)...)
	t.Cleanup(func() {
		// The test's deadline may be past: clean up all the same.
		ctx := context.WithoutCancel(ctx)
		if t.Failed() {
			out, _ := pm.command(ctx, "logs", "--tail", "40", name).CombinedOutput()
			t.Logf("logs of %s (%s):\n%s", name, image, out)
		}
		if out, err := pm.command(ctx, "rm", "--force", name).CombinedOutput(); err != nil {
			t.Errorf("podman rm %s: %v\n%s", name, err, out)
		}
	})
	return name
}

// awaitHealthy runs the container's HEALTHCHECK (podman runs it on a
// systemd timer, and there may be no systemd: it is run by hand) until it
// passes.
func (pm *podman) awaitHealthy(ctx context.Context, t *testing.T, name, what string) {
	t.Helper()
	await(ctx, t, what+" healthy", func() error {
		out, err := pm.command(ctx, "healthcheck", "run", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("podman healthcheck run: %w: %s", err, out)
		}
		return nil
	})
}

// removeImages removes the images of repo, and the intermediate images of
// their build, which carry label.
func (pm *podman) removeImages(t *testing.T, repo, label string) {
	ctx := context.WithoutCancel(t.Context())
	out, err := pm.command(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		t.Errorf("podman images: %v", err)
		return
	}
	var images []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, repo) {
			images = append(images, line)
		}
	}
	if len(images) > 0 {
		if out, err := pm.command(ctx, append([]string{"rmi", "--force"}, images...)...).CombinedOutput(); err != nil {
			t.Errorf("podman rmi: %v\n%s", err, out)
		}
	}
	if out, err := pm.command(ctx, "image", "prune", "--force", "--filter", "label="+label).CombinedOutput(); err != nil {
		t.Errorf("podman image prune: %v\n%s", err, out)
	}
}

// httpJSON sends a request and decodes a 2xx answer into out.
func httpJSON(ctx context.Context, t *testing.T, method, url string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, body)
		}
	}
	return resp.StatusCode
}

// await calls f until it returns nil, and fails the test with its last
// error when ctx ends first.
func await(ctx context.Context, t *testing.T, what string, f func() error) {
	t.Helper()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-tick.C:
		}
	}
}

// freePort is a TCP port free on loopback when it returns.
func freePort(ctx context.Context, t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// tail is the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
