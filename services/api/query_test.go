package api

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
)

func TestParseQuantity(t *testing.T) {
	t.Parallel()
	const maxOrders = 1_500_000
	tests := []struct {
		query   string
		want    int64
		wantErr string // substring of the error; "" means valid
	}{
		{"", DefaultQuantity, ""},
		{"other=1", DefaultQuantity, ""},
		{"quantity=1", 1, ""},
		{"quantity=1500000", 1_500_000, ""},
		{"quantity=000042", 42, ""},
		{"quantity=7&unknown=x", 7, ""},
		{"quantity", 0, "from 1 to 1500000"},
		{"quantity=", 0, "from 1 to 1500000"},
		{"quantity=0", 0, "from 1 to 1500000"},
		{"quantity=1500001", 0, "from 1 to 1500000"},
		{"quantity=-5", 0, "from 1 to 1500000"},
		{"quantity=%2B5", 0, "from 1 to 1500000"},
		{"quantity=+5", 0, "from 1 to 1500000"}, // + decodes to a space
		{"quantity=%205", 0, "from 1 to 1500000"},
		{"quantity=5%20", 0, "from 1 to 1500000"},
		{"quantity=1.5", 0, "from 1 to 1500000"},
		{"quantity=1e3", 0, "from 1 to 1500000"},
		{"quantity=0x10", 0, "from 1 to 1500000"},
		{"quantity=1_000", 0, "from 1 to 1500000"},
		{"quantity=abc", 0, "from 1 to 1500000"},
		{"quantity=99999999999999999999999", 0, "from 1 to 1500000"},
		{"quantity=%EF%BC%95", 0, "from 1 to 1500000"}, // fullwidth digit five
		{"quantity=1&quantity=2", 0, "given once"},
		{"quantity=%zz", 0, "malformed"},
		{"quantity=5;x=1", 0, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			got, err := parseQuantity(tt.query, maxOrders)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("parseQuantity(%q) = %d, %v; want %d, nil", tt.query, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseQuantity(%q) = %d, %v; want error containing %q", tt.query, got, err, tt.wantErr)
			}
		})
	}
}

func TestParseGenerate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		query   string
		want    generateParams
		wantErr string
	}{
		{"", generateParams{quantity: DefaultQuantity}, ""},
		{"quantity=10&force=true", generateParams{quantity: 10, force: true}, ""},
		{"force=1", generateParams{quantity: DefaultQuantity, force: true}, ""},
		{"force=false", generateParams{quantity: DefaultQuantity}, ""},
		// The original's other parameters are booleans that change nothing.
		{"quantity=5&autoForceIfStale=false&returnOnActive=false", generateParams{quantity: 5}, ""},
		{"force=yes", generateParams{}, "force must be true or false"},
		{"force=TRUE", generateParams{}, "force must be true or false"},
		{"force=true&force=true", generateParams{}, "force must be given once"},
		{"autoForceIfStale=maybe", generateParams{}, "autoForceIfStale must be true or false"},
		{"returnOnActive=", generateParams{}, "returnOnActive must be true or false"},
		{"quantity=0&force=true", generateParams{}, "from 1 to 1500000"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			got, err := parseGenerate(tt.query, 1_500_000)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("parseGenerate(%q) = %+v, %v; want %+v, nil", tt.query, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseGenerate(%q) = %+v, %v; want error containing %q", tt.query, got, err, tt.wantErr)
			}
		})
	}
}

func TestParseQuantityDefaultCappedByMax(t *testing.T) {
	t.Parallel()
	got, err := parseQuantity("", 500)
	if err != nil || got != 500 {
		t.Fatalf("parseQuantity(\"\", 500) = %d, %v; want 500, nil", got, err)
	}
}

