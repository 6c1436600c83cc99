package processor

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// discard is the sink of benchmark builds: it takes every batch and writes
// nothing, so that the queue layer (JetStream, Redis, acks) is measured alone.
type discard struct{}

func (discard) InsertMany(_ context.Context, _ any, _ ...options.Lister[options.InsertManyOptions]) (*mongo.InsertManyResult, error) {
	return &mongo.InsertManyResult{Acknowledged: true}, nil
}
