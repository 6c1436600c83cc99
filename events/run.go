package events

import "time"

// Run is the state of the current (or latest) run, stored under KeyRun in
// BucketState. Control is its only writer and updates it with compare-and-set,
// so the phase, the targets, the timings and the drain decision survive a
// restart of any process.
type Run struct {
	ID        string    `json:"runId"`
	Quantity  int64     `json:"quantity"`
	ChunkSize int       `json:"chunkSize"`
	Phase     Phase     `json:"phase"`
	StartedAt time.Time `json:"startedAt"`
	// Timeline records when each phase was entered, in order.
	Timeline []PhaseMark `json:"timeline"`
	// FinishedAt is set when the run reaches DONE, ERROR or ABORTED.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Reason says why a run ended in ERROR or ABORTED.
	Reason string `json:"reason,omitempty"`
	// PreviousRunID is the run before this one, if any.
	PreviousRunID string `json:"previousRunId,omitempty"`
	// Lost counts, per priority, the published orders that left JetStream
	// without a processor's report (acked or deleted by someone else),
	// recorded when that priority drained.
	Lost ByPriority `json:"lost"`
}

// PhaseMark is one entry of a run's timeline.
type PhaseMark struct {
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
}

// EnteredAt returns when the run entered phase p, and false if it never did.
func (r *Run) EnteredAt(p Phase) (time.Time, bool) {
	for _, m := range r.Timeline {
		if m.Phase == p {
			return m.At, true
		}
	}
	return time.Time{}, false
}

// PhaseDuration returns how long the run stayed in phase p: until the next
// phase, or until now if p is the current phase. It is zero if the run never
// entered p.
func (r *Run) PhaseDuration(p Phase, now time.Time) time.Duration {
	for i, m := range r.Timeline {
		if m.Phase != p {
			continue
		}
		if i+1 < len(r.Timeline) {
			return r.Timeline[i+1].At.Sub(m.At)
		}
		return now.Sub(m.At)
	}
	return 0
}

// Generation is the generators' progress on the current run, stored under
// KeyGeneration: control creates it when the run starts, the generators
// record each chunk they publish in it, with a compare-and-set, so that each
// chunk counts once however many generators run.
type Generation struct {
	RunID     string `json:"runId"`
	Quantity  int64  `json:"quantity"`
	ChunkSize int    `json:"chunkSize"`
	// ChunksDone counts the chunks in DoneChunks.
	ChunksDone int `json:"chunksDone"`
	// DoneChunks are the chunks published and acknowledged.
	DoneChunks ChunkSet   `json:"doneChunks"`
	Published  ByPriority `json:"published"`
	StartedAt  time.Time  `json:"startedAt"`
	// FinishedAt is set once every order is published and acknowledged.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Error is set when generation stopped for good.
	Error string `json:"error,omitempty"`
}

// Done reports whether every order of the run was published.
func (g *Generation) Done() bool { return g.FinishedAt != nil }

// Chunks returns how many chunks the run is split into.
func (g *Generation) Chunks() int {
	return int((g.Quantity + int64(g.ChunkSize) - 1) / int64(g.ChunkSize))
}

// Tasks returns the run's chunk tasks.
func (g *Generation) Tasks() []ChunkTask {
	tasks := make([]ChunkTask, g.Chunks())
	for i := range tasks {
		tasks[i] = ChunkTask{RunID: g.RunID, Chunk: i, Quantity: g.Quantity, ChunkSize: g.ChunkSize}
	}
	return tasks
}

// Record adds chunk c, which holds counts, to the chunks done, and reports
// whether it was not there yet. The last chunk done finishes the
// generation at now.
func (g *Generation) Record(c int, counts ByPriority, now time.Time) bool {
	if g.DoneChunks.Has(c) {
		return false
	}
	g.DoneChunks.Add(c)
	g.ChunksDone = g.DoneChunks.Len()
	g.Published.VIP += counts.VIP
	g.Published.Normal += counts.Normal
	if g.ChunksDone == g.Chunks() {
		now = now.UTC()
		g.FinishedAt = &now
	}
	return true
}

