package generator

import (
	"encoding/hex"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// chunkSource builds the orders of one chunk of a run. Orders are a pure
// function of (run id, order index) except for createdAt, so a generator that
// restarts mid-run re-creates exactly the ids it may already have published,
// and JetStream (Nats-Msg-Id) and MongoDB (_id) store each order once.
type chunkSource struct {
	runID string
	seed  uint64
}

func newChunkSource(runID string) chunkSource {
	h := fnv.New64a()
	_, _ = h.Write([]byte(runID)) // hash writes never fail
	return chunkSource{runID: runID, seed: h.Sum64()}
}

// fill replaces orders with the orders of indexes [first, first+n) of the run,
// created at now. Chunk c always starts at index c*chunkSize, so the random
// stream of a chunk is seeded by its first index.
func (s chunkSource) fill(orders []events.Order, first int64, n int, now time.Time) []events.Order {
	orders = orders[:0]
	rng := rand.New(rand.NewPCG(s.seed, uint64(first)))
	for i := range n {
		tier := events.Tiers[rng.IntN(len(events.Tiers))]
		orders = append(orders, events.Order{
			ID:        newID(rng),
			RunID:     s.runID,
			Cliente:   "Cliente " + strconv.FormatInt(first+int64(i)+1, 10),
			Valor:     float64(rng.IntN(events.MaxValor*100+1)) / 100,
			Tier:      tier,
			Priority:  tier.Priority(),
			CreatedAt: now,
		})
	}
	return orders
}

// newID draws a random (version 4, RFC 4122 variant) UUID from rng.
func newID(rng *rand.Rand) string {
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
