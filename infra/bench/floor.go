package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/services/processor"
)

// floorDatabase is where the floor writes, dropped afterwards: never the
// database of Pedidos, in case the server was given on the command line.
const floorDatabase = "pedidos_bench_floor"

// floorResult is the floor: N documents inserted with nothing else running.
type floorResult struct {
	Docs      int64 `json:"docs"`
	BatchSize int   `json:"batchSize"`
	Writers   int   `json:"writers"`
	// Server is what the server says it is (buildInfo).
	Server string `json:"server"`
	// Indexed says whether the collection had the secondary index control
	// creates on the orders collection (MONGO_INDEXES, as control decides).
	Indexed bool `json:"indexed"`
	// Prepare is the time to build and encode the documents, before the
	// clock starts.
	Prepare ms `json:"prepareMs"`
	// Elapsed is the time of the inserts alone.
	Elapsed    ms      `json:"elapsedMs"`
	DocsPerSec float64 `json:"docsPerSec"`
	// Sampled are the MongoDB server and the harness (the driver's
	// encoding), sampled during the inserts.
	Sampled sampled `json:"sampled"`
}

// measureFloor inserts n documents of the processor's shape into a fresh
// MongoDB (or the one given), in batches of h.batchSize, h.writers
// InsertMany calls at once, unordered, as the processor writes them. The
// documents are built and encoded to BSON before the clock starts (the
// processor hands the driver documents it encoded itself): the clock times
// the driver sending them and the server storing them, nothing else.
func (h *harness) measureFloor(ctx context.Context, n int64, dir string) (_ *floorResult, err error) {
	servers, err := h.startServers(ctx, dir, "", serverMongo)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, servers.stop()) }()

	client, err := mongo.Connect(options.Client().ApplyURI(servers.urls[serverMongo]))
	if err != nil {
		return nil, fmt.Errorf("connecting to mongo: %w", err)
	}
	defer func() { err = errors.Join(err, client.Disconnect(context.WithoutCancel(ctx))) }()
	db := client.Database(floorDatabase)
	if err := db.Drop(ctx); err != nil {
		return nil, fmt.Errorf("dropping %s: %w", floorDatabase, err)
	}
	res := &floorResult{Docs: n, BatchSize: h.batchSize, Writers: h.writers}
	var ferret bool
	if res.Server, ferret, err = serverIdentity(ctx, client); err != nil {
		return nil, err
	}
	coll := db.Collection(events.CollectionOrders)
	if res.Indexed, err = h.createOrderIndex(ctx, coll, ferret); err != nil {
		return nil, err
	}

	began := time.Now()
	batches := floorBatches(n, h.batchSize, began)
	res.Prepare = ms(time.Since(began))
	h.log.InfoContext(ctx, "floor: inserting", slog.Any("docs", n), slog.Any("batch_size", h.batchSize), slog.Any("writers", h.writers), slog.Any("server", res.Server), slog.Any("indexed", res.Indexed), slog.Any("prepared_in", res.Prepare))

	smp := startSampler(withPID(servers.pids, "harness", os.Getpid()), sampleInterval)
	began = time.Now()
	err = insertAll(ctx, coll, batches, h.writers)
	elapsed := time.Since(began)
	res.Sampled = smp.finish()
	if err != nil {
		return nil, err
	}
	res.Elapsed = ms(elapsed)
	res.DocsPerSec = float64(n) / elapsed.Seconds()
	if err := db.Drop(ctx); err != nil {
		return nil, fmt.Errorf("dropping %s: %w", floorDatabase, err)
	}
	return res, nil
}

// serverIdentity returns the server's name and version, and whether it is
// FerretDB.
func serverIdentity(ctx context.Context, client *mongo.Client) (string, bool, error) {
	var info bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return "", false, fmt.Errorf("asking the server what it is: %w", err)
	}
	if v, ok := info["ferretdbVersion"]; ok {
		return fmt.Sprintf("FerretDB %v (as MongoDB %v)", v, info["version"]), true, nil
	}
	return fmt.Sprintf("MongoDB %v", info["version"]), false, nil
}

// createOrderIndex creates on coll the secondary index control creates on
// the orders collection, when control would: MONGO_INDEXES=always, or auto
// (the default) on a server that is not FerretDB.
func (h *harness) createOrderIndex(ctx context.Context, coll *mongo.Collection, ferret bool) (bool, error) {
	switch mode := h.envValue("MONGO_INDEXES"); {
	case mode == "never", (mode == "" || mode == "auto") && ferret:
		return false, nil
	}
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "runId", Value: 1}, {Key: "priority", Value: 1}, {Key: "processedAt", Value: 1}},
	})
	if err != nil {
		return false, fmt.Errorf("creating the orders index: %w", err)
	}
	return true, nil
}

// floorBatches builds n orders as the generator would (random version 4
// UUIDs, tiers uniform, values of two decimals), encoded as the processor
// stores them processed once, in batches of size.
func floorBatches(n int64, size int, now time.Time) [][]any {
	now = now.UTC().Truncate(time.Millisecond)
	src := rand.NewChaCha8([32]byte{'p', 'e', 'd', 'i', 'd', 'o', 's'})
	rng := rand.New(src)
	runID := uuid.Must(uuid.NewRandomFromReader(src)).String()
	batches := make([][]any, 0, (n+int64(size)-1)/int64(size))
	for first := int64(0); first < n; first += int64(size) {
		batch := make([]any, 0, min(int64(size), n-first))
		for i := first; i < n && i < first+int64(size); i++ {
			tier := events.Tiers[rng.IntN(len(events.Tiers))]
			o := events.Order{
				ID:        uuid.Must(uuid.NewRandomFromReader(src)).String(),
				RunID:     runID,
				Cliente:   "Cliente " + strconv.FormatInt(i+1, 10),
				Valor:     float64(rng.IntN(events.MaxValor*100+1)) / 100,
				Tier:      tier,
				Priority:  tier.Priority(),
				CreatedAt: now,
			}
			batch = append(batch, bson.Raw(processor.AppendDocument(nil, &o, 1, now)))
		}
		batches = append(batches, batch)
	}
	return batches
}

// insertAll inserts every batch with an unordered InsertMany, writers at
// once, and stops at the first error.
func insertAll(ctx context.Context, coll *mongo.Collection, batches [][]any, writers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(batches)) || ctx.Err() != nil {
					return
				}
				res, err := coll.InsertMany(ctx, batches[i], options.InsertMany().SetOrdered(false))
				if err == nil && len(res.InsertedIDs) != len(batches[i]) {
					err = fmt.Errorf("%d of %d documents inserted", len(res.InsertedIDs), len(batches[i]))
				}
				if err != nil {
					cancel(fmt.Errorf("inserting batch %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