// RunReport is a run's document in the process_runs collection: the seed
// project's fields, the run's outcome, and the priority audit.
type RunReport struct {
	RunID                  string     `json:"runId" bson:"_id"`
	Quantity               int64      `json:"quantity" bson:"quantity"`
	Status                 Phase      `json:"status" bson:"status"`
	Reason                 string     `json:"reason,omitempty" bson:"reason,omitempty"`
	GenerationTimeMs       int64      `json:"generationTimeMs" bson:"generationTimeMs"`
	EnqueueVIPTimeMs       int64      `json:"enqueueVipTimeMs" bson:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs    int64      `json:"enqueueNormalTimeMs" bson:"enqueueNormalTimeMs"`
	ProcessingTimeVIPMs    int64      `json:"processingTimeVIPMs" bson:"processingTimeVIPMs"`
	ProcessingTimeNormalMs int64      `json:"processingTimeNormalMs" bson:"processingTimeNormalMs"`
	StartVIP               *time.Time `json:"startVIP" bson:"startVIP"`
	EndVIP                 *time.Time `json:"endVIP" bson:"endVIP"`
	StartNormal            *time.Time `json:"startNormal" bson:"startNormal"`
	EndNormal              *time.Time `json:"endNormal" bson:"endNormal"`
	TotalProcessedVIP      int64      `json:"totalProcessedVIP" bson:"totalProcessedVIP"`
	TotalProcessedNormal   int64      `json:"totalProcessedNormal" bson:"totalProcessedNormal"`
	TotalFailedVIP         int64      `json:"totalFailedVIP" bson:"totalFailedVIP"`
	TotalFailedNormal      int64      `json:"totalFailedNormal" bson:"totalFailedNormal"`
	TotalTimeMs            int64      `json:"totalTimeMs" bson:"totalTimeMs"`
	// Throughput is processed orders per second over the run's wall clock.
	Throughput float64       `json:"throughput" bson:"throughput"`
	Timeline   []PhaseMark   `json:"timeline" bson:"timeline"`
	Audit      PriorityAudit `json:"priorityAudit" bson:"priorityAudit"`
	Accounting Accounting    `json:"accounting" bson:"accounting"`
	// Verified is a DONE run counted again from MongoDB, the store of
	// record, once the report is written (in the background: on the
	// embedded FerretDB every query scans the collection); nil until then,
	// when a run starts or a reset comes first, and for a run that did not
	// finish.
	Verified  *Verification `json:"verified,omitempty" bson:"verified,omitempty"`
	StartedAt time.Time     `json:"startedAt" bson:"startedAt"`
	CreatedAt time.Time     `json:"createdAt" bson:"createdAt"`
}

// PriorityAudit checks the run's promise: every VIP order processed before
// any NORMAL one.
type PriorityAudit struct {
	LastVIPProcessedAt     *time.Time `json:"lastVipProcessedAt" bson:"lastVipProcessedAt"`
	FirstNormalProcessedAt *time.Time `json:"firstNormalProcessedAt" bson:"firstNormalProcessedAt"`
	// Inversions counts orders processed out of priority: NORMAL orders
	// processed at or before the last VIP one, plus VIP orders processed at
	// or after the first NORMAL one. It must be 0.
	Inversions int64 `json:"inversions" bson:"inversions"`
}

// Accounting is what became of a run's deliveries, which none of the job
// queues Pedidos replaces reports.
type Accounting struct {
	// Lost are published orders that left JetStream unprocessed.
	Lost ByPriority `json:"lost" bson:"lost"`
	// Duplicates are deliveries of orders MongoDB already held: the same
	// order delivered again after a crash, written once.
	Duplicates ByPriority `json:"duplicates" bson:"duplicates"`
	// Redelivered are deliveries that were not an order's first.
	Redelivered ByPriority `json:"redelivered" bson:"redelivered"`
	// Failed are orders stored as failed.
	Failed ByPriority `json:"failed" bson:"failed"`
}

// Verification is a run's orders as MongoDB holds them, read in one pass
// after the run ended, beside what the report says.
type Verification struct {
	At                     time.Time  `json:"at" bson:"at"`
	Processed              ByPriority `json:"processed" bson:"processed"`
	Failed                 ByPriority `json:"failed" bson:"failed"`
	LastVIPProcessedAt     *time.Time `json:"lastVipProcessedAt" bson:"lastVipProcessedAt"`
	FirstNormalProcessedAt *time.Time `json:"firstNormalProcessedAt" bson:"firstNormalProcessedAt"`
	// Inversions counts NORMAL orders processed at or before the last VIP
	// one and VIP orders at or after the first NORMAL one.
	Inversions int64 `json:"inversions" bson:"inversions"`
	// Agrees says whether the report's totals and priority audit are
	// these.
	Agrees bool  `json:"agrees" bson:"agrees"`
	TookMs int64 `json:"tookMs" bson:"tookMs"`
}
