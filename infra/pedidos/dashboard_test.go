package pedidos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api"
)

// This file tests the dashboard in a real browser (Debian's chromium, driven
// by chromedp) against the whole of Pedidos: control, the generator, one
// processor and two apis, one under the path prefix /ops and one at the
// root, both with an API key.

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// dashboardKey is the API key of the test's apis.
const dashboardKey = "dashboard-test-key"

// dashboardOrders is the size of the run the test starts by clicking: long
// enough to watch counters move, short enough for the embedded FerretDB
// under the race detector and CI's load (~500 orders/s there).
const dashboardOrders = 20_000

// dashboardTimeout bounds every wait of the browser test.
const dashboardTimeout = 2 * time.Minute

// pageBudget bounds the bytes of HTML, JS and CSS the dashboard loads
// (uPlot is half of it).
const pageBudget = 128 << 10

// screenshotDirEnv names the directory where the test also saves its
// screenshot (make screenshot sets it to docs); relative to the repository.
const screenshotDirEnv = "PEDIDOS_SCREENSHOT_DIR"

// The phases of a run that goes to its end, in order.
var fullRun = []string{"GENERATING", "ENQUEUE_VIP", "WAITING_VIP_DRAIN", "ENQUEUE_NORMAL", "WAITING_NORMAL_DRAIN", "DONE"}

func TestDashboard(t *testing.T) {
	stack := startDashboardStack(t)
	ctx := startBrowser(t)
	page := watchPage(ctx, t)

	// The dashboard under a prefix, as wide as a laptop's screen.
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(stack.ops+"/")))
	awaitJS(ctx, t, "the page to connect and show IDLE",
		`document.getElementById("connection").dataset.state === "connected" &&
		 document.getElementById("phase").textContent === "IDLE"`)
	measurePage(ctx, t)
	recordPhases(ctx, t)

	// A run started by typing its size and clicking: the api wants the key.
	must(t, chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("quantity")),
		chromedp.SendKeys(chromedp.ID("quantity"), fmt.Sprint(dashboardOrders)),
		chromedp.Click(chromedp.ID("generate")),
	))
	awaitJS(ctx, t, "the API key dialog", `document.getElementById("key-dialog").open`)
	if st := stack.status(ctx, t); st.Phase != events.PhaseIdle {
		t.Fatalf("a run started before the key was given: %+v", st)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("api-key"), dashboardKey),
		chromedp.Click(chromedp.ID("key-save")),
	))
	awaitJS(ctx, t, "the run to start", `document.getElementById("phase").textContent !== "IDLE"`)

	// Counters and chart move without a reload.
	counts := awaitProgress(ctx, t)
	checkEventSource(ctx, t, stack.ops)
	awaitJS(ctx, t, "NORMAL orders to be processed, for the screenshot",
		`document.getElementById("phase").textContent === "WAITING_NORMAL_DRAIN" &&
		 Number(document.getElementById("count-normal").dataset.value) > `+fmt.Sprint(dashboardOrders/4)+` ||
		 document.getElementById("phase").textContent === "DONE"`)
	saveScreenshot(ctx, t)

	awaitJS(ctx, t, "the run to end", `document.getElementById("phase").textContent === "DONE"`)
	if got := evalJS[[]string](ctx, t, `window.dashboardTest.phases`); !slices.Equal(got, fullRun) {
		t.Errorf("phase text went %v, want %v", got, fullRun)
	}
	awaitJS(ctx, t, "the final counters and timeline", fmt.Sprintf(
		`(%s).processed === %d && (%s).join() === %q`, countersJS, dashboardOrders, timelineJS, strings.Join(fullRun, ",")))
	if final := evalJS[map[string]float64](ctx, t, countersJS); final["vip"]+final["normal"] != dashboardOrders ||
		final["vip"] <= counts["vip"] || final["failed"] != 0 {
		t.Errorf("counters at DONE = %v (during the run %v), want %d processed", final, counts, dashboardOrders)
	}
	var report struct {
		TotalTimeMs int64 `json:"totalTimeMs"`
		Throughput  struct {
			VIP     float64 `json:"vip"`
			Normal  float64 `json:"normal"`
			Overall float64 `json:"overall"`
		} `json:"throughput"`
	}
	_, body := get(ctx, t, stack.ops+"/pedidos")
	must(t, json.Unmarshal(body, &report))
	t.Logf("run of %d orders took %d ms: %+v orders/s", dashboardOrders, report.TotalTimeMs, report.Throughput)
	awaitJS(ctx, t, "the finished run in the runs table",
		`document.querySelector("#runs-table tbody td:nth-child(2)")?.textContent === "DONE"`)

	cancelThroughUI(ctx, t, stack)
	resetThroughUI(ctx, t, stack)

	// Narrow as a phone: nothing sticks out sideways.
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	checkNoOverflow(ctx, t, "/ops/ at 390 px")

	// The same page at the root, from the api without a prefix.
	must(t, chromedp.Do(ctx, chromedp.Navigate(stack.root+"/")))
	awaitJS(ctx, t, "the page at the root to connect and show IDLE",
		`document.getElementById("connection").dataset.state === "connected" &&
		 document.getElementById("phase").textContent === "IDLE"`)
	checkEventSource(ctx, t, stack.root)
	checkNoOverflow(ctx, t, "/ at 390 px")

	page.check(t)
}

