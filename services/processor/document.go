package processor

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/pedidos/pedidos/events"
)

// document is an order as stored in MongoDB: written once, in its final state.
type document struct {
	ID           string    `bson:"_id"`
	RunID        string    `bson:"runId"`
	Cliente      string    `bson:"cliente"`
	Valor        float64   `bson:"valor"`
	Tier         string    `bson:"tier"`
	Priority     string    `bson:"priority"`
	Observacoes  string    `bson:"observacoes"`
	Status       string    `bson:"status"`
	FailedReason string    `bson:"failedReason,omitempty"`
	CreatedAt    time.Time `bson:"createdAt"`
	ProcessedAt  time.Time `bson:"processedAt"`
	Attempts     int       `bson:"attempts"`
}

// documentSize is about the encoded size of a document, to size buffers.
const documentSize = 320

func newDocument(it *item, p events.Priority, now time.Time) document {
	d := document{
		ID:          it.order.ID,
		RunID:       it.order.RunID,
		Cliente:     it.order.Cliente,
		Valor:       it.order.Valor,
		Tier:        string(it.order.Tier),
		Priority:    string(p),
		Observacoes: p.Observacoes(),
		Status:      events.StatusProcessed,
		CreatedAt:   it.order.CreatedAt,
		ProcessedAt: now,
		Attempts:    it.attempts,
	}
	if it.reason != "" {
		d.Status, d.FailedReason = events.StatusFailed, it.reason
	}
	return d
}

// AppendDocument appends the BSON document the processor stores for order
// o, processed at processedAt after attempts deliveries. The benchmark's
// floor writes these same documents.
func AppendDocument(dst []byte, o *events.Order, attempts int, processedAt time.Time) []byte {
	d := newDocument(&item{order: *o, attempts: attempts}, o.Priority, processedAt)
	return d.appendBSON(dst)
}

// appendBSON appends d encoded as a BSON document: the encoding the driver
// would produce from d's struct tags, without its reflection.
func (d *document) appendBSON(dst []byte) []byte {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst = bsoncore.AppendStringElement(dst, "_id", d.ID)
	dst = bsoncore.AppendStringElement(dst, "runId", d.RunID)
	dst = bsoncore.AppendStringElement(dst, "cliente", d.Cliente)
	dst = bsoncore.AppendDoubleElement(dst, "valor", d.Valor)
	dst = bsoncore.AppendStringElement(dst, "tier", d.Tier)
	dst = bsoncore.AppendStringElement(dst, "priority", d.Priority)
	dst = bsoncore.AppendStringElement(dst, "observacoes", d.Observacoes)
	dst = bsoncore.AppendStringElement(dst, "status", d.Status)
	if d.FailedReason != "" {
		dst = bsoncore.AppendStringElement(dst, "failedReason", d.FailedReason)
	}
	dst = bsoncore.AppendDateTimeElement(dst, "createdAt", d.CreatedAt.UnixMilli())
	dst = bsoncore.AppendDateTimeElement(dst, "processedAt", d.ProcessedAt.UnixMilli())
	dst = bsoncore.AppendInt32Element(dst, "attempts", int32(min(d.Attempts, 1<<31-1)))
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx) // idx is ours: it cannot fail
	return dst
}
