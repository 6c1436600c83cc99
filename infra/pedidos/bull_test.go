package pedidos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
	"github.com/pedidos/pedidos/infra/redisstate"
	"github.com/pedidos/pedidos/services/processor"
)

// TestBullLibraryReadsTheQueue points the real bull npm library (Bull 4, run
// by Node) at the Redis of a running stack, as an operator's Bull tooling
// would, and checks that it sees what the api reports and what MongoDB
// holds: its getJobCounts() equals GET /pedidos/queue/status while the queue
// is paused (before the VIP drain and during the NORMAL drain) and after the
// run is DONE, and the jobs of getJobs(['completed']) and getJobs(['failed'])
// carry the orders MongoDB stored, in the state Bull's job.getState() names.
func TestBullLibraryReadsTheQueue(t *testing.T) {
	t.Parallel()
	devstacktest.EachRedis(t, func(t *testing.T, redis devstack.RedisMode) {
		t.Parallel()
		testBullLibraryReadsTheQueue(t, redis)
	})
}

func testBullLibraryReadsTheQueue(t *testing.T, redis devstack.RedisMode) {
	// Big enough that the NORMAL drain is still going on when the test
	// pauses it, and that more orders complete than the Bull view keeps.
	const quantity = 10_000
	keep := int64(defaultKeepCompleted(t))
	bull := installBull(t)

	p := startPipeline(t, 1, 1, redis)
	phases := p.phases(t)
	web := startQueueAPI(t, p)
	rdb := connectRedis(t, p.stack.RedisURL)
	q := &queueReaders{web: web, bull: bull, rdb: rdb, redisURL: p.stack.RedisURL, limit: int(keep)}
	var finished finishedJobs

	// Invalid orders of a run of the test's own, so that there are failed
	// jobs: half with their Bull job added as the generator adds one, half
	// left to the processor, which creates the job hash of an order it
	// finishes when there is none.
	invalid := publishInvalidOrders(t, p.js, rdb, "bull-test-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	failed := int64(len(invalid))
	web.await(t, "the invalid orders to fail", func(st queueStatus) bool {
		return st.Failed == failed && st.Waiting == 0 && st.Active == 0
	})

	// Paused before the run: the generator adds every job all the same, VIP
	// ones to wait and NORMAL ones to paused, and none is processed.
	web.pause(t)
	runID := p.generate(t, quantity)
	awaitRunPhase(t, phases, runID, events.PhaseWaitingVIPDrain)
	when := "paused before the VIP drain"
	view := q.readPaused(t, when)
	if n := view.Counts; n.Waiting == 0 || n.Paused == 0 || n.Waiting+n.Paused != quantity || n.Completed != 0 || n.Failed != failed {
		t.Errorf("%s, Bull counts %+v; want all %d orders waiting (VIP in wait, NORMAL in paused), "+
			"none completed, %d failed", when, n, quantity, failed)
	}
	checkWaitingJobs(t, when, view.Waiting, runID)
	finished.add(t, when, "failed", view.Failed, invalid)

	// Paused again in the middle of the NORMAL drain.
	web.resume(t)
	awaitRunPhase(t, phases, runID, events.PhaseWaitingNormalDrain)
	web.pause(t)
	when = "paused during the NORMAL drain"
	view = q.readPaused(t, when)
	if n := view.Counts; n.Waiting == 0 || n.Paused != 0 || n.Completed != min(quantity, keep) || n.Failed != failed {
		t.Errorf("%s, Bull counts %+v; want NORMAL orders waiting, none in paused, %d completed, %d failed",
			when, n, min(quantity, keep), failed)
	}
	checkWaitingJobs(t, when, view.Waiting, runID)
	finished.add(t, when, "completed", view.Completed, nil)
	finished.add(t, when, "failed", view.Failed, invalid)

	// Done: nothing waits or is active; the newest completed jobs are kept.
	web.resume(t)
	awaitRunPhase(t, phases, runID, events.PhaseDone)
	when = "after DONE"
	view, st := q.read(t, when)
	want := bullCounts{Completed: min(quantity, keep), Failed: failed}
	if view.Counts != want || view.Paused || st.Paused {
		t.Errorf("%s, Bull counts %+v (isPaused %v, the api says paused %v); want %+v, not paused",
			when, view.Counts, view.Paused, st.Paused, want)
	}
	if len(view.Waiting) != 0 {
		t.Errorf("%s, Bull's getWaiting() lists %d jobs", when, len(view.Waiting))
	}
	finished.add(t, when, "completed", view.Completed, nil)
	finished.add(t, when, "failed", view.Failed, invalid)
	for _, j := range view.Completed {
		if j.order.RunID != runID {
			t.Errorf("%s, completed job %s is an order of run %q, not of the run %s", when, j.ID, j.order.RunID, runID)
		}
	}

	finished.compare(t, p.db)
	t.Logf("Bull agreed with the api and MongoDB on %d completed and failed jobs, read at three moments", len(finished))
}

// defaultKeepCompleted is how many completed jobs a processor keeps in the
// Bull view when BULL_KEEP_COMPLETED is unset, as startPipeline leaves it.
func defaultKeepCompleted(t *testing.T) int {
	t.Helper()
	cfg, err := processor.ConfigFromEnv(func(string) string { return "" })
	must(t, err)
	return cfg.KeepCompleted
}

// queueReaders are the ways the test reads the queue: the api, the bull
// library, and Redis itself.
type queueReaders struct {
	web      *queueAPI
	bull     *bullLib
	rdb      *redis.Client
	redisURL string
	limit    int // how many completed and failed jobs Bull lists
}

// read reads the queue with Bull once its counts stopped moving, checks
// that the queue did not move while Bull read it, and checks Bull's counts
// against GET /queue/status and Redis. Bull lists up to q.limit completed
// and failed jobs and up to 100 of each list of waiting jobs.
func (q *queueReaders) read(t *testing.T, when string) (bullView, queueStatus) {
	t.Helper()
	st := q.web.settledStatus(t)
	view := q.bull.inspect(t, q.redisURL, q.limit, 100)
	if again := q.web.status(t); again != st {
		t.Fatalf("%s, the queue moved while Bull read it: GET /queue/status said %+v, then %+v", when, st, again)
	}
	compareCounts(t, when, view, st, bullPausedLen(t, q.rdb))
	return view, st
}

// readPaused is read while the queue is paused, which both the api and
// Bull must say.
func (q *queueReaders) readPaused(t *testing.T, when string) bullView {
	t.Helper()
	view, st := q.read(t, when)
	if !st.Paused || !view.Paused {
		t.Errorf("%s, GET /queue/status says paused %v and Bull's isPaused() %v; want both true",
			when, st.Paused, view.Paused)
	}
	return view
}

// compareCounts checks Bull's getJobCounts() against GET /queue/status, and
// Bull's paused count against the length of the paused list.
func compareCounts(t *testing.T, when string, view bullView, st queueStatus, pausedList int64) {
	t.Helper()
	got := view.Counts
	want := bullCounts{Waiting: st.Waiting, Active: st.Active, Completed: st.Completed, Failed: st.Failed,
		Delayed: st.Delayed, Paused: pausedList}
	if got != want {
		t.Errorf("%s, Bull's getJobCounts() = %+v; GET /queue/status says %+v and LLEN paused %d",
			when, got, st, pausedList)
	}
}

// checkWaitingJobs checks the jobs of Bull's getWaiting(): each is an order
// of the run that getState() says is waiting (in wait) or paused (in the
// paused list, where NORMAL orders wait for the VIP drain).
func checkWaitingJobs(t *testing.T, when string, jobs []*bullJob, runID string) {
	t.Helper()
	if len(jobs) == 0 {
		t.Errorf("%s, Bull's getWaiting() lists no job", when)
	}
	var finished []string
	for i, j := range jobs {
		if j == nil {
			t.Errorf("%s, Bull's getWaiting()[%d] is null: Bull found no job hash", when, i)
			continue
		}
		o := decodeJobData(t, j)
		if o.RunID != runID || o.ID != j.ID {
			t.Errorf("%s, waiting job %s carries order %s of run %q; want itself, of run %s", when, j.ID, o.ID, o.RunID, runID)
		}
		if j.Name != redisstate.BullJobName || j.ProcessedOn != nil || j.FinishedOn != nil {
			t.Errorf("%s, waiting job %s: name %q, processedOn %v, finishedOn %v; want %q, null, null",
				when, j.ID, j.Name, j.ProcessedOn, j.FinishedOn, redisstate.BullJobName)
		}
		switch j.State {
		case "waiting":
		case "paused":
			if o.Priority == events.PriorityVIP {
				t.Errorf("%s, VIP job %s: getState() = paused; VIP orders never wait for a drain", when, j.ID)
			}
		case "completed", "failed":
			finished = append(finished, j.ID+" ("+j.State+")")
		default:
			t.Errorf("%s, waiting job %s: getState() = %q", when, j.ID, j.State)
		}
	}
	if len(finished) > 0 {
		t.Errorf("%s, %d of the %d jobs Bull's getWaiting() lists are finished by getState(): their ids are in "+
			"the wait list and in the completed or failed set at once, e.g. %v",
			when, len(finished), len(jobs), finished[:min(3, len(finished))])
	}
}

// finishedJobs collects completed and failed jobs as Bull lists them, to
// compare with MongoDB in one query at the end: FerretDB answers every
// query but one on _id alone with a scan of the collection.
type finishedJobs []finishedJob

// finishedJob is a job of getJobs([state]) read at some moment.
type finishedJob struct {
	when, state string
	job         *bullJob
}

// add checks what can be checked of the jobs Bull lists in state without
// MongoDB and keeps them for compare. When want is set, the jobs must be
// exactly those orders.
func (f *finishedJobs) add(t *testing.T, when, state string, jobs []*bullJob, want []events.Order) {
	t.Helper()
	ids := make([]string, 0, len(jobs))
	for i, j := range jobs {
		if j == nil {
			t.Fatalf("%s, Bull's getJobs(['%s'])[%d] is null: Bull found no job hash", when, state, i)
		}
		j.order = decodeJobData(t, j)
		ids = append(ids, j.ID)
		switch {
		case j.State != state:
			t.Errorf("%s, %s job %s: getState() = %q", when, state, j.ID, j.State)
		case j.Name != redisstate.BullJobName:
			t.Errorf("%s, %s job %s: name %q, want %q", when, state, j.ID, j.Name, redisstate.BullJobName)
		case j.ProcessedOn == nil || j.FinishedOn == nil || *j.FinishedOn < *j.ProcessedOn:
			t.Errorf("%s, %s job %s: processedOn %v, finishedOn %v", when, state, j.ID, j.ProcessedOn, j.FinishedOn)
		case i > 0 && *j.FinishedOn > *jobs[i-1].FinishedOn:
			t.Errorf("%s, getJobs(['%s']) lists job %s (finishedOn %d) after %s (finishedOn %d); want newest first",
				when, state, j.ID, *j.FinishedOn, jobs[i-1].ID, *jobs[i-1].FinishedOn)
		case (state == "failed") != (j.FailedReason != nil && *j.FailedReason != ""):
			t.Errorf("%s, %s job %s: failedReason %v", when, state, j.ID, j.FailedReason)
		}
		*f = append(*f, finishedJob{when, state, j})
	}
	if want != nil {
		sent := make([]string, len(want))
		for i, o := range want {
			sent[i] = o.ID
		}
		if !sameIDs(ids, sent) {
			t.Errorf("%s, Bull's %s jobs are %v; want the orders %v", when, state, ids, sent)
		}
	}
}

// compare checks every job collected against its order in MongoDB: the
// job's data is the order, processedOn its processedAt, attemptsMade its
// attempts, failedReason its failedReason.
func (f finishedJobs) compare(t *testing.T, db *mongo.Database) {
	t.Helper()
	seen := make(map[string]bool, len(f))
	ids := make([]string, 0, len(f))
	for _, fj := range f {
		if !seen[fj.job.ID] {
			seen[fj.job.ID] = true
			ids = append(ids, fj.job.ID)
		}
	}
	cur, err := db.Collection(events.CollectionOrders).Find(t.Context(),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	must(t, err)
	var docs []storedOrder
	must(t, cur.All(t.Context(), &docs))
	stored := make(map[string]storedOrder, len(docs))
	for _, d := range docs {
		stored[d.ID] = d
	}
	for _, fj := range f {
		s, ok := stored[fj.job.ID]
		if !ok {
			t.Errorf("%s, %s job %s: MongoDB holds no order with that _id", fj.when, fj.state, fj.job.ID)
			continue
		}
		fj.compare(t, s)
	}
}

func (fj finishedJob) compare(t *testing.T, s storedOrder) {
	t.Helper()
	j, o := fj.job, fj.job.order
	if o.ID != s.ID || o.RunID != s.RunID || o.Cliente != s.Cliente || o.Valor != s.Valor ||
		string(o.Tier) != s.Tier || string(o.Priority) != s.Priority || !o.CreatedAt.Equal(s.CreatedAt) {
		t.Errorf("%s, %s job %s: data %+v; MongoDB holds %+v", fj.when, fj.state, j.ID, o, s)
	}
	wantStatus, reason := events.StatusProcessed, ""
	if fj.state == "failed" {
		wantStatus = events.StatusFailed
	}
	if j.FailedReason != nil {
		reason = *j.FailedReason
	}
	switch {
	case s.Status != wantStatus:
		t.Errorf("%s, %s job %s: MongoDB status %q, want %q", fj.when, fj.state, j.ID, s.Status, wantStatus)
	case reason != s.FailedReason:
		t.Errorf("%s, %s job %s: failedReason %q; MongoDB's is %q", fj.when, fj.state, j.ID, reason, s.FailedReason)
	case *j.ProcessedOn != s.ProcessedAt.UnixMilli():
		t.Errorf("%s, %s job %s: processedOn %d; MongoDB's processedAt is %d", fj.when, fj.state, j.ID,
			*j.ProcessedOn, s.ProcessedAt.UnixMilli())
	case j.AttemptsMade != s.Attempts:
		t.Errorf("%s, %s job %s: attemptsMade %d; MongoDB says %d attempts", fj.when, fj.state, j.ID, j.AttemptsMade, s.Attempts)
	}
}

// decodeJobData decodes a job's data, which must be exactly an order.
func decodeJobData(t *testing.T, j *bullJob) events.Order {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(j.Data))
	dec.DisallowUnknownFields()
	var o events.Order
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("job %s: data %s is not an order: %v", j.ID, j.Data, err)
	}
	return o
}

