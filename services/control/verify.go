package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/logs"
)

// A run's report is written from the fold of the processors' reports, each
// sent once MongoDB acknowledged the batch: right as the run ends. MongoDB
// is the store of record, so control then counts the run again from it, in
// one pass over the run's orders (on the embedded FerretDB every query
// scans the whole collection, minutes at 1.5M orders: one scan is all a run
// can afford), and records the result, and whether it agrees, in the
// report's verified field.

// verifyBatch is how many orders each read of the count returns.
const verifyBatch = 1000

// errVerifyStopped ends a count that was asked to stop.
var errVerifyStopped = errors.New("verification stopped")

// verify counts run runID's orders in MongoDB and records the result in its
// report. It gives up, with errVerifyStopped, once stop is closed.
func (rp reports) verify(ctx context.Context, r events.RunReport, stop <-chan struct{}) error {
	started := time.Now()
	v, err := rp.count(ctx, r.RunID, stop)
	if err != nil {
		return err
	}
	v.At, v.TookMs = time.Now().UTC(), time.Since(started).Milliseconds()
	v.Agrees = agrees(r, v)
	_, err = rp.db.Collection(events.CollectionRuns).UpdateOne(ctx, bson.D{{Key: "_id", Value: r.RunID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "verified", Value: v}}}})
	if err != nil {
		return fmt.Errorf("recording the verification of run %s: %w", r.RunID, err)
	}
	level := slog.LevelInfo
	if !v.Agrees || v.Inversions > 0 {
		level = slog.LevelError
	}
	rp.log.Log(ctx, level, "run counted again from mongodb", slog.String("run_id", r.RunID), slog.Bool("agrees", v.Agrees),
		slog.Int64("processed", v.Processed.Total()), slog.Int64("failed", v.Failed.Total()),
		slog.Int64("inversions", v.Inversions), slog.Duration("took", time.Since(started).Round(time.Millisecond)))
	return nil
}

// count reads every order of run runID once, with the three fields it
// needs, and folds them, until stop is closed.
//
// A stop is not a cancelled context: a command cancelled in flight leaves
// the server working on it, and on the embedded FerretDB the cursor it
// then opened, which no client would close, held the collection (a
// reset's drop waited 50 s for it). The count instead lets the read in
// flight finish and closes its cursor.
func (rp reports) count(ctx context.Context, runID string, stop <-chan struct{}) (events.Verification, error) {
	var v events.Verification
	cur, err := rp.db.Collection(events.CollectionOrders).Find(ctx, bson.D{{Key: "runId", Value: runID}},
		options.Find().SetProjection(bson.D{{Key: "priority", Value: 1}, {Key: "status", Value: 1},
			{Key: "processedAt", Value: 1}, {Key: "_id", Value: 0}}).SetBatchSize(verifyBatch))
	if err != nil {
		return v, fmt.Errorf("reading the orders of run %s: %w", runID, err)
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	// processedAt is one value per batch: a few thousand distinct times.
	times := map[events.Priority]map[int64]int64{events.PriorityVIP: {}, events.PriorityNormal: {}}
	for cur.Next(ctx) {
		select {
		case <-stop:
			return v, errVerifyStopped
		default:
		}
		var d struct {
			Priority    events.Priority `bson:"priority"`
			Status      string          `bson:"status"`
			ProcessedAt time.Time       `bson:"processedAt"`
		}
		if err := cur.Decode(&d); err != nil {
			return v, fmt.Errorf("decoding an order of run %s: %w", runID, err)
		}
		if d.Priority != events.PriorityVIP {
			d.Priority = events.PriorityNormal
		}
		if d.Status == events.StatusFailed {
			*v.Failed.Ref(d.Priority)++
		} else {
			*v.Processed.Ref(d.Priority)++
		}
		times[d.Priority][d.ProcessedAt.UnixMilli()]++
	}
	if err := cur.Err(); err != nil {
		return v, fmt.Errorf("reading the orders of run %s: %w", runID, err)
	}
	vip, normal := sortedKeys(times[events.PriorityVIP]), sortedKeys(times[events.PriorityNormal])
	if len(vip) > 0 {
		v.LastVIPProcessedAt = msTime(vip[len(vip)-1])
	}
	if len(normal) > 0 {
		v.FirstNormalProcessedAt = msTime(normal[0])
	}
	if len(vip) > 0 && len(normal) > 0 {
		lastVIP, firstNormal := vip[len(vip)-1], normal[0]
		for t, n := range times[events.PriorityNormal] {
			if t <= lastVIP {
				v.Inversions += n
			}
		}
		for t, n := range times[events.PriorityVIP] {
			if t >= firstNormal {
				v.Inversions += n
			}
		}
	}
	return v, nil
}

// agrees reports whether a run's report says what MongoDB holds.
func agrees(r events.RunReport, v events.Verification) bool {
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	return r.TotalProcessedVIP == v.Processed.VIP && r.TotalProcessedNormal == v.Processed.Normal &&
		r.TotalFailedVIP == v.Failed.VIP && r.TotalFailedNormal == v.Failed.Normal &&
		r.Audit.Inversions == v.Inversions &&
		same(r.Audit.LastVIPProcessedAt, v.LastVIPProcessedAt) && same(r.Audit.FirstNormalProcessedAt, v.FirstNormalProcessedAt)
}

func sortedKeys(m map[int64]int64) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func msTime(ms int64) *time.Time {
	t := time.UnixMilli(ms).UTC()
	return &t
}

// verifyInBackground counts the run again from MongoDB after its report
// is written, without holding up the next run: a run that starts stops it.
func (m *machine) verifyInBackground(ctx context.Context, r events.RunReport) {
	m.stopVerify(true)
	ctx = context.WithoutCancel(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	m.verifyMu.Lock()
	m.verifyStop, m.verifyDone = stop, done
	m.verifyMu.Unlock()
	m.wg.Go(func() {
		defer close(done)
		if err := m.reports.verify(ctx, r, stop); err != nil && !errors.Is(err, errVerifyStopped) {
			m.log.Warn("counting a run again from mongodb", slog.String("run_id", r.RunID), slog.Any(logs.ErrorKey, err))
		}
	})
}

// stopVerify stops a verification in progress, if any: it ends after the
// read in flight (verifyBatch orders, or on the embedded FerretDB the
// first read's scan up to the run's first orders). With wait it returns
// once the count has closed its cursor: there an open cursor holds the
// collection, and a reset's drop would wait for it.
func (m *machine) stopVerify(wait bool) {
	m.verifyMu.Lock()
	stop, done := m.verifyStop, m.verifyDone
	m.verifyStop = nil
	m.verifyMu.Unlock()
	if stop != nil {
		close(stop)
	}
	if wait && done != nil {
		<-done
	}
}
