package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// This file serves the dashboard: the files of package web, embedded in the
// binary, at PathPrefix + "/" (index.html) and beside it (css/, js/,
// vendor/). Every file has its own route, so that a path no file answers
// is the router's 404, in the API's error shape.

// Headers of the dashboard's answers.
const (
	// dashboardCSP allows the page nothing but its own origin: no inline
	// script or style, no plugin, no framing, no base or form elsewhere.
	// connect-src covers fetch and EventSource.
	dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	// cacheOwn makes a browser check the dashboard's own files on every
	// load: they change with the binary, and an unchanged one costs a 304.
	cacheOwn = "no-cache"
	// cacheVendor lets a browser keep a third-party file a day without
	// asking; vendor/README.md says how they are refreshed.
	cacheVendor = "public, max-age=86400"
)

// indexFile is the dashboard's page.
const indexFile = "index.html"

// asset is one file of the dashboard, ready to serve.
type asset struct {
	body         []byte
	gzipped      []byte // nil when compressing does not make it smaller
	contentType  string
	cacheControl string
	etag         string // of body; the gzipped body's is etag with a -gz suffix
}

// loadAssets reads every file of fsys but the documentation (*.md) into
// memory, compressed once.
func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	assets := map[string]*asset{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) == ".md" {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		a, err := newAsset(name, body)
		if err != nil {
			return err
		}
		assets[name] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading the dashboard's files: %w", err)
	}
	if assets[indexFile] == nil {
		return nil, fmt.Errorf("loading the dashboard's files: no %s", indexFile)
	}
	return assets, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	a := &asset{body: body, contentType: mime.TypeByExtension(path.Ext(name)), cacheControl: cacheOwn}
	if a.contentType == "" {
		a.contentType = "application/octet-stream"
	}
	if strings.HasPrefix(name, "vendor/") {
		a.cacheControl = cacheVendor
	}
	sum := sha256.Sum256(body)
	a.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() < len(body) {
		a.gzipped = buf.Bytes()
	}
	return a, nil
}

// webRoutes registers the dashboard's routes on root, the group of the
// path prefix.
func (s *server) webRoutes(root *echo.Group) {
	if s.assets[indexFile] == nil { // a server built by hand, in a test
		return
	}
	for name, a := range s.assets {
		root.Match([]string{http.MethodGet, http.MethodHead}, "/"+name, serveAsset(a))
	}
	root.Match([]string{http.MethodGet, http.MethodHead}, "/", serveAsset(s.assets[indexFile]))
	if s.cfg.PathPrefix != "" {
		// The page's relative URLs resolve against PathPrefix + "/" only.
		root.Match([]string{http.MethodGet, http.MethodHead}, "", s.redirectToDashboard)
	}
}

// dashboardPath is the path of the dashboard's page.
func (s *server) dashboardPath() string {
	return s.cfg.PathPrefix + "/"
}

// redirectToDashboard sends PathPrefix to PathPrefix + "/".
func (s *server) redirectToDashboard(c echo.Context) error {
	to := s.dashboardPath()
	if q := c.Request().URL.RawQuery; q != "" {
		to += "?" + q
	}
	return c.Redirect(http.StatusMovedPermanently, to)
}

// serveAsset answers with a, gzipped when the client takes it, and 304
// when the client holds it already (http.ServeContent checks the ETag).
func serveAsset(a *asset) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, a.contentType)
		h.Set("Cache-Control", a.cacheControl)
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		if strings.HasPrefix(a.contentType, echo.MIMETextHTML) {
			h.Set(echo.HeaderContentSecurityPolicy, dashboardCSP)
			h.Set("Referrer-Policy", "no-referrer")
		}
		body, etag := a.body, a.etag
		if a.gzipped != nil {
			h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			if acceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
				body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
				h.Set(echo.HeaderContentEncoding, "gzip")
			}
		}
		h.Set("ETag", etag)
		http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(body))
		return nil
	}
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip: it
// names gzip, or else *, with a q-value above 0 (or none).
func acceptsGzip(header string) bool {
	star := false
	for item := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(item, ";")
		switch strings.TrimSpace(coding) {
		case "gzip":
			return qualityAboveZero(params)
		case "*":
			star = qualityAboveZero(params)
		}
	}
	return star
}

// qualityAboveZero reports whether the parameters of an Accept-Encoding
// item leave its q-value above 0.
func qualityAboveZero(params string) bool {
	v, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
	if !ok {
		return true
	}
	q, err := strconv.ParseFloat(v, 64)
	return err != nil || q > 0
}
