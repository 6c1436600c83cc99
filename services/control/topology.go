package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// ensureTopology creates, idempotently, every stream, consumer and bucket of
// Pedidos, each stream and the bucket on replicas servers (0 means 1); an
// existing one is scaled to that many. The consumers inherit their stream's
// replicas. Control owns them; the other services wait for them to exist.
func ensureTopology(ctx context.Context, js jetstream.JetStream, replicas int) (stateKV, leaderKV jetstream.KeyValue, err error) {
	streams := []jetstream.StreamConfig{{
		Name:        events.StreamOrders,
		Description: "Pending orders, one subject per priority.",
		Subjects:    []string{events.SubjectOrdersVIP, events.SubjectOrdersNormal},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  events.OrdersDuplicateWindow,
		// Batched direct gets read what waits without consuming it: the
		// rebuild of the Bull view, and the nats CLI.
		AllowDirect: true,
		Replicas:    replicas,
	}, {
		Name:        events.StreamControl,
		Description: "Phase transitions of runs.",
		Subjects:    []string{events.SubjectPhase},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxMsgs:     events.PhaseHistory,
		Duplicates:  events.PhaseDuplicateWindow,
		Replicas:    replicas,
	}, {
		Name:        events.StreamResults,
		Description: "What each processor batch settled: the source of the run counters.",
		Subjects:    []string{events.SubjectResults},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      events.ResultsMaxAge,
		Replicas:    replicas,
	}, {
		Name:        events.StreamGeneration,
		Description: "Chunks of runs to generate, one task each, for any number of generators.",
		Subjects:    []string{events.SubjectGeneration},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}, {
		Name:              events.StreamLogs,
		Description:       "The last log lines of every service, by level, that the api serves.",
		Subjects:          []string{events.SubjectLogs},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: events.LogsPerSubject,
		MaxAge:            events.LogsMaxAge,
		MaxBytes:          events.LogsMaxBytes,
		Discard:           jetstream.DiscardOld,
		Replicas:          replicas,
	}}
	for _, cfg := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return nil, nil, fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}
	for _, p := range [...]events.Priority{events.PriorityVIP, events.PriorityNormal} {
		if err := ensureConsumer(ctx, js, p); err != nil {
			return nil, nil, err
		}
	}
	_, err = js.CreateOrUpdateConsumer(ctx, events.StreamGeneration, jetstream.ConsumerConfig{
		Durable:       events.ConsumerGenerator,
		Description:   "Chunk tasks for the generators.",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       events.GenerationAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1024,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating consumer %s: %w", events.ConsumerGenerator, err)
	}
	leaderKV, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      events.BucketLeader,
		Description: "The lease of the control instance that leads.",
		History:     1,
		TTL:         events.LeaderTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating bucket %s: %w", events.BucketLeader, err)
	}
	stateKV, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      events.BucketState,
		Description: "Run state: the current run (control) and its generation progress (generator).",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating bucket %s: %w", events.BucketState, err)
	}
	return stateKV, leaderKV, nil
}

// ensureConsumer creates the durable consumer of priority p if it does not
// exist. The NORMAL consumer is created paused. An existing consumer is left
// as it is, paused or not: its state belongs to the run in progress.
func ensureConsumer(ctx context.Context, js jetstream.JetStream, p events.Priority) error {
	name := events.OrderConsumer(p)
	_, err := js.Consumer(ctx, events.StreamOrders, name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("looking up consumer %s: %w", name, err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("%s orders for the processors.", p),
		FilterSubject: events.OrderSubject(p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       events.OrdersAckWait,
		MaxDeliver:    -1,
		MaxAckPending: events.OrdersMaxAckPending,
		MaxWaiting:    4096,
	}
	if p == events.PriorityNormal {
		until := pausedForever()
		cfg.PauseUntil = &until
	}
	if _, err := js.CreateConsumer(ctx, events.StreamOrders, cfg); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("creating consumer %s: %w", name, err)
	}
	return nil
}

// ensureIndexes creates the secondary indexes the queries of Pedidos use on
// MongoDB. FerretDB's SQLite backend uses none of them and every one slows
// its inserts down, so IndexAuto skips them there.
func ensureIndexes(ctx context.Context, db *mongo.Database, mode IndexMode) (bool, error) {
	if mode == IndexNever {
		return false, nil
	}
	if mode == IndexAuto {
		var info bson.M
		if err := db.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
			return false, fmt.Errorf("asking the server what it is: %w", err)
		}
		if _, ferret := info["ferretdbVersion"]; ferret {
			return false, nil
		}
	}
	orders := []mongo.IndexModel{{
		// Reconciliation and the priority audit filter on run and priority,
		// the audit on processedAt too.
		Keys: bson.D{{Key: "runId", Value: 1}, {Key: "priority", Value: 1}, {Key: "processedAt", Value: 1}},
	}}
	if _, err := db.Collection(events.CollectionOrders).Indexes().CreateMany(ctx, orders); err != nil {
		return false, fmt.Errorf("creating indexes on %s: %w", events.CollectionOrders, err)
	}
	runs := []mongo.IndexModel{{
		Keys:    bson.D{{Key: "createdAt", Value: -1}},
		Options: options.Index().SetName("createdAt_desc"),
	}}
	if _, err := db.Collection(events.CollectionRuns).Indexes().CreateMany(ctx, runs); err != nil {
		return false, fmt.Errorf("creating indexes on %s: %w", events.CollectionRuns, err)
	}
	return true, nil
}
