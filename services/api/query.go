package api

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
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
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	if len(vs) != 1 {
		return 0, fmt.Errorf("%s must be given once", name)
	}
	v := vs[0]
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !digits(v) || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d, got %q", name, lo, hi, truncate(v, maxEcho))
	}
	return n, nil
}

// parseQuantity returns the quantity of POST /generate from its raw query.
func parseQuantity(rawQuery string, maxOrders int64) (int64, error) {
	q, err := parseQuery(rawQuery)
	if err != nil {
		return 0, err
	}
	return intParam(q, "quantity", min(DefaultQuantity, maxOrders), 1, maxOrders)
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