// cancelThroughUI starts a second run by clicking, then cancels it through
// the confirmation dialog.
func cancelThroughUI(ctx context.Context, t *testing.T, stack *dashboardStack) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("generate"))))
	awaitJS(ctx, t, "the second run to process orders",
		`["GENERATING", "WAITING_VIP_DRAIN", "ENQUEUE_VIP"].includes(document.getElementById("phase").textContent) &&
		 Number(document.getElementById("count-processed").dataset.value) > 0`)
	if evalJS[bool](ctx, t, `document.getElementById("key-dialog").open`) {
		t.Fatal("the key was asked for again")
	}
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("cancel"))))
	awaitJS(ctx, t, "the cancel confirmation", `document.getElementById("confirm-dialog").open`)
	holds(t, time.Second, func() error {
		if st := stack.status(ctx, t); !st.Phase.Active() {
			return fmt.Errorf("the run stopped before the cancel was confirmed: %+v", st)
		}
		return nil
	})
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm-ok"))))
	awaitJS(ctx, t, "the run to be ABORTED", `document.getElementById("phase").textContent === "ABORTED"`)
	if st := stack.status(ctx, t); st.Phase != events.PhaseAborted {
		t.Errorf("after the cancel, GET /pedidos = %+v, want ABORTED", st)
	}
}

// resetThroughUI resets everything through the confirmation dialog.
func resetThroughUI(ctx context.Context, t *testing.T, stack *dashboardStack) {
	t.Helper()
	runsBefore := stack.runs(ctx, t)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("reset"))))
	awaitJS(ctx, t, "the reset confirmation", `document.getElementById("confirm-dialog").open`)
	holds(t, time.Second, func() error {
		if st, n := stack.status(ctx, t), stack.runs(ctx, t); st.Phase != events.PhaseAborted || n != runsBefore {
			return fmt.Errorf("reset before it was confirmed: %+v, %d runs (was %d)", st, n, runsBefore)
		}
		return nil
	})
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm-ok"))))
	awaitJS(ctx, t, "the page to show IDLE and empty counts",
		`document.getElementById("phase").textContent === "IDLE" &&
		 Object.values((`+countersJS+`)).every((n) => n === 0) &&
		 document.querySelectorAll("#timeline li").length === 0 &&
		 document.querySelector("#runs-table tbody td")?.textContent === "no finished run yet"`)
	if st, n := stack.status(ctx, t), stack.runs(ctx, t); st.Phase != events.PhaseIdle || st.RunID != nil || n != 0 {
		t.Errorf("after the reset: GET /pedidos = %+v, %d runs; want IDLE, no run", st, n)
	}
}

// countersJS reads the run's counters as the page shows them.
const countersJS = `(() => {
	const value = (id) => Number(document.getElementById(id).dataset.value);
	return { generated: value("count-generated"), processed: value("count-processed"),
		vip: value("count-vip"), normal: value("count-normal"), failed: value("count-failed") };
})()`

// timelineJS lists the phases of the timeline.
const timelineJS = `[...document.querySelectorAll("#timeline .phase-name")].map((n) => n.textContent)`

