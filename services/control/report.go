package control

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pedidos/pedidos/events"
)

// report builds the process_runs document of a run that just ended.
func (m *machine) report(ctx context.Context, run events.Run, obs *observation) (events.RunReport, error) {
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
	if secs := end.Sub(run.StartedAt).Seconds(); secs > 0 {
		r.Throughput = float64(c.Processed.Total()) / secs
	}
	inversions, err := m.inversions(ctx, run.ID, c)
	if err != nil {
		return r, err
	}
	r.Audit.Inversions = inversions
	return r, nil
}

// inversions counts the orders of a run processed out of priority. When the
// last VIP order precedes the first NORMAL one there are none, and MongoDB
// is not asked: on FerretDB every query scans the collection.
func (m *machine) inversions(ctx context.Context, runID string, c events.RunCounters) (int64, error) {
	lastVIP, firstNormal := c.VIP.Last, c.Normal.First
	if lastVIP == nil || firstNormal == nil || firstNormal.After(*lastVIP) {
		return 0, nil
	}
	orders := m.db.Collection(events.CollectionOrders)
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
	m.log.Error("priority inversions", "run_id", runID, "vip_late", late, "normal_early", early)
	return late + early, nil
}

// saveReport writes a run report once; a report already there (control
// stopped after writing it) is kept.
func (m *machine) saveReport(ctx context.Context, r events.RunReport) error {
	_, err := m.db.Collection(events.CollectionRuns).InsertOne(ctx, r)
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("writing the report of run %s: %w", r.RunID, err)
	}
	return nil
}

// recount sets a run's counters of priority p to what MongoDB holds.
func (m *machine) recount(ctx context.Context, runID string, p events.Priority) error {
	started := time.Now()
	orders := m.db.Collection(events.CollectionOrders)
	count := func(status string) (int64, error) {
		return orders.CountDocuments(ctx, bson.D{
			{Key: "runId", Value: runID}, {Key: "priority", Value: p}, {Key: "status", Value: status},
		})
	}
	processed, err := count(events.StatusProcessed)
	if err != nil {
		return fmt.Errorf("recounting processed %s orders: %w", p, err)
	}
	failed, err := count(events.StatusFailed)
	if err != nil {
		return fmt.Errorf("recounting failed %s orders: %w", p, err)
	}
	err = m.rdb.HSet(ctx, events.RunCountersKey(runID), events.FieldProcessed(p), processed, events.FieldFailed(p), failed).Err()
	if err != nil {
		return fmt.Errorf("writing recounted counters: %w", err)
	}
	m.log.Warn("counters recounted from mongodb", "run_id", runID, "priority", p,
		"processed", processed, "failed", failed, "took", time.Since(started).Round(time.Millisecond))
	return nil
}
