package events

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// Results: each processor reports every batch it settled on
// results.<runId>, in the RESULTS stream, before it acks the batch's
// messages. The run's counters are a projection of these reports (control
// folds them, and writes them to Redis for GET /pedidos), so they survive
// the loss of Redis and count every order once, however many times it was
// delivered: a report names its orders by OrderKey.
const (
	// SubjectResultsPrefix prefixes the subject of every report:
	// results.<runId>.
	SubjectResultsPrefix = "results."
	// SubjectResults is the wildcard of every report.
	SubjectResults = SubjectResultsPrefix + "*"
	// StreamResults holds the reports of recent runs.
	StreamResults = "RESULTS"
	// ResultsMaxAge bounds how long reports are kept: long after any run
	// ends, whose totals are in process_runs by then.
	ResultsMaxAge = 7 * 24 * time.Hour
)

// ResultSubject returns the subject of run runID's reports.
func ResultSubject(runID string) string { return SubjectResultsPrefix + runID }

// OrderKey names an order in a report: a 64-bit FNV-1a hash of its id. Two
// orders of one run share a key with a probability of about n²/2⁶⁵
// (6·10⁻⁸ for 1.5 million orders).
func OrderKey(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id)) // hash writes never fail
	return h.Sum64()
}

// BatchResult reports one settled batch of one run and one priority.
type BatchResult struct {
	RunID    string   `json:"runId"`
	Priority Priority `json:"priority"`
	// Processor is the micro instance id of the processor that wrote it.
	Processor string `json:"processor"`
	// ProcessedAt is the processedAt the batch's new documents carry;
	// WrittenAt is when MongoDB acknowledged the write.
	ProcessedAt time.Time `json:"processedAt"`
	WrittenAt   time.Time `json:"writtenAt"`
	// Processed and Failed name the orders MongoDB now holds as processed
	// or failed, written by this batch or, for a redelivery, by an earlier
	// one.
	Processed OrderKeys `json:"processed,omitempty"`
	Failed    OrderKeys `json:"failed,omitempty"`
	// Retried names orders that were failed and are queued again
	// (retry-failed): they are no longer failed.
	Retried OrderKeys `json:"retried,omitempty"`
	// Duplicates counts the deliveries whose order MongoDB already held;
	// Redelivered the deliveries that were not the first.
	Duplicates  int `json:"duplicates,omitempty"`
	Redelivered int `json:"redelivered,omitempty"`
}

// Validate reports why r cannot be applied.
func (r *BatchResult) Validate() error {
	switch {
	case r.RunID == "":
		return errors.New("batch result: empty runId")
	case r.Priority != PriorityVIP && r.Priority != PriorityNormal:
		return fmt.Errorf("batch result of run %s: unknown priority %q", r.RunID, r.Priority)
	}
	return nil
}

// OrderKeys is a list of OrderKey values, encoded in JSON as the base64 of
// their little-endian bytes: 11 bytes an order.
type OrderKeys []uint64

// MarshalJSON implements json.Marshaler.
func (k OrderKeys) MarshalJSON() ([]byte, error) {
	raw := make([]byte, 8*len(k))
	for i, v := range k {
		binary.LittleEndian.PutUint64(raw[8*i:], v)
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(raw))
}

// UnmarshalJSON implements json.Unmarshaler.
func (k *OrderKeys) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("order keys: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("order keys: %w", err)
	}
	if len(raw)%8 != 0 {
		return fmt.Errorf("order keys: %d bytes is not a whole number of keys", len(raw))
	}
	out := make(OrderKeys, len(raw)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	*k = out
	return nil
}