// awaitProgress waits until the processed counter and the throughput
// chart's points grew twice without a reload, and the generated counter
// moved, and returns the counters then.
func awaitProgress(ctx context.Context, t *testing.T) map[string]float64 {
	t.Helper()
	type sample struct {
		Processed float64 `json:"processed"`
		Generated float64 `json:"generated"`
		Points    int     `json:"points"`
	}
	read := `({ processed: Number(document.getElementById("count-processed").dataset.value),
		generated: Number(document.getElementById("count-generated").dataset.value),
		points: Number(document.getElementById("throughput-chart").dataset.points) })`
	var seen []sample
	eventually(t, dashboardTimeout, func() error {
		s := evalJS[sample](ctx, t, read)
		if len(seen) == 0 || s.Processed > seen[len(seen)-1].Processed && s.Points > seen[len(seen)-1].Points {
			seen = append(seen, s)
		}
		if len(seen) < 3 || s.Generated == 0 {
			return fmt.Errorf("counters and chart seen so far: %+v", seen)
		}
		return nil
	})
	return evalJS[map[string]float64](ctx, t, countersJS)
}

// checkEventSource checks, on the page's JavaScript objects themselves,
// that one EventSource follows base's event stream and is open, and that
// the page says it is connected.
func checkEventSource(ctx context.Context, t *testing.T, base string) {
	t.Helper()
	type source struct {
		URL        string `json:"url"`
		ReadyState int    `json:"readyState"`
	}
	var open []source
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		proto, err := chromedp.Evaluate[*runtime.RemoteObject](`EventSource.prototype`)(ctx, tg)
		if err != nil {
			return err
		}
		objs, err := cdp.Call(ctx, tg, runtime.QueryObjects, runtime.QueryObjectsParams{PrototypeObjectID: proto.ObjectID})
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: `function() { return this.map((s) => ({ url: s.url, readyState: s.readyState })); }`,
			ObjectID:            objs.Objects.ObjectID,
			ReturnByValue:       new(true),
		})
		if err != nil {
			return err
		}
		var all []source
		if err := json.Unmarshal(res.Result.Value, &all); err != nil {
			return err
		}
		for _, s := range all {
			if s.ReadyState == 1 {
				open = append(open, s)
			}
		}
		return nil
	}))
	must(t, err)
	if len(open) != 1 || open[0].URL != base+"/pedidos/events" {
		t.Errorf("open EventSources = %+v, want one on %s/pedidos/events", open, base)
	}
	if got := evalJS[string](ctx, t, `document.getElementById("connection").textContent`); got != "Connected" {
		t.Errorf("connection indicator says %q, want Connected", got)
	}
}

// checkNoOverflow checks that the page, once laid out at a 390 px wide
// viewport, is no wider than it (wide tables scroll in their own box).
func checkNoOverflow(ctx context.Context, t *testing.T, what string) {
	t.Helper()
	type layout struct {
		Scroll, Client int
		Wide           []string
	}
	eventually(t, 5*time.Second, func() error {
		l := evalJS[layout](ctx, t, `({
			Scroll: document.documentElement.scrollWidth, Client: window.innerWidth,
			Wide: [...document.body.querySelectorAll("*")]
				.filter((e) => e.getBoundingClientRect().right > window.innerWidth && !e.closest(".table-wrap"))
				.map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")) })`)
		if l.Client != 390 || l.Scroll > 390 {
			return fmt.Errorf("%s: page is %d px wide in a %d px viewport; too wide: %v", what, l.Scroll, l.Client, l.Wide)
		}
		return nil
	})
}

// recordPhases makes the page remember every text its phase shows, in
// window.dashboardTest.phases (test instrumentation, not the page's).
func recordPhases(ctx context.Context, t *testing.T) {
	t.Helper()
	evalJS[bool](ctx, t, `(() => {
		const node = document.getElementById("phase");
		window.dashboardTest = { phases: [] };
		new MutationObserver(() => window.dashboardTest.phases.push(node.textContent))
			.observe(node, { childList: true, characterData: true, subtree: true });
		return true;
	})()`)
}

