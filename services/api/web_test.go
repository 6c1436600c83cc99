package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pedidos/pedidos/services/api/web"
)

// newWebServer returns the router of an api with the dashboard's files and
// the given path prefix; the routes that need the stores are not called.
func newWebServer(t *testing.T, prefix string) http.Handler {
	t.Helper()
	assets, err := loadAssets(web.FS)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{PathPrefix: prefix}.withDefaults()
	s := &server{cfg: cfg, logger: slog.New(slog.DiscardHandler), assets: assets, meters: testMeters()}
	return s.newEcho()
}

// get sends a GET with header to h and returns the answer.
func get(t *testing.T, h http.Handler, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// inlineAttr matches an inline style or event handler attribute.
var inlineAttr = regexp.MustCompile(`\s(style|on[a-z]+)\s*=`)

func TestDashboardPage(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/ops", "/a/b-c"} {
		h := newWebServer(t, prefix)
		rec := get(t, h, prefix+"/", nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s/ = %d %q, want 200 text/html", prefix, rec.Code, rec.Header().Get("Content-Type"))
		}
		body := rec.Body.String()
		// No inline script or style: the CSP would block them.
		if !strings.Contains(body, `<script src="js/main.js" type="module">`) ||
			strings.Count(body, "<script") != strings.Count(body, "<script src=") ||
			strings.Contains(body, "<style") || inlineAttr.MatchString(body) {
			t.Errorf("GET %s/: page lacks its module script, or has inline script or style:\n%s", prefix, body)
		}
		// Every URL of the page is relative, so that it works under a prefix.
		for _, abs := range []string{`src="/`, `href="/`, "http://", "https://"} {
			if strings.Contains(body, abs) {
				t.Errorf("GET %s/: page has a URL that is not relative (%s)", prefix, abs)
			}
		}
		h2 := rec.Header()
		csp := h2.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "connect-src 'self'", "script-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s/: CSP %q lacks %q", prefix, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s/: CSP %q allows inline code", prefix, csp)
		}
		if h2.Get("X-Content-Type-Options") != "nosniff" || h2.Get("Cache-Control") != cacheOwn {
			t.Errorf("GET %s/: headers %v, want nosniff and Cache-Control %q", prefix, h2, cacheOwn)
		}
	}
}

func TestDashboardUnderPrefix(t *testing.T) {
	t.Parallel()
	h := newWebServer(t, "/ops")

	// The API moves under the prefix with the page.
	if rec := get(t, h, "/ops/pedidos/health/live", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /ops/pedidos/health/live = %d %s, want 200", rec.Code, rec.Body)
	}
	for _, path := range []string{"/", "/pedidos/health/live", "/js/main.js"} {
		rec := get(t, h, path, nil)
		assertErrorShape(t, rec, http.StatusNotFound, "Cannot GET "+path)
	}
	// The prefix alone leads to the page, whose relative URLs need the slash.
	rec := get(t, h, "/ops?x=1", nil)
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ops/?x=1" {
		t.Errorf("GET /ops = %d Location %q, want 301 to /ops/?x=1", rec.Code, rec.Header().Get("Location"))
	}
	// A trailing slash still does not matter to the API.
	if rec := get(t, h, "/ops/pedidos/health/live/", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /ops/pedidos/health/live/ = %d, want 200", rec.Code)
	}
}