// FuzzParseQuantity checks that whatever the query, an accepted quantity is
// in range and is exactly what the query says, and that a refusal never
// echoes more than a bounded part of the input.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"", "quantity=10", "quantity=", "quantity=-1", "quantity=1&quantity=1", "quantity=%zz", "quantity=1e9", "a=b;c",
		"quantity=10&force=true", "force=x"} {
		f.Add(s)
	}
	const maxOrders = 1_500_000
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := parseQuantity(raw, maxOrders)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with quantity %d", err, n)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
			return
		}
		if n < 1 || n > maxOrders {
			t.Fatalf("parseQuantity(%q) = %d, out of range", raw, n)
		}
		q, qerr := parseQuery(raw)
		if qerr != nil {
			t.Fatalf("accepted a malformed query %q", raw)
		}
		vs, ok := q["quantity"]
		if !ok {
			if n != DefaultQuantity {
				t.Fatalf("absent quantity gave %d", n)
			}
			return
		}
		if len(vs) != 1 || strings.TrimLeft(vs[0], "0") != strconv.FormatInt(n, 10) {
			t.Fatalf("parseQuantity(%q) = %d, but the query says %q", raw, n, vs)
		}
	})
}

func TestParseCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    cancelParams
		wantErr string
	}{
		{"", cancelParams{purge: true, removePending: true}, ""},
		{"purge=false&removePending=0&resetLogs=1", cancelParams{resetLogs: true}, ""},
		{"purge=true&removePending=true&resetLogs=false&x=y", cancelParams{purge: true, removePending: true}, ""},
		{"purge=1", cancelParams{purge: true, removePending: true}, ""},
		{"purge=", cancelParams{}, "purge must be true or false"},
		{"purge", cancelParams{}, "purge must be true or false"},
		{"purge=yes", cancelParams{}, "purge must be true or false"},
		{"purge=TRUE", cancelParams{}, "purge must be true or false"},
		{"purge=%20true", cancelParams{}, "purge must be true or false"},
		{"purge=2", cancelParams{}, "purge must be true or false"},
		{"removePending=no", cancelParams{}, "removePending must be true or false"},
		{"resetLogs=on", cancelParams{}, "resetLogs must be true or false"},
		{"purge=true&purge=true", cancelParams{}, "given once"},
		{"resetLogs=%zz", cancelParams{}, "malformed"},
	}
	for _, tt := range tests {
		got, err := parseCancel(tt.query)
		if !errMatches(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseCancel(%q) = %+v, %v; want %+v, error containing %q", tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    bool
		wantErr string
	}{
		{"", false, ""},
		{"force=true", true, ""},
		{"force=0", false, ""},
		{"force=maybe", false, "force must be true or false"},
		{"force=true&force=false", false, "given once"},
	}
	for _, tt := range tests {
		got, err := parseReset(tt.query)
		if !errMatches(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseReset(%q) = %v, %v; want %v, error containing %q", tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    int
		wantErr string
	}{
		{"", 500, ""},
		{"lines=1", 1, ""},
		{"lines=5000", 5000, ""},
		{"lines=0", 0, "from 1 to 5000"},
		{"lines=5001", 0, "from 1 to 5000"},
		{"lines=-1", 0, "from 1 to 5000"},
		{"lines=2.5", 0, "from 1 to 5000"},
		{"lines=1&lines=2", 0, "given once"},
	}
	for _, tt := range tests {
		got, err := parseLines(tt.query)
		if !errMatches(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseLines(%q) = %d, %v; want %d, error containing %q", tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseJobsQuery(t *testing.T) {
	t.Parallel()
	all := []string{"waiting", "active", "completed", "failed", "delayed", "paused"}
	tests := []struct {
		query      string
		types      []string
		start, end int64
		wantErr    string
	}{
		{"", all, 0, 50, ""},
		{"types=failed", []string{"failed"}, 0, 50, ""},
		{"types=completed,failed,completed&start=10", []string{"completed", "failed"}, 10, 60, ""},
		{"types=waiting&start=5&end=5", []string{"waiting"}, 5, 5, ""},
		{"start=0&end=1000", all, 0, 1000, ""},
		{"start=7&end=1007", all, 7, 1007, ""},
		{"types=", nil, 0, 0, "types must be a comma-separated list"},
		{"types=waiting,", nil, 0, 0, "types must be a comma-separated list"},
		{"types=wait", nil, 0, 0, `got "wait"`},
		{"types=Waiting", nil, 0, 0, "types must be"},
		{"types=failed&types=active", nil, 0, 0, "given once"},
		{"start=-1", nil, 0, 0, "start must be an integer"},
		{"start=1.0", nil, 0, 0, "start must be an integer"},
		{"end=x", nil, 0, 0, "end must be an integer"},
		{"start=10&end=9", nil, 0, 0, "end must be from start (10) to start+1000, got 9"},
		{"start=0&end=1001", nil, 0, 0, "end must be from start"},
		{"end=99999999999999999999", nil, 0, 0, "end must be an integer"},
	}
	for _, tt := range tests {
		got, err := parseJobsQuery(tt.query)
		if !errMatches(err, tt.wantErr) || !slices.Equal(got.types, tt.types) || got.start != tt.start || got.end != tt.end {
			t.Errorf("parseJobsQuery(%q) = %+v, %v; want types %v, range [%d, %d], error containing %q",
				tt.query, got, err, tt.types, tt.start, tt.end, tt.wantErr)
		}
	}
}

func TestParseClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    events.CleanRequest
		wantErr string
	}{
		{"", events.CleanRequest{State: "completed", Limit: 1000}, ""},
		{"state=failed&limit=1", events.CleanRequest{State: "failed", Limit: 1}, ""},
		{"state=wait&limit=100000", events.CleanRequest{State: "wait", Limit: 100_000}, ""},
		{"state=delayed", events.CleanRequest{State: "delayed", Limit: 1000}, ""},
		{"state=waiting", events.CleanRequest{}, "state must be one of completed, failed, wait, delayed"},
		{"state=active", events.CleanRequest{}, "state must be one of"},
		{"state=", events.CleanRequest{}, "state must be one of"},
		{"state=completed&state=failed", events.CleanRequest{}, "given once"},
		{"limit=0", events.CleanRequest{}, "from 1 to 100000"},
		{"limit=100001", events.CleanRequest{}, "from 1 to 100000"},
		{"state=bogus&limit=0", events.CleanRequest{}, "state must be one of"},
	}
	for _, tt := range tests {
		got, err := parseClean(tt.query)
		if !errMatches(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseClean(%q) = %+v, %v; want %+v, error containing %q", tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseRunsQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    runsQuery
		wantErr string
	}{
		{"", runsQuery{limit: 20, page: 1}, ""},
		{"limit=1&page=3", runsQuery{limit: 1, page: 3}, ""},
		{"limit=100&page=1000000", runsQuery{limit: 100, page: 1_000_000}, ""},
		{"limit=0", runsQuery{}, "limit must be an integer from 1 to 100"},
		{"limit=101", runsQuery{}, "limit must be an integer from 1 to 100"},
		{"page=0", runsQuery{}, "page must be an integer from 1 to 1000000"},
		{"page=1000001", runsQuery{}, "page must be"},
		{"page=-2", runsQuery{}, "page must be"},
		{"page=1&page=2", runsQuery{}, "given once"},
	}
	for _, tt := range tests {
		got, err := parseRunsQuery(tt.query)
		if !errMatches(err, tt.wantErr) || got != tt.want {
			t.Errorf("parseRunsQuery(%q) = %+v, %v; want %+v, error containing %q", tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

// errMatches reports whether err is nil when want is empty, or contains
// want.
func errMatches(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}

// fuzzSeeds are query strings every parser's fuzzer starts from.
var fuzzSeeds = []string{
	"", "purge=true", "purge=1&purge=0", "force=%zz", "lines=5000", "lines=-1",
	"types=waiting,paused&start=0&end=1000", "types=,&end=1", "start=1099511627776",
	"state=wait&limit=100000", "limit=1&page=1000000", "page=9999999999999999999", "a=b;c",
}

// checkRefusal checks what every parser promises of a refusal: a short
// message.
func checkRefusal(t *testing.T, raw string, err error) {
	t.Helper()
	if err != nil && len(err.Error()) > 200 {
		t.Fatalf("refusing %q: error message of %d bytes", raw, len(err.Error()))
	}
}

// FuzzParseCancel checks that an accepted cancel query says what it gives:
// every boolean absent (its default) or spelled true, false, 1 or 0.
func FuzzParseCancel(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseCancel(raw)
		checkRefusal(t, raw, err)
		if err != nil {
			if p != (cancelParams{}) {
				t.Fatalf("error %v with %+v", err, p)
			}
			return
		}
		q, _ := parseQuery(raw)
		for name, got := range map[string]bool{"purge": p.purge, "removePending": p.removePending, "resetLogs": p.resetLogs} {
			vs, ok := q[name]
			if !ok {
				if got != (name != "resetLogs") {
					t.Fatalf("%s absent from %q gave %v", name, raw, got)
				}
				continue
			}
			if len(vs) != 1 || (vs[0] == "true" || vs[0] == "1") != got || !slices.Contains([]string{"true", "false", "1", "0"}, vs[0]) {
				t.Fatalf("parseCancel(%q) gave %s=%v", raw, name, got)
			}
		}
	})
}

// FuzzParseReset checks that an accepted force is absent or a boolean.
func FuzzParseReset(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		force, err := parseReset(raw)
		checkRefusal(t, raw, err)
		if err != nil {
			return
		}
		q, _ := parseQuery(raw)
		if vs, ok := q["force"]; ok && (len(vs) != 1 || (vs[0] == "true" || vs[0] == "1") != force) {
			t.Fatalf("parseReset(%q) = %v", raw, force)
		} else if !ok && force {
			t.Fatalf("parseReset(%q) = true without force", raw)
		}
	})
}

// FuzzParseLines checks that accepted line counts are in range.
func FuzzParseLines(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := parseLines(raw)
		checkRefusal(t, raw, err)
		if err == nil && (n < 1 || n > maxLogLines) {
			t.Fatalf("parseLines(%q) = %d", raw, n)
		}
	})
}

