package pedidos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

// TestMetrics scrapes GET /metrics during a run, as Prometheus would, and
// at DONE checks the processed counters against MongoDB; promtool (from
// Debian's prometheus package, which CI installs) checks the exposition.
func TestMetrics(t *testing.T) {
	t.Parallel()
	const quantity = 20_000
	r := startRig(t, fast)
	root := strings.TrimSuffix(r.base, "/pedidos")
	prom := startPrometheus(t, root)
	eventually(t, rigTimeout, func() error { return prom.scraped(t) })
	began := time.Now()
	runID := r.start(t, quantity)
	var during []byte
	eventually(t, rigTimeout, func() error {
		during = scrape(t, root)
		if !bytes.Contains(during, []byte(`pedidos_run_phase{phase="GENERATING"} 1`)) &&
			!bytes.Contains(during, []byte("pedidos_orders_processed_total{priority=\"VIP\"} ")) {
			return errors.New("no metric of the run yet")
		}
		return nil
	})
	if phase := r.awaitEnd(t, runID); phase != events.PhaseDone {
		t.Fatalf("run ended %s", phase)
	}
	byPriority := map[events.Priority]int64{}
	for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
		n, err := r.db.Collection(events.CollectionOrders).CountDocuments(t.Context(),
			bson.D{{Key: "runId", Value: runID}, {Key: "priority", Value: p}})
		must(t, err)
		byPriority[p] = n
	}
	eventually(t, rigTimeout, func() error {
		families := parseMetrics(t, scrape(t, root))
		for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
			processed := sample(families, "pedidos_orders_processed_total", map[string]string{"priority": string(p)})
			run := sample(families, "pedidos_run_orders", map[string]string{"priority": string(p), "state": "processed"})
			if int64(processed) != byPriority[p] || int64(run) != byPriority[p] {
				return fmt.Errorf("%s: pedidos_orders_processed_total %v, pedidos_run_orders %v; MongoDB holds %d",
					p, processed, run, byPriority[p])
			}
		}
		if done := sample(families, "pedidos_run_phase", map[string]string{"phase": string(events.PhaseDone)}); done != 1 {
			return fmt.Errorf("pedidos_run_phase{phase=DONE} = %v", done)
		}
		return nil
	})
	final := scrape(t, root)
	for _, want := range []string{"http_requests_total{", "pedidos_batch_write_seconds_bucket", "pedidos_orders_published_total",
		"pedidos_consumer_pending", "pedidos_sse_clients", "go_goroutines"} {
		if !bytes.Contains(final, []byte(want)) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// A real Prometheus scraped the run: the processed rate has values.
	eventually(t, rigTimeout, func() error {
		return prom.rateSeen(t, began)
	})
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool (Debian's prometheus package) is needed to check the exposition: %v", err)
	}
	for name, body := range map[string][]byte{"during the run": during, "at DONE": final} {
		cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics, %s: %v\n%s", name, err, out)
		}
	}
}

func scrape(t *testing.T, root string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/metrics", nil)
	must(t, err)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s %s", resp.Status, body)
	}
	return body
}

func parseMetrics(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	must(t, err)
	return families
}

// sample returns the value of the sample of family name with labels.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] == l.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// promServer is a Prometheus server run by a test, scraping one target.
type promServer struct{ base string }

// startPrometheus runs Debian's prometheus, scraping root/metrics every
// 250 ms, until the test ends.
func startPrometheus(t *testing.T, root string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus (Debian's package) is needed: %v", err)
	}
	dir := t.TempDir()
	target := strings.TrimPrefix(root, "http://")
	config := fmt.Sprintf("global:\n  scrape_interval: 250ms\nscrape_configs:\n  - job_name: pedidos\n    static_configs:\n      - targets: [%q]\n", target)
	must(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600))
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.CommandContext(t.Context(), bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &out}, &lockedWriter{w: &out}
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus's output:\n%s", tail(out.Bytes(), 2000))
		}
	})
	return &promServer{base: "http://" + addr}
}

// scraped reports, as an error until it holds, whether Prometheus has
// scraped the target.
func (p *promServer) scraped(t *testing.T) error {
	var answer struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := p.query(t, "/api/v1/query", url.Values{"query": {"up == 1"}}, &answer); err != nil {
		return err
	}
	if len(answer.Data.Result) == 0 {
		return errors.New("prometheus has not scraped the api yet")
	}
	return nil
}

// query asks Prometheus's HTTP API and decodes its answer into out.
func (p *promServer) query(t *testing.T, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return json.NewDecoder(resp.Body).Decode(out)
}

// rateSeen reports, as an error until it holds, whether a query of the
// processed rate over the run returns a value above 0.
func (p *promServer) rateSeen(t *testing.T, since time.Time) error {
	q := url.Values{
		"query": {"sum(rate(pedidos_orders_processed_total[2s]))"},
		"start": {strconv.FormatInt(since.Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Unix()+1, 10)},
		"step":  {"1"},
	}
	var answer struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.query(t, "/api/v1/query_range", q, &answer); err != nil {
		return err
	}
	for _, series := range answer.Data.Result {
		for _, v := range series.Values {
			if f, err := strconv.ParseFloat(fmt.Sprint(v[1]), 64); err == nil && f > 0 {
				t.Logf("prometheus: sum(rate(pedidos_orders_processed_total[2s])) reached %.0f orders/s", f)
				return nil
			}
		}
	}
	return errors.New("prometheus has no processed rate above 0 yet")
}