func TestDashboardAssets(t *testing.T) {
	t.Parallel()
	h := newWebServer(t, "/ops")
	tests := []struct {
		path, contentType, cacheControl string
	}{
		{"/ops/js/main.js", "text/javascript", cacheOwn},
		{"/ops/css/dashboard.css", "text/css", cacheOwn},
		{"/ops/favicon.svg", "image/svg+xml", cacheOwn},
		{"/ops/vendor/uplot/uPlot.iife.min.js", "text/javascript", cacheVendor},
		{"/ops/vendor/uplot/uPlot.min.css", "text/css", cacheVendor},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.path, nil)
		hdr := rec.Header()
		if rec.Code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), tt.contentType) ||
			hdr.Get("Cache-Control") != tt.cacheControl || hdr.Get("X-Content-Type-Options") != "nosniff" ||
			hdr.Get("ETag") == "" || rec.Body.Len() == 0 {
			t.Errorf("GET %s = %d %v, want 200 %s, Cache-Control %q, nosniff and an ETag",
				tt.path, rec.Code, hdr, tt.contentType, tt.cacheControl)
			continue
		}
		// The browser's copy is still good: 304, no body.
		again := get(t, h, tt.path, http.Header{"If-None-Match": {hdr.Get("ETag")}})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag = %d (%d bytes), want 304 without a body", tt.path, again.Code, again.Body.Len())
		}
	}
	for _, path := range []string{"/ops/js/nope.js", "/ops/vendor/uplot", "/ops/vendor/README.md", "/ops/web.go"} {
		assertErrorShape(t, get(t, h, path, nil), http.StatusNotFound, "Cannot GET "+path)
	}
}

func TestDashboardGzip(t *testing.T) {
	t.Parallel()
	h := newWebServer(t, "")
	plain := get(t, h, "/vendor/uplot/uPlot.iife.min.js", nil)
	zipped := get(t, h, "/vendor/uplot/uPlot.iife.min.js", http.Header{"Accept-Encoding": {"br;q=1.0, gzip;q=0.8"}})
	if zipped.Header().Get("Content-Encoding") != "gzip" || !slices.Contains(zipped.Header().Values("Vary"), "Accept-Encoding") ||
		zipped.Header().Get("ETag") == plain.Header().Get("ETag") || zipped.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzip answer %v (%d bytes), plain %v (%d bytes)", zipped.Header(), zipped.Body.Len(), plain.Header(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(body, plain.Body.Bytes()) {
		t.Errorf("gunzipped answer differs from the plain one (%v)", err)
	}
	if rec := get(t, h, "/vendor/uplot/uPlot.iife.min.js", http.Header{"Accept-Encoding": {"gzip;q=0, *"}}); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 answered with Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"":                       false,
		"gzip":                   true,
		"gzip, deflate, br":      true,
		"deflate, gzip;q=0.5":    true,
		"gzip;q=0":               false,
		"gzip; q=0.000":          false,
		"*":                      true,
		"*;q=0":                  false,
		"identity":               false,
		"br, *;q=0.1":            true,
		"gzip;q=0, *;q=1":        false,
		"x-gzip, compress, br":   false,
		"  gzip  ;  q=0.3  , br": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestParsePathPrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/": "", "/ops": "/ops", "/ops/": "/ops", "/a/b_c.d~e-f": "/a/b_c.d~e-f"} {
		if got, err := parsePathPrefix(in); err != nil || got != want {
			t.Errorf("parsePathPrefix(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ops", "//ops", "/ops//x", "/../x", "/./x", "/a b", "/a?b", "/a#b", "/a%20", "/é"} {
		if got, err := parsePathPrefix(in); err == nil {
			t.Errorf("parsePathPrefix(%q) = %q, want an error", in, got)
		}
	}
	cfg, err := ConfigFromEnv(env(map[string]string{"PATH_PREFIX": "/ops/"}))
	if err != nil || cfg.PathPrefix != "/ops" {
		t.Errorf("PATH_PREFIX=/ops/: PathPrefix %q, %v", cfg.PathPrefix, err)
	}
	if _, err := ConfigFromEnv(env(map[string]string{"PATH_PREFIX": "ops"})); err == nil || !strings.Contains(err.Error(), "PATH_PREFIX") {
		t.Errorf("PATH_PREFIX=ops: error %v, want one naming PATH_PREFIX", err)
	}
}

// assertErrorShape checks that rec is the API's error answer for status,
// with message.
func assertErrorShape(t *testing.T, rec *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != status ||
		body != (errorBody{StatusCode: status, Message: message, Error: http.StatusText(status)}) {
		t.Errorf("answer %d %s, want %d with message %q in the error shape", rec.Code, rec.Body, status, message)
	}
}