// FuzzParseJobsQuery checks that an accepted range is well formed and
// bounded, and that every type is known.
func FuzzParseJobsQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		j, err := parseJobsQuery(raw)
		checkRefusal(t, raw, err)
		if err != nil {
			return
		}
		if j.start < 0 || j.end < j.start || j.end-j.start > maxJobsRange || len(j.types) == 0 {
			t.Fatalf("parseJobsQuery(%q) = %+v", raw, j)
		}
		for i, typ := range j.types {
			if !slices.Contains(redisstate.JobTypes(), typ) || slices.Contains(j.types[:i], typ) {
				t.Fatalf("parseJobsQuery(%q): types %v", raw, j.types)
			}
		}
	})
}

// FuzzParseClean checks that an accepted clean has a known state and a
// limit in range.
func FuzzParseClean(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseClean(raw)
		checkRefusal(t, raw, err)
		if err != nil {
			return
		}
		known := []string{events.CleanCompleted, events.CleanFailed, events.CleanWait, events.CleanDelayed}
		if !slices.Contains(known, r.State) || r.Limit < 1 || r.Limit > maxCleanLimit {
			t.Fatalf("parseClean(%q) = %+v", raw, r)
		}
	})
}

// FuzzParseRunsQuery checks that an accepted page is in range and that the
// runs it skips cannot overflow.
func FuzzParseRunsQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseRunsQuery(raw)
		checkRefusal(t, raw, err)
		if err != nil {
			return
		}
		if r.limit < 1 || r.limit > maxRunsLimit || r.page < 1 || r.page > maxRunsPage {
			t.Fatalf("parseRunsQuery(%q) = %+v", raw, r)
		}
	})
}
