package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

func TestFloorBatchesHaveTheProcessorsShape(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 14, 0, 0, 123456789, time.UTC)
	batches := floorBatches(1234, 500, now)
	if len(batches) != 3 || len(batches[0]) != 500 || len(batches[2]) != 234 {
		t.Fatalf("batches of %d, %d, %d; want 500, 500, 234", len(batches[0]), len(batches[1]), len(batches[2]))
	}
	ids := map[string]bool{}
	tiers := map[string]int{}
	for _, batch := range batches {
		for _, raw := range batch {
			var d struct {
				ID           string    `bson:"_id"`
				RunID        string    `bson:"runId"`
				Tier         string    `bson:"tier"`
				Priority     string    `bson:"priority"`
				Observacoes  string    `bson:"observacoes"`
				Status       string    `bson:"status"`
				FailedReason string    `bson:"failedReason"`
				Valor        float64   `bson:"valor"`
				Attempts     int       `bson:"attempts"`
				CreatedAt    time.Time `bson:"createdAt"`
			}
			if err := bson.Unmarshal(raw.(bson.Raw), &d); err != nil {
				t.Fatal(err)
			}
			id, err := uuid.Parse(d.ID)
			if err != nil || id.Version() != 4 || ids[d.ID] {
				t.Fatalf("_id %q: want a fresh version 4 UUID (%v)", d.ID, err)
			}
			ids[d.ID] = true
			tier := events.Tier(d.Tier)
			p := tier.Priority()
			if !tier.Valid() || d.Priority != string(p) || d.Observacoes != p.Observacoes() ||
				d.Status != events.StatusProcessed || d.Attempts != 1 || d.Valor < 0 || d.Valor > events.MaxValor ||
				!d.CreatedAt.Equal(now.Truncate(time.Millisecond)) || d.FailedReason != "" {
				t.Fatalf("document %+v is not one the processor writes", d)
			}
			tiers[d.Tier]++
		}
	}
	if len(tiers) != len(events.Tiers) {
		t.Errorf("tiers drawn: %v; want all four", tiers)
	}
	// The BSON types the processor writes: attempts int32, times as dates.
	raw := batches[0][0].(bson.Raw)
	if raw.Lookup("attempts").Type != bson.TypeInt32 || raw.Lookup("processedAt").Type != bson.TypeDateTime ||
		raw.Lookup("valor").Type != bson.TypeDouble {
		t.Errorf("document %s: want attempts int32, processedAt a date, valor a double", raw)
	}
}