// measurePage logs the weight of the page (HTML, JS and CSS, as sent and
// decoded) and its first contentful paint, from the Performance API.
func measurePage(ctx context.Context, t *testing.T) {
	t.Helper()
	type file struct {
		Name    string  `json:"name"`
		Sent    float64 `json:"sent"`
		Decoded float64 `json:"decoded"`
	}
	type measures struct {
		Files []file  `json:"files"`
		FCP   float64 `json:"fcp"`
		DCL   float64 `json:"dcl"`
	}
	var m measures
	eventually(t, 10*time.Second, func() error {
		m = evalJS[measures](ctx, t, `(() => {
			const nav = performance.getEntriesByType("navigation")[0];
			const files = [nav, ...performance.getEntriesByType("resource")]
				.filter((e) => /\.(js|css)$|\/$/.test(new URL(e.name).pathname));
			const fcp = performance.getEntriesByName("first-contentful-paint")[0];
			return { files: files.map((e) => ({ name: new URL(e.name).pathname, sent: e.encodedBodySize, decoded: e.decodedBodySize })),
				fcp: fcp ? fcp.startTime : 0, dcl: nav.domContentLoadedEventEnd };
		})()`)
		if m.FCP == 0 {
			return errors.New("no first-contentful-paint yet")
		}
		return nil
	})
	var sent, decoded float64
	for _, e := range m.Files {
		sent += e.Sent
		decoded += e.Decoded
		t.Logf("dashboard file %s: %.0f bytes, %.0f sent", e.Name, e.Decoded, e.Sent)
	}
	t.Logf("dashboard page weight: %d files, HTML+JS+CSS %.0f bytes (%.1f KiB), %.0f bytes sent gzipped (%.1f KiB); "+
		"DOMContentLoaded %.0f ms, first contentful paint %.0f ms",
		len(m.Files), decoded, decoded/1024, sent, sent/1024, m.DCL, m.FCP)
	if decoded > pageBudget {
		t.Errorf("the page weighs %.0f bytes, more than its budget of %d", decoded, pageBudget)
	}
}

// saveScreenshot saves the viewport to the test's temporary directory, and
// to $PEDIDOS_SCREENSHOT_DIR/dashboard.png when that is set.
func saveScreenshot(ctx context.Context, t *testing.T) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err)
	dirs := []string{t.TempDir()}
	if dir := os.Getenv(screenshotDirEnv); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join("..", "..", dir) // go test runs in infra/pedidos
		}
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, "dashboard.png")
		must(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot saved to %s", path)
	}
}

