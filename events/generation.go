package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/bits"
	"time"
)

// Generation is split into chunks that any number of generator instances
// take from a work queue: control publishes one ChunkTask per chunk of a
// run on generation.<runId> (stream GENERATION) when the run starts; a
// generator takes a task, publishes the chunk's orders, records the chunk
// as done in the Generation entry (a compare-and-set: each chunk counts
// once), then acks the task. A task whose generator died is delivered again
// to another; orders are a pure function of (run id, index), so a chunk
// published twice stores each order once (Nats-Msg-Id, then MongoDB's _id).
const (
	// SubjectGenerationPrefix prefixes the tasks of a run.
	SubjectGenerationPrefix = "generation."
	// SubjectGeneration is the wildcard of every task.
	SubjectGeneration = SubjectGenerationPrefix + "*"
	// StreamGeneration holds the chunk tasks not yet done (work queue).
	StreamGeneration = "GENERATION"
	// ConsumerGenerator is the durable pull consumer the generators share.
	ConsumerGenerator = "generator"
	// GenerationAckWait is how long a generator may hold a task without a
	// word before it is delivered again: a chunk takes well under a second,
	// and a generator says it is still working at each step of a chunk, so
	// a generator that died delays its chunks by about that much.
	GenerationAckWait = 5 * time.Second
)

// GenerationSubject returns the subject of run runID's chunk tasks.
func GenerationSubject(runID string) string { return SubjectGenerationPrefix + runID }

// ChunkTask asks a generator to publish chunk Chunk of run RunID: the
// orders of indexes [Chunk*ChunkSize, min((Chunk+1)*ChunkSize, Quantity)).
type ChunkTask struct {
	RunID     string `json:"runId"`
	Chunk     int    `json:"chunk"`
	Quantity  int64  `json:"quantity"`
	ChunkSize int    `json:"chunkSize"`
}

// MsgID is the task's Nats-Msg-Id: a task is stored once.
func (t ChunkTask) MsgID() string { return fmt.Sprintf("%s:%d", t.RunID, t.Chunk) }

// Validate reports why t cannot be done.
func (t ChunkTask) Validate() error {
	if t.RunID == "" || t.ChunkSize < 1 || t.Quantity < 1 || t.Chunk < 0 || int64(t.Chunk)*int64(t.ChunkSize) >= t.Quantity {
		return fmt.Errorf("chunk task %+v is out of range", t)
	}
	return nil
}

// First returns the index of the chunk's first order, N how many orders it
// holds.
func (t ChunkTask) First() int64 { return int64(t.Chunk) * int64(t.ChunkSize) }

// N returns how many orders the chunk holds.
func (t ChunkTask) N() int { return int(min(int64(t.ChunkSize), t.Quantity-t.First())) }

// ChunkSet is a set of chunk indexes, encoded in JSON as the base64 of a
// bitmap.
type ChunkSet []byte

// Has reports whether chunk i is in the set.
func (s ChunkSet) Has(i int) bool { return i >= 0 && i/8 < len(s) && s[i/8]&(1<<(i%8)) != 0 }

// Add adds chunk i to the set.
func (s *ChunkSet) Add(i int) {
	for len(*s) <= i/8 {
		*s = append(*s, 0)
	}
	(*s)[i/8] |= 1 << (i % 8)
}

// Len returns how many chunks the set holds.
func (s ChunkSet) Len() int {
	n := 0
	for _, b := range s {
		n += bits.OnesCount8(b)
	}
	return n
}

// MarshalJSON implements json.Marshaler.
func (s ChunkSet) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(s))
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *ChunkSet) UnmarshalJSON(data []byte) error {
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("chunk set: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return fmt.Errorf("chunk set: %w", err)
	}
	*s = b
	return nil
}
