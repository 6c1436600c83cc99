package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
)

// errorAnswer is the one error shape of the api.
type errorAnswer struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

// assertError checks an error answer: its status, its shape, and that its
// message contains msg.
func assertError(t *testing.T, status int, body []byte, wantStatus int, msg string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d %s, want %d", status, body, wantStatus)
	}
	var got errorAnswer
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if got.StatusCode != wantStatus || got.Error != http.StatusText(wantStatus) || !strings.Contains(got.Message, msg) {
		t.Fatalf("error body = %+v, want statusCode %d, error %q, message containing %q",
			got, wantStatus, http.StatusText(wantStatus), msg)
	}
}

func TestGenerateRefusesBadQuantity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	calls := e.serveControl(func(r events.GenerateRequest) (events.GenerateReply, *events.CommandError) {
		return events.GenerateReply{RunID: "r", Phase: events.PhaseGenerating, Quantity: r.Quantity}, nil
	})
	for _, q := range []string{
		"quantity",                     // present, no value
		"quantity=",                    // present, empty
		"quantity=0",                   // below range
		"quantity=1500001",             // above MAX_ORDERS
		"quantity=-1",                  // sign
		"quantity=%2B10",               // explicit plus sign
		"quantity=+10",                 // + is a space
		"quantity=%2010",               // leading space
		"quantity=10%20",               // trailing space
		"quantity=abc",                 // not a number
		"quantity=1.5",                 // fractional
		"quantity=10.0",                // fractional notation
		"quantity=1e3",                 // exponent
		"quantity=0x10",                // hex
		"quantity=1_000",               // separator
		"quantity=1,000",               // thousands separator
		"quantity=9223372036854775808", // overflows int64
		"quantity=99999999999999999999999999999999999999999",
		"quantity=10&quantity=20",     // repeated
		"quantity=%zz",                // malformed escape
		"quantity=10;a=b",             // semicolon separator
		"quantity=%EF%BC%91%EF%BC%90", // fullwidth digits
	} {
		status, body := e.do(http.MethodPost, "/generate?"+q)
		t.Run(q, func(t *testing.T) {
			t.Parallel()
			assertError(t, status, body, http.StatusBadRequest, "")
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("control was asked %d times; a bad quantity must never reach it", n)
	}
}

func TestGenerateStartsRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	var got []int64
	calls := e.serveControl(func(r events.GenerateRequest) (events.GenerateReply, *events.CommandError) {
		got = append(got, r.Quantity) // micro handles one request at a time
		return events.GenerateReply{RunID: "run-1", Phase: events.PhaseGenerating, Quantity: r.Quantity}, nil
	})
	for _, tt := range []struct {
		query string
		want  int64
	}{
		{"?quantity=250", 250},
		{"?quantity=1500000", 1_500_000},
		{"", 1_000_000}, // the default
		{"?other=x", 1_000_000},
	} {
		status, body := e.do(http.MethodPost, "/generate"+tt.query)
		if status != http.StatusAccepted {
			t.Fatalf("POST /generate%s = %d %s, want 202", tt.query, status, body)
		}
		var answer struct {
			Message  string       `json:"message"`
			RunID    string       `json:"runId"`
			Phase    events.Phase `json:"phase"`
			Quantity int64        `json:"quantity"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Fatal(err)
		}
		if answer.RunID != "run-1" || answer.Phase != events.PhaseGenerating || answer.Quantity != tt.want || answer.Message == "" {
			t.Errorf("POST /generate%s = %+v, want run-1, GENERATING, quantity %d and a message", tt.query, answer, tt.want)
		}
		if last := got[len(got)-1]; last != tt.want {
			t.Errorf("POST /generate%s asked control for %d orders, want %d", tt.query, last, tt.want)
		}
	}
	if calls.Load() != 4 {
		t.Errorf("control got %d requests, want 4", calls.Load())
	}
}

func TestGenerateMapsControlRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	refusal := events.Refusal(events.ErrRunActive, "%s", events.ErrRunActive.Error())
	e.serveControl(func(r events.GenerateRequest) (events.GenerateReply, *events.CommandError) {
		if r.Quantity == 13 {
			return events.GenerateReply{}, &events.CommandError{Code: "teapot", Message: "odd"}
		}
		return events.GenerateReply{}, refusal
	})
	status, body := e.do(http.MethodPost, "/generate?quantity=10")
	assertError(t, status, body, http.StatusConflict, "a run is already active")

	// A code the api does not know: control answered something it cannot
	// read, a bad gateway.
	status, body = e.do(http.MethodPost, "/generate?quantity=13")
	assertError(t, status, body, http.StatusBadGateway, "odd")
}

func TestGenerateWithoutControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()

	// Nobody subscribed: NATS answers "no responders" at once.
	status, body := e.do(http.MethodPost, "/generate?quantity=10")
	assertError(t, status, body, http.StatusServiceUnavailable, "control service unavailable")

	// Control that never answers: the request times out.
	sub, err := e.nc.Subscribe(events.SubjectGenerate, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	status, body = e.do(http.MethodPost, "/generate?quantity=10")
	assertError(t, status, body, http.StatusServiceUnavailable, "control service unavailable")

	// An answer the api cannot decode.
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	sub, err = e.nc.Subscribe(events.SubjectGenerate, func(m *nats.Msg) { _ = m.Respond([]byte("not json")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	status, body = e.do(http.MethodPost, "/generate?quantity=10")
	assertError(t, status, body, http.StatusBadGateway, "cannot read")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()

	status, body := e.do(http.MethodGet, "/nope")
	assertError(t, status, body, http.StatusNotFound, "Cannot GET /pedidos/nope")
	status, body = e.do(http.MethodDelete, "")
	assertError(t, status, body, http.StatusMethodNotAllowed, "Cannot DELETE /pedidos")
	status, body = e.do(http.MethodPut, "/generate")
	assertError(t, status, body, http.StatusMethodNotAllowed, "Cannot PUT /pedidos/generate")
	// A malformed query string is refused on every route, but an unknown
	// path stays a 404.
	status, body = e.do(http.MethodGet, "/nope?%zz")
	assertError(t, status, body, http.StatusNotFound, "Cannot GET /pedidos/nope")
	status, body = e.do(http.MethodGet, "/health/live?%zz")
	assertError(t, status, body, http.StatusBadRequest, "malformed query string")

	// A trailing slash is the same route.
	status, body = e.do(http.MethodGet, "/")
	if status != http.StatusOK {
		t.Errorf("GET /pedidos/ = %d %s, want 200", status, body)
	}
	status, body = e.do(http.MethodGet, "/health/live")
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("GET /health/live = %d %s", status, body)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()
	send := func(method, path string, header http.Header) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, e.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	code, h := send(http.MethodOptions, "/generate?"+url.Values{"quantity": {"5"}}.Encode(), http.Header{
		"Origin":                         {"http://dashboard.example"},
		"Access-Control-Request-Method":  {http.MethodPost},
		"Access-Control-Request-Headers": {"X-API-Key"},
	})
	if code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), http.MethodPost) ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-API-Key") {
		t.Errorf("preflight = %d %v, want 204 allowing POST and X-API-Key from any origin", code, h)
	}

	code, h = send(http.MethodGet, "/health/live", http.Header{"Origin": {"http://dashboard.example"}})
	if code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET with Origin = %d %v, want 200 allowing any origin", code, h)
	}
}
