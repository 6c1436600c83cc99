package pedidos

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// TestRunSurvivesARedisRestartAndAProcessorKill runs the services as
// processes of their own, as containers would (control, a generator, two
// processors and an api), on NATS and MongoDB in one pedidos-devstack
// process and redis-server in another. It SIGKILLs Redis while the
// generator publishes and starts it again on its append-only file, then
// SIGKILLs a processor while VIP orders are processed and starts it again.
// The run must end DONE with every order stored once, no NORMAL order
// processed before the last VIP one, process_runs agreeing with MongoDB,
// and GET /pedidos counting what MongoDB holds: Redis holds projections,
// whose loss never fails a run.
func TestRunSurvivesARedisRestartAndAProcessorKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes and runs 50 000 orders")
	}
	// Not parallel, as the cluster test: its processes load a 2-core machine.
	const quantity = 50_000
	bins := buildCluster(t)
	dir := t.TempDir()

	natsPort, mongoPort, redisPort := freePort(t), freePort(t), freePort(t)
	startChild(t, "devstack", nil, bins["pedidos-devstack"], "-dir", filepath.Join(dir, "stores"),
		"-only", "nats,mongo", "-nats-port", strconv.Itoa(natsPort), "-mongo-port", strconv.Itoa(mongoPort), "-stdin=false")
	startRedis := func() *child {
		return startChild(t, "redis", nil, bins["pedidos-devstack"], "-dir", filepath.Join(dir, "redis"),
			"-only", "redis", "-redis", "redis-server", "-redis-port", strconv.Itoa(redisPort), "-stdin=false")
	}
	redis := startRedis()
	eventually(t, time.Minute, func() error { return dialBoth(t, natsPort, mongoPort, redisPort) })

	natsURL := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	mongoURI := "mongodb://127.0.0.1:" + strconv.Itoa(mongoPort) + "/"
	env := []string{
		"NATS_URL=" + natsURL, "MONGO_URI=" + mongoURI, "REDIS_URL=redis://127.0.0.1:" + strconv.Itoa(redisPort),
		"LOG_FORMAT=json", "GENERATION_CHUNK_SIZE=1000", "ORDERS_BATCH_SIZE=250", "ORDERS_QUEUE_CONCURRENCY=2",
	}
	service := func(name, bin string, vars ...string) *child {
		return startChild(t, name, slices.Concat(env, []string{"DATA_DIR=" + filepath.Join(dir, name)}, vars), bins[bin])
	}
	service("control", "pedidos-control")
	service("generator", "pedidos-generator")
	processor := service("processor-0", "pedidos-processor")
	service("processor-1", "pedidos-processor")
	apiURL := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	service("api", "pedidos-api", "PORT="+apiURL[len("http://127.0.0.1:"):])

	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	req, err := json.Marshal(events.GenerateRequest{Quantity: quantity})
	must(t, err)
	var reply events.GenerateReply
	eventually(t, time.Minute, func() error {
		msg, err := nc.Request(events.SubjectGenerate, req, 5*time.Second)
		if err != nil {
			return err
		}
		if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
			return fmt.Errorf("generate refused: %s %s", code, msg.Header.Get("Nats-Service-Error"))
		}
		return json.Unmarshal(msg.Data, &reply)
	})
	var state jetstream.KeyValue
	eventually(t, time.Minute, func() error {
		state, err = js.KeyValue(t.Context(), events.BucketState)
		return err
	})

	var redisKilled, processorKilled bool
	var run events.Run
	deadline := time.Now().Add(5 * time.Minute)
	for run.Phase != events.PhaseDone {
		if time.Now().After(deadline) {
			logQueues(t, js)
			t.Fatalf("the run did not end in time: phase %s", run.Phase)
		}
		time.Sleep(25 * time.Millisecond)
		entry, err := state.Get(t.Context(), events.KeyRun)
		if err != nil {
			continue
		}
		must(t, json.Unmarshal(entry.Value(), &run))
		switch run.Phase {
		case events.PhaseError, events.PhaseAborted:
			t.Fatalf("the run ended %s: %s", run.Phase, run.Reason)
		case events.PhaseGenerating:
			if !redisKilled {
				t.Logf("%s: SIGKILL of Redis", run.Phase)
				redis.kill(t)
				redisKilled = true
				time.Sleep(time.Second)
				redis = startRedis()
			}
		case events.PhaseEnqueueVIP, events.PhaseWaitingVIPDrain:
			if !processorKilled && redisKilled {
				t.Logf("%s: SIGKILL of %s", run.Phase, processor.name)
				processor.kill(t)
				processorKilled = true
				processor = service("processor-0", "pedidos-processor")
			}
		}
	}
	if run.ID != reply.RunID || !redisKilled || !processorKilled {
		t.Fatalf("run %s DONE, want %s; Redis killed %v, a processor killed %v", run.ID, reply.RunID, redisKilled, processorKilled)
	}

	stored := storedOrders(t, mongoURI, reply.RunID)
	if n := int64(len(stored.ids)); n != quantity {
		t.Errorf("MongoDB holds %d orders of the run, want %d, each once", n, quantity)
	}
	if stored.notProcessed > 0 {
		t.Errorf("%d orders stored with a status other than %q", stored.notProcessed, events.StatusProcessed)
	}
	if !stored.lastVIP.Before(stored.firstNormal) {
		t.Errorf("the last VIP order was processed at %v, the first NORMAL one at %v", stored.lastVIP, stored.firstNormal)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	must(t, err)
	defer func() { _ = mc.Disconnect(t.Context()) }()
	var report events.RunReport
	eventually(t, time.Minute, func() error {
		return mc.Database(events.Database).Collection(events.CollectionRuns).
			FindOne(t.Context(), bson.D{{Key: "_id", Value: reply.RunID}}).Decode(&report)
	})
	if report.Status != events.PhaseDone || report.Audit.Inversions != 0 ||
		report.TotalProcessedVIP != stored.count.VIP || report.TotalProcessedNormal != stored.count.Normal {
		t.Errorf("process_runs holds %+v; MongoDB's orders say %+v", report, stored.count)
	}
	// The counters Redis lost are written again.
	eventually(t, time.Minute, func() error {
		var st runStatus
		getJSON(t, apiURL+"/pedidos", &st)
		if st.Counts.VIP != stored.count.VIP || st.Counts.Normal != stored.count.Normal {
			return fmt.Errorf("GET /pedidos counts %+v; MongoDB holds %+v", st.Counts, stored.count)
		}
		return nil
	})
}