// storedOrder is an order as the processor stores it in MongoDB.
type storedOrder struct {
	ID           string    `bson:"_id"`
	RunID        string    `bson:"runId"`
	Cliente      string    `bson:"cliente"`
	Valor        float64   `bson:"valor"`
	Tier         string    `bson:"tier"`
	Priority     string    `bson:"priority"`
	Status       string    `bson:"status"`
	FailedReason string    `bson:"failedReason"`
	CreatedAt    time.Time `bson:"createdAt"`
	ProcessedAt  time.Time `bson:"processedAt"`
	Attempts     int64     `bson:"attempts"`
}

// publishInvalidOrders publishes orders the processor must fail, one per
// way of being invalid, to orders.vip under runID. Every other one gets its
// Bull job first, as the generator adds them; the others have none until
// the processor finishes them.
func publishInvalidOrders(t *testing.T, js jetstream.JetStream, rdb *redis.Client, runID string) []events.Order {
	t.Helper()
	ctx := t.Context()
	view := redisstate.New(rdb, redisstate.Options{})
	now := time.Now().UTC().Truncate(time.Millisecond)
	order := func(n int, tier events.Tier, valor float64) events.Order {
		return events.Order{ID: fmt.Sprintf("%s-%d", runID, n), RunID: runID, Cliente: fmt.Sprintf("Cliente %d", n),
			Valor: valor, Tier: tier, Priority: events.PriorityVIP, CreatedAt: now}
	}
	orders := []events.Order{
		order(0, events.TierDiamante, -1),                // negative valor
		order(1, events.TierDiamante, events.MaxValor+1), // valor over the maximum
		order(2, "PLATINA", 10),                          // unknown tier
		order(3, "", 10),                                 // no tier
		order(4, events.TierBronze, 10),                  // a NORMAL tier sent as VIP
		order(5, "diamante", 10),                         // tiers are upper case
	}
	for i := range orders {
		o := &orders[i]
		if err := o.Validate(); err == nil {
			t.Fatalf("order %+v is valid; the test needs invalid ones", o)
		}
		data := o.AppendJSON(nil)
		if i%2 == 0 {
			must(t, view.AddJobs(ctx, runID, i, []redisstate.Job{{ID: o.ID, Priority: o.Priority, Data: data, CreatedAt: o.CreatedAt}}))
		}
		// Control may still be creating the stream.
		eventually(t, 30*time.Second, func() error {
			_, err := js.Publish(ctx, events.OrderSubject(o.Priority), data, jetstream.WithMsgID(o.ID))
			return err
		})
	}
	return orders
}

