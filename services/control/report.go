package control

import (
	"context"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/events"
)

// reports writes the process_runs document of each run that ends.
type reports struct {
	db   *mongo.Database
	proj *projector
	log  *slog.Logger
}

// build builds the process_runs document of a run that just ended.
func (rp reports) build(ctx context.Context, run events.Run, obs *observation) (events.RunReport, error) {
	end := *run.FinishedAt
	c := obs.counters
	r := events.RunReport{
		RunID:                  run.ID,
		Quantity:               run.Quantity,
		Status:                 run.Phase,
		Reason:                 run.Reason,
		EnqueueVIPTimeMs:       run.PhaseDuration(events.PhaseEnqueueVIP, end).Milliseconds(),
		EnqueueNormalTimeMs:    run.PhaseDuration(events.PhaseEnqueueNormal, end).Milliseconds(),
		ProcessingTimeVIPMs:    c.VIP.Duration().Milliseconds(),
		ProcessingTimeNormalMs: c.Normal.Duration().Milliseconds(),
		StartVIP:               c.VIP.First,
		EndVIP:                 c.VIP.End(),
		StartNormal:            c.Normal.First,
		EndNormal:              c.Normal.End(),
		TotalProcessedVIP:      c.Processed.VIP,
		TotalProcessedNormal:   c.Processed.Normal,
		TotalFailedVIP:         c.Failed.VIP,
		TotalFailedNormal:      c.Failed.Normal,
		TotalTimeMs:            end.Sub(run.StartedAt).Milliseconds(),
		Timeline:               run.Timeline,
		StartedAt:              run.StartedAt,
		CreatedAt:              end,
		Audit: events.PriorityAudit{
			LastVIPProcessedAt:     c.VIP.Last,
			FirstNormalProcessedAt: c.Normal.First,
		},
	}
	if gen := obs.gen; gen.FinishedAt != nil {
		r.GenerationTimeMs = gen.FinishedAt.Sub(gen.StartedAt).Milliseconds()
	}
	r.Accounting = events.Accounting{Lost: run.Lost, Failed: c.Failed}
	r.Accounting.Duplicates, r.Accounting.Redelivered = rp.proj.accounting(run.ID)
	if secs := end.Sub(run.StartedAt).Seconds(); secs > 0 {
		r.Throughput = float64(c.Processed.Total()) / secs
	}
	inversions, err := rp.inversions(ctx, run.ID, c)
	if err != nil {
		return r, err
	}
	r.Audit.Inversions = inversions
	return r, nil
}

// inversions counts the orders of a run processed out of priority. When the
// last VIP order precedes the first NORMAL one there are none, and MongoDB
// is not asked: on FerretDB every query scans the collection.
func (rp reports) inversions(ctx context.Context, runID string, c events.RunCounters) (int64, error) {
	lastVIP, firstNormal := c.VIP.Last, c.Normal.First
	if lastVIP == nil || firstNormal == nil || firstNormal.After(*lastVIP) {
		return 0, nil
	}
	orders := rp.db.Collection(events.CollectionOrders)
	late, err := orders.CountDocuments(ctx, bson.D{
		{Key: "runId", Value: runID}, {Key: "priority", Value: events.PriorityVIP},
		{Key: "processedAt", Value: bson.D{{Key: "$gte", Value: *firstNormal}}},
	})
	if err != nil {
		return 0, fmt.Errorf("counting VIP orders processed late: %w", err)
	}
	early, err := orders.CountDocuments(ctx, bson.D{
		{Key: "runId", Value: runID}, {Key: "priority", Value: events.PriorityNormal},
		{Key: "processedAt", Value: bson.D{{Key: "$lte", Value: *lastVIP}}},
	})
	if err != nil {
		return 0, fmt.Errorf("counting NORMAL orders processed early: %w", err)
	}
	rp.log.Error("priority inversions", slog.String("run_id", runID), slog.Int64("vip_late", late), slog.Int64("normal_early", early))
	return late + early, nil
}

// save writes a run report once; a report already there (control stopped
// after writing it) is kept.
func (rp reports) save(ctx context.Context, r events.RunReport) error {
	_, err := rp.db.Collection(events.CollectionRuns).InsertOne(ctx, r)
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("writing the report of run %s: %w", r.RunID, err)
	}
	return nil
}

// exists reports whether run runID's report is written.
func (rp reports) exists(ctx context.Context, runID string) (bool, error) {
	n, err := rp.db.Collection(events.CollectionRuns).CountDocuments(ctx, bson.D{{Key: "_id", Value: runID}})
	if err != nil {
		return false, fmt.Errorf("looking for the report of run %s: %w", runID, err)
	}
	return n > 0, nil
}
