package api

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/redisstate"
)

// DefaultQuantity is the quantity of a run when POST /generate gives none,
// capped at MaxOrders.
const DefaultQuantity = 1_000_000

// maxEcho bounds how much of a bad value an error message repeats.
const maxEcho = 32

// errMalformedQuery answers a query string that does not parse: a value in
// it may have been lost, so none is trusted.
var errMalformedQuery = errors.New("malformed query string")

// parseQuery parses a raw query string strictly: unlike url.URL.Query, it
// refuses a malformed one instead of dropping the pairs it cannot decode.
func parseQuery(raw string) (url.Values, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errMalformedQuery
	}
	return v, nil
}

// intParam returns the integer parameter name of q, def when it is absent.
// A present parameter must appear once, be a plain decimal integer (digits
// only: no sign, space or separator) and lie in [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	v, ok, err := single(q, name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !digits(v) || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d, got %q", name, lo, hi, truncate(v, maxEcho))
	}
	return n, nil
}

// generateParams are the parameters of POST /generate.
type generateParams struct {
	quantity int64
	force    bool
}

// parseGenerate parses quantity (1..maxOrders, default 1 000 000 capped at
// maxOrders) and force (default false) of POST /generate. The original's
// autoForceIfStale and returnOnActive are checked as booleans and change
// nothing: no run state here goes stale (control owns it and moves it on),
// and an active run is always a 409.
func parseGenerate(rawQuery string, maxOrders int64) (generateParams, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return generateParams{}, err
	}
	var p generateParams
	if p.quantity, err = intParam(q, "quantity", min(DefaultQuantity, maxOrders), 1, maxOrders); err != nil {
		return generateParams{}, err
	}
	if p.force, err = boolParam(q, "force", false); err != nil {
		return generateParams{}, err
	}
	for _, name := range []string{"autoForceIfStale", "returnOnActive"} {
		if _, err := boolParam(q, name, true); err != nil {
			return generateParams{}, err
		}
	}
	return p, nil
}

// parseQuantity returns the quantity of POST /generate from its raw query.
func parseQuantity(rawQuery string, maxOrders int64) (int64, error) {
	p, err := parseGenerate(rawQuery, maxOrders)
	return p.quantity, err
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// boolParam returns the boolean parameter name of q, def when it is absent.
// A present parameter must appear once and be true, false, 1 or 0.
func boolParam(q url.Values, name string, def bool) (bool, error) {
	v, ok, err := single(q, name)
	if err != nil {
		return false, err
	}
	if !ok {
		return def, nil
	}
	switch v {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false, got %q", name, truncate(v, maxEcho))
}

// enumParam returns the parameter name of q, def when it is absent. A
// present parameter must appear once and be one of allowed.
func enumParam(q url.Values, name, def string, allowed ...string) (string, error) {
	v, ok, err := single(q, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return "", fmt.Errorf("%s must be one of %s, got %q", name, strings.Join(allowed, ", "), truncate(v, maxEcho))
	}
	return v, nil
}

// listParam returns the comma-separated parameter name of q, def when it
// is absent. A present parameter must appear once; each item must be one
// of allowed, and none may be empty. Repeated items are kept once, in the
// order first given.
func listParam(q url.Values, name string, def []string, allowed ...string) ([]string, error) {
	v, ok, err := single(q, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return def, nil
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if !slices.Contains(allowed, item) {
			return nil, fmt.Errorf("%s must be a comma-separated list of %s, got %q",
				name, strings.Join(allowed, ", "), truncate(item, maxEcho))
		}
		if !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	return out, nil
}

// single returns the value of parameter name of q and whether it is
// present; a parameter given more than once is an error.
func single(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	switch {
	case !ok:
		return "", false, nil
	case len(vs) != 1:
		return "", true, fmt.Errorf("%s must be given once", name)
	}
	return vs[0], true, nil
}

// cancelParams are the parameters of POST /cancel.
type cancelParams struct {
	purge, removePending, resetLogs bool
}

// parseCancel parses purge, removePending (both default true) and
// resetLogs (default false).
func parseCancel(rawQuery string) (cancelParams, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return cancelParams{}, err
	}
	var p cancelParams
	if p.purge, err = boolParam(q, "purge", true); err != nil {
		return cancelParams{}, err
	}
	if p.removePending, err = boolParam(q, "removePending", true); err != nil {
		return cancelParams{}, err
	}
	if p.resetLogs, err = boolParam(q, "resetLogs", false); err != nil {
		return cancelParams{}, err
	}
	return p, nil
}

// parseReset parses force (default false) of POST /reset.
func parseReset(rawQuery string) (bool, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return false, err
	}
	return boolParam(q, "force", false)
}

// Bounds of GET /logs?lines=N.
const (
	defaultLogLines = 500
	maxLogLines     = 5000
)

// parseLines parses lines of GET /logs.
func parseLines(rawQuery string) (int, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return 0, err
	}
	n, err := intParam(q, "lines", defaultLogLines, 1, maxLogLines)
	return int(n), err
}