// evalJS evaluates a JavaScript expression in the page and decodes its value.
func evalJS[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// awaitJS waits until a JavaScript expression is true in the page. It
// polls from Go: chromedp.Poll compiles its predicate with new Function,
// which the page's Content-Security-Policy forbids.
func awaitJS(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	eventually(t, dashboardTimeout, func() error {
		if !evalJS[bool](ctx, t, "Boolean("+expr+")") {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// pageWatch collects what the page must not do: log errors to its console,
// throw, or send a request off this machine.
type pageWatch struct {
	mu       sync.Mutex
	problems []string
	requests int
	unauth   int // the 401 the first POST gets before the key is given
}

// watchPage listens to the console, the exceptions and the requests of the
// page of ctx.
func watchPage(ctx context.Context, t *testing.T) *pageWatch {
	t.Helper()
	w := &pageWatch{}
	must(t, chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert ||
				ev.Type == runtime.ConsoleAPICalledTypeWarning {
				w.problems = append(w.problems, fmt.Sprintf("console.%s: %s", ev.Type, remoteArgs(ev.Args)))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			w.problems = append(w.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		case *log.EventEntryAdded:
			e := ev.Entry
			switch {
			case e.Level != log.EntryLevelError && e.Level != log.EntryLevelWarning:
			case e.Source == log.EntrySourceNetwork && strings.Contains(e.Text, "status of 401") && strings.HasSuffix(e.URL, "/pedidos/generate?quantity="+strconv.Itoa(dashboardOrders)):
				w.unauth++
			default:
				w.problems = append(w.problems, fmt.Sprintf("%s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL))
			}
		case *network.EventRequestWillBeSent:
			w.requests++
			u, err := url.Parse(ev.Request.URL)
			if err != nil || u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" {
				w.problems = append(w.problems, "request off this machine: "+ev.Request.URL)
			}
		}
	}))
	return w
}

// check fails t with everything the page did wrong.
func (w *pageWatch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems {
		t.Error(p)
	}
	if w.requests == 0 {
		t.Error("saw no request: the network listener is not working")
	}
	if w.unauth != 1 {
		t.Errorf("saw %d 401 answers to the first generate, want 1 (the request before the key)", w.unauth)
	}
}

// remoteArgs formats the arguments of a console call.
func remoteArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// startBrowser starts Debian's chromium, headless with a fresh profile; it
// stops when the test ends. A missing chromium fails the test: CI installs it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the dashboard test needs Debian's chromium at %s (apt-get install chromium; .ci/run installs it): %v",
			chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	must(t, chromedp.Do(ctx)) // starts the browser, with no deadline
	return ctx
}

// dashboardStack is Pedidos running for the browser test.
type dashboardStack struct {
	ops  string // the api under /ops: http://127.0.0.1:port/ops
	root string // the api at the root: http://127.0.0.1:port
}

// startDashboardStack starts control, the generator, one processor and two
// apis (PATH_PREFIX=/ops and none) with an API key on a fresh embedded
// stack, every service publishing its log lines for the apis; they stop
// when the test ends.
func startDashboardStack(t *testing.T) *dashboardStack {
	t.Helper()
	stack := devstacktest.Start(t)
	vars := map[string]string{
		"DATA_DIR":              t.TempDir(),
		"API_KEY":               dashboardKey,
		"GENERATION_CHUNK_SIZE": "5000",
	}
	services := configure(t, stack, vars)
	vars["PATH_PREFIX"] = "/ops"
	ops := configure(t, stack, vars).APIs[0]
	root := services.APIs[0]
	services.Control.Logger = serviceLogger(t, "control")
	services.Generators[0].Logger = serviceLogger(t, "generator")
	services.Processors[0].Logger = serviceLogger(t, "processor")
	ops.Logger = serviceLogger(t, "api")
	root.Logger = ops.Logger.With(slog.String("instance", "root"))
	ops.Listener, root.Listener = listen(t), listen(t)
	services.APIs = []api.Config{ops, root}
	runServices(t, services)
	s := &dashboardStack{
		ops:  "http://" + ops.Listener.Addr().String() + "/ops",
		root: "http://" + root.Listener.Addr().String(),
	}
	for _, base := range []string{s.ops, s.root} {
		eventually(t, rigTimeout, func() error {
			if code, body := get(t.Context(), t, base+"/pedidos/health/ready"); code != http.StatusOK {
				return fmt.Errorf("GET %s/pedidos/health/ready = %d %s", base, code, body)
			}
			return nil
		})
	}
	return s
}

// serviceLogger returns the logger of one service, as the programs build
// it: its lines go to the test log, and its info, warn and error lines to
// the LOGS stream (once the service attaches its connection), which the
// apis serve and follow.
func serviceLogger(t *testing.T, process string) *slog.Logger {
	t.Helper()
	logger, files, err := logs.New(logs.Config{Format: "json", Level: slog.LevelInfo, Stream: true, Process: process}, testWriter{t})
	must(t, err)
	t.Cleanup(func() { _ = files.Close() })
	return logger
}

// listen opens a listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	must(t, err)
	return ln
}

// status returns GET /pedidos of the api.
func (s *dashboardStack) status(ctx context.Context, t *testing.T) rigStatus {
	t.Helper()
	var st rigStatus
	code, body := get(ctx, t, s.ops+"/pedidos")
	if code != http.StatusOK {
		t.Fatalf("GET /pedidos = %d %s", code, body)
	}
	must(t, json.Unmarshal(body, &st))
	return st
}

// runs returns how many finished runs GET /pedidos/runs counts.
func (s *dashboardStack) runs(ctx context.Context, t *testing.T) int64 {
	t.Helper()
	var a struct {
		Total int64 `json:"total"`
	}
	code, body := get(ctx, t, s.ops+"/pedidos/runs")
	if code != http.StatusOK {
		t.Fatalf("GET /pedidos/runs = %d %s", code, body)
	}
	must(t, json.Unmarshal(body, &a))
	return a.Total
}

// get sends a GET to u and returns the status and the body.
func get(ctx context.Context, t *testing.T, u string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	must(t, err)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, body
}