// awaitRunPhase reads phase events until run reaches phase want, and fails
// the test if the run ends otherwise or takes too long.
func awaitRunPhase(t *testing.T, phases <-chan events.PhaseEvent, runID string, want events.Phase) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case ev := <-phases:
			switch {
			case ev.RunID != runID:
			case ev.Phase == want:
				return
			case !ev.Phase.Active():
				t.Fatalf("run %s ended in %s (%s) while the test waited for %s", runID, ev.Phase, ev.Reason, want)
			}
		case <-timeout:
			t.Fatalf("run %s did not reach %s in time", runID, want)
		}
	}
}

// sameIDs reports whether a and b hold the same strings, ignoring order.
func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int, len(a))
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}

// connectRedis connects to the stack's Redis.
func connectRedis(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	must(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// bullPausedLen returns the length of the queue's paused list.
func bullPausedLen(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	n, err := redisstate.New(rdb, redisstate.Options{}).JobCounts(t.Context())
	must(t, err)
	return n.Paused
}

// The api.

// queueAPI calls the api under test.
type queueAPI struct {
	base string // http://host:port/pedidos
}

// queueStatus is the answer of GET /pedidos/queue/status.
type queueStatus struct {
	Waiting   int64 `json:"waiting"`
	Active    int64 `json:"active"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Delayed   int64 `json:"delayed"`
	Paused    bool  `json:"paused"`
}

// startQueueAPI runs the api against p's servers on a random port until
// the test ends.
func startQueueAPI(t *testing.T, p *pipeline) *queueAPI {
	t.Helper()
	services := configure(t, p.stack, map[string]string{"BACKEND_LOGS": "false"})
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	must(t, err)
	services.APIs[0].Listener = ln
	runServices(t, Services{APIs: services.APIs})
	c := &queueAPI{base: "http://" + ln.Addr().String() + "/pedidos"}
	eventually(t, 30*time.Second, func() error {
		_, err := c.queueStatus(t.Context())
		return err
	})
	return c
}

// call sends a request without a body and decodes a 200 answer into out.
func (c *queueAPI) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s = %s: %s", method, path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decoding %s: %w", method, path, body, err)
	}
	return nil
}

func (c *queueAPI) queueStatus(ctx context.Context) (queueStatus, error) {
	var st queueStatus
	err := c.call(ctx, http.MethodGet, "/queue/status", &st)
	return st, err
}

// status returns GET /queue/status.
func (c *queueAPI) status(t *testing.T) queueStatus {
	t.Helper()
	st, err := c.queueStatus(t.Context())
	must(t, err)
	return st
}

// await polls GET /queue/status until ok holds.
func (c *queueAPI) await(t *testing.T, what string, ok func(queueStatus) bool) queueStatus {
	t.Helper()
	var st queueStatus
	eventually(t, 30*time.Second, func() error {
		var err error
		if st, err = c.queueStatus(t.Context()); err != nil {
			return err
		}
		if !ok(st) {
			return fmt.Errorf("waiting for %s: GET /queue/status = %+v", what, st)
		}
		return nil
	})
	return st
}

// settledStatus polls GET /queue/status until no job is active and two
// reads a quarter of a second apart agree, and returns that status.
func (c *queueAPI) settledStatus(t *testing.T) queueStatus {
	t.Helper()
	var last queueStatus
	read := false
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st := c.status(t)
		if read && st == last && st.Active == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not settle in 30s: GET /queue/status = %+v, then %+v", last, st)
		}
		last, read = st, true
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// pause pauses the queue with POST /queue/pause.
func (c *queueAPI) pause(t *testing.T) {
	t.Helper()
	var reply struct {
		Paused     bool `json:"paused"`
		Processors int  `json:"processors"`
	}
	must(t, c.call(t.Context(), http.MethodPost, "/queue/pause", &reply))
	if !reply.Paused {
		t.Fatalf("POST /queue/pause answered %+v", reply)
	}
}

// resume resumes the queue with POST /queue/resume.
func (c *queueAPI) resume(t *testing.T) {
	t.Helper()
	var reply struct {
		Resumed bool `json:"resumed"`
	}
	must(t, c.call(t.Context(), http.MethodPost, "/queue/resume", &reply))
	if !reply.Resumed {
		t.Fatalf("POST /queue/resume answered %+v", reply)
	}
}

// The bull library.

// bullView is what testdata/bull/inspect.js prints: what the bull library
// reads from the queue.
type bullView struct {
	Counts    bullCounts `json:"counts"`
	Paused    bool       `json:"paused"`
	Completed []*bullJob `json:"completed"`
	Failed    []*bullJob `json:"failed"`
	Waiting   []*bullJob `json:"waiting"`
}

// bullCounts is Bull's queue.getJobCounts().
type bullCounts struct {
	Waiting   int64 `json:"waiting"`
	Active    int64 `json:"active"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Delayed   int64 `json:"delayed"`
	Paused    int64 `json:"paused"`
}

// bullJob is a Bull job as inspect.js describes it.
type bullJob struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Data         json.RawMessage `json:"data"`
	State        string          `json:"state"`
	Timestamp    *int64          `json:"timestamp"`
	AttemptsMade int64           `json:"attemptsMade"`
	FailedReason *string         `json:"failedReason"`
	ProcessedOn  *int64          `json:"processedOn"`
	FinishedOn   *int64          `json:"finishedOn"`

	order events.Order // Data decoded, by finishedJobs.add
}

// bullLib runs inspect.js with an installed bull library.
type bullLib struct {
	script      string // testdata/bull/inspect.js, absolute
	nodeModules string // where bull is installed
}

// installBull installs the bull library of testdata/bull/package-lock.json
// with npm ci, once per lock file and Node version: into a directory under
// os.TempDir() named by their hash, which later runs reuse. Node and npm must
// be on PATH.
func installBull(t *testing.T) *bullLib {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm; .ci/run does) "+
				"to run the test that reads the queue with the bull npm library", tool)
		}
	}
	src, err := filepath.Abs(filepath.Join("testdata", "bull"))
	must(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	version, err := exec.CommandContext(ctx, "node", "--version").Output()
	must(t, err)
	files := []string{"package.json", "package-lock.json"}
	h := sha256.New()
	h.Write(bytes.TrimSpace(version))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		must(t, err)
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "pedidos-bull-"+hex.EncodeToString(h.Sum(nil))[:16])
	lib := &bullLib{script: filepath.Join(src, "inspect.js"), nodeModules: filepath.Join(dir, "node_modules")}
	installed := filepath.Join(lib.nodeModules, "bull", "package.json")
	if _, err := os.Stat(installed); err == nil {
		return lib
	}

	// Install beside the cache directory and rename it into place, so that
	// a directory under that name is always a complete install, whoever
	// else installs at the same time.
	tmp, err := os.MkdirTemp(os.TempDir(), "pedidos-bull-install-")
	must(t, err)
	defer func() { _ = os.RemoveAll(tmp) }()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(tmp, f), b, 0o600))
	}
	start := time.Now()
	// --ignore-scripts: bull needs no build step (msgpackr falls back to
	// JavaScript without its optional native addon).
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = tmp
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci of testdata/bull: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(installed); serr != nil {
			t.Fatalf("moving the bull install into %s: %v", dir, err)
		}
		// Another test process installed it first.
	}
	t.Logf("installed the bull npm library in %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return lib
}

// inspect reads the queue with the bull library: its job counts, whether
// it is paused, up to limit completed and failed jobs, and up to
// waitingLimit jobs of each of the wait and paused lists.
func (b *bullLib) inspect(t *testing.T, redisURL string, limit, waitingLimit int) bullView {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", b.script, redisURL, strconv.Itoa(limit), strconv.Itoa(waitingLimit))
	cmd.Env = append(os.Environ(), "NODE_PATH="+b.nodeModules)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node inspect.js: %v\n%s", err, stderr.Bytes())
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	var v bullView
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("inspect.js printed no view: %v\nstdout: %.2000s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	if dec.More() {
		t.Fatal("inspect.js printed more than one JSON object")
	}
	return v
}
