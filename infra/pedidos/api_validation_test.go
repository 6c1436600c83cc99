package pedidos

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pedidos/pedidos/events"
)

// TestAPIBadRequestsChangeNothing sends bad requests to every endpoint
// while a run is active (paused, so that nothing moves on its own): each
// gets a 4xx in the error shape, and the run's phase, its counters, the
// Bull view, the pending orders and MongoDB are what they were. Then the
// run resumes and completes: none of the requests cancelled, reset or
// closed anything.
func TestAPIBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	r := startRig(t, slow)
	runID := r.start(t, 2000)
	r.awaitStatus(t, "the first orders processed", func(st rigStatus) bool { return st.Counts.Total() > 0 })
	r.call(t, http.MethodPost, "/queue/pause", http.StatusOK, nil)
	before := r.settled(t)
	if before.Run != runID || !before.Phase.Active() || before.Counters.Processed.Total() == 0 || before.Pending == 0 {
		t.Fatalf("before the bad requests: %+v, want run %s active, some orders processed, some pending", before, runID)
	}

	huge := strings.Repeat("9", 10_000)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		// generate: a bad quantity is a 400 even while a run is active.
		{http.MethodPost, "/generate?quantity=-5", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=0", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=abc", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=2.5", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=1e3", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=99999999999999999999", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=1500001", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=" + huge, http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=1&quantity=2", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=%zz", http.StatusBadRequest},
		// force: a typo never cancels the run; GET /generate, the
		// original's, is checked alike.
		{http.MethodPost, "/generate?quantity=10&force=yes", http.StatusBadRequest},
		{http.MethodPost, "/generate?quantity=10&force=true&force=true", http.StatusBadRequest},
		{http.MethodPost, "/generate?force=true&quantity=0", http.StatusBadRequest},
		{http.MethodPost, "/generate?force=true&returnOnActive=nope", http.StatusBadRequest},
		{http.MethodGet, "/generate?quantity=abc", http.StatusBadRequest},
		{http.MethodGet, "/generate?quantity=10&force=TRUE", http.StatusBadRequest},
		{http.MethodGet, "/generate?force=1&autoForceIfStale=2", http.StatusBadRequest},
		// cancel: not even a cancel with a typo cancels.
		{http.MethodPost, "/cancel?purge=maybe", http.StatusBadRequest},
		{http.MethodPost, "/cancel?removePending=", http.StatusBadRequest},
		{http.MethodPost, "/cancel?resetLogs=2", http.StatusBadRequest},
		{http.MethodPost, "/cancel?purge=TRUE", http.StatusBadRequest},
		{http.MethodPost, "/cancel?purge=true&purge=true", http.StatusBadRequest},
		{http.MethodPost, "/cancel?purge=tru%e", http.StatusBadRequest},
		{http.MethodPost, "/cancel?removePending=" + huge, http.StatusBadRequest},
		// reset.
		{http.MethodPost, "/reset?force=yes", http.StatusBadRequest},
		{http.MethodPost, "/reset?force=1&force=1", http.StatusBadRequest},
		{http.MethodPost, "/reset?force=true;x=1", http.StatusBadRequest},
		// the queue's commands.
		{http.MethodPost, "/queue/clean?state=active", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?state=", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?state=wait&limit=0", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?limit=-1", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?limit=1.5", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?limit=100001", http.StatusBadRequest},
		{http.MethodPost, "/queue/clean?state=completed&state=failed", http.StatusBadRequest},
		{http.MethodPost, "/queue/resume?x=%", http.StatusBadRequest},
		{http.MethodPost, "/queue/pause?a=%G0", http.StatusBadRequest},
		{http.MethodPost, "/queue/retry-failed?;", http.StatusBadRequest},
		{http.MethodPost, "/queue/close?%zz", http.StatusBadRequest},
		// the views.
		{http.MethodGet, "/queue/jobs?types=waiting,bogus", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?types=", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?start=-1", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?start=0.5", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?start=3&end=2", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?end=5000", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?start=1&start=2", http.StatusBadRequest},
		{http.MethodGet, "/queue/jobs?end=" + huge, http.StatusBadRequest},
		{http.MethodGet, "/runs?limit=0", http.StatusBadRequest},
		{http.MethodGet, "/runs?limit=1000", http.StatusBadRequest},
		{http.MethodGet, "/runs?page=-1", http.StatusBadRequest},
		{http.MethodGet, "/runs?page=abc", http.StatusBadRequest},
		{http.MethodGet, "/logs?lines=0", http.StatusBadRequest},
		{http.MethodGet, "/logs?lines=5001", http.StatusBadRequest},
		{http.MethodGet, "/logs?lines=" + huge, http.StatusBadRequest},
		{http.MethodGet, "/health/queue?%", http.StatusBadRequest},
		// Not a parameter's fault.
		{http.MethodPost, "/process", http.StatusGone},
		{http.MethodDelete, "/cancel", http.StatusMethodNotAllowed},
		{http.MethodGet, "/reset", http.StatusMethodNotAllowed},
		{http.MethodPost, "/queue/nope", http.StatusNotFound},
	} {
		code, body := r.do(t, tt.method, tt.path)
		name := tt.method + " " + tt.path[:min(len(tt.path), 60)]
		if code != tt.status {
			t.Errorf("%s = %d %s, want %d", name, code, body, tt.status)
			continue
		}
		if err := checkErrorBody(code, body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	after := r.snapshot(t)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the bad requests changed the state:\nbefore %+v\n after %+v", before, after)
	}
	// The queue connection is open: the malformed close did not close it.
	r.call(t, http.MethodGet, "/queue/status", http.StatusOK, nil)

	r.call(t, http.MethodPost, "/queue/resume", http.StatusOK, nil)
	if phase := r.awaitEnd(t, runID); phase != events.PhaseDone {
		t.Fatalf("the run ended in %s after resuming, want DONE", phase)
	}
}
