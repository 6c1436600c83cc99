package processor

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pedidos/pedidos/events"
)

// TestDocumentBSON checks the hand-written encoding against the driver's
// reading of it, field by field, for a processed and a failed order.
func TestDocumentBSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 14, 0, 0, 123_000_000, time.UTC)
	docs := []document{{
		ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", RunID: "run", Cliente: "Cliente 7", Valor: 999.99,
		Tier: "DIAMANTE", Priority: "VIP", Observacoes: events.PriorityVIP.Observacoes(),
		Status: events.StatusProcessed, CreatedAt: at, ProcessedAt: at.Add(time.Second), Attempts: 1,
	}, {
		ID: "x", RunID: "run", Cliente: "Zé \"ç\"", Valor: 0, Tier: "OURO", Priority: "NORMAL",
		Observacoes: events.PriorityNormal.Observacoes(), Status: events.StatusFailed,
		FailedReason: "invalid order: valor -1", CreatedAt: at, ProcessedAt: at, Attempts: 5,
	}}
	for _, want := range docs {
		raw := want.appendBSON(nil)
		if err := bson.Raw(raw).Validate(); err != nil {
			t.Fatalf("invalid BSON for %s: %v", want.ID, err)
		}
		var got document
		if err := bson.Unmarshal(raw, &got); err != nil {
			t.Fatalf("decoding %s: %v", want.ID, err)
		}
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.ProcessedAt.Equal(want.ProcessedAt) {
			t.Errorf("times of %s: got %v/%v, want %v/%v", want.ID, got.CreatedAt, got.ProcessedAt, want.CreatedAt, want.ProcessedAt)
		}
		got.CreatedAt, got.ProcessedAt = want.CreatedAt, want.ProcessedAt
		if got != want {
			t.Errorf("round trip:\\n got %+v\\nwant %+v", got, want)
		}
		// The driver's own encoding of the struct has the same fields.
		driver, err := bson.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var a, b bson.M
		if err := bson.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if err := bson.Unmarshal(driver, &b); err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Errorf("%d fields, the driver writes %d: %v / %v", len(a), len(b), a, b)
		}
	}
}