// Bounds of GET /queue/jobs: a range spans at most maxJobsRange+1 jobs per
// state, both ends included as Bull takes them.
const (
	defaultJobsEnd = 50
	maxJobsRange   = 1000
	// maxJobIndex bounds start and end so that they stay plain integers to
	// Redis; no list holds that many jobs.
	maxJobIndex = 1 << 40
)

// jobsQuery are the parameters of GET /queue/jobs.
type jobsQuery struct {
	types      []string
	start, end int64
}

// parseJobsQuery parses types (a comma-separated list of waiting, active,
// completed, failed, delayed, paused; default all of them), start (default
// 0) and end (default 50): end >= start and end-start <= 1000.
func parseJobsQuery(rawQuery string) (jobsQuery, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return jobsQuery{}, err
	}
	var j jobsQuery
	if j.types, err = listParam(q, "types", redisstate.JobTypes(), redisstate.JobTypes()...); err != nil {
		return jobsQuery{}, err
	}
	if j.start, err = intParam(q, "start", 0, 0, maxJobIndex); err != nil {
		return jobsQuery{}, err
	}
	def := j.start + defaultJobsEnd
	if j.end, err = intParam(q, "end", def, 0, maxJobIndex); err != nil {
		return jobsQuery{}, err
	}
	if j.end < j.start || j.end-j.start > maxJobsRange {
		return jobsQuery{}, fmt.Errorf("end must be from start (%d) to start+%d, got %d", j.start, maxJobsRange, j.end)
	}
	return j, nil
}

// Bounds of POST /queue/clean?limit=N.
const (
	defaultCleanLimit = 1000
	maxCleanLimit     = 100_000
)

// parseClean parses state (completed, failed, wait or delayed; default
// completed, as Bull's queue.clean) and limit (1..100000, default 1000) of
// POST /queue/clean.
func parseClean(rawQuery string) (events.CleanRequest, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return events.CleanRequest{}, err
	}
	state, err := enumParam(q, "state", events.CleanCompleted,
		events.CleanCompleted, events.CleanFailed, events.CleanWait, events.CleanDelayed)
	if err != nil {
		return events.CleanRequest{}, err
	}
	limit, err := intParam(q, "limit", defaultCleanLimit, 1, maxCleanLimit)
	if err != nil {
		return events.CleanRequest{}, err
	}
	return events.CleanRequest{State: state, Limit: limit}, nil
}

// Bounds of GET /runs: page is bounded so that the number of runs it skips
// stays far from overflowing.
const (
	defaultRunsLimit = 20
	maxRunsLimit     = 100
	maxRunsPage      = 1_000_000
)

// runsQuery are the parameters of GET /runs.
type runsQuery struct {
	limit, page int64
}

// parseRunsQuery parses limit (1..100, default 20) and page (from 1,
// default 1) of GET /runs.
func parseRunsQuery(rawQuery string) (runsQuery, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return runsQuery{}, err
	}
	var r runsQuery
	if r.limit, err = intParam(q, "limit", defaultRunsLimit, 1, maxRunsLimit); err != nil {
		return runsQuery{}, err
	}
	if r.page, err = intParam(q, "page", 1, 1, maxRunsPage); err != nil {
		return runsQuery{}, err
	}
	return r, nil
}
