package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
	"github.com/pedidos/pedidos/infra/devstack"
)

func TestRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{})
	e.startAPI()

	// No run yet.
	status, body := e.do(http.MethodGet, "/runs")
	if status != http.StatusOK {
		t.Fatalf("GET /runs = %d %s", status, body)
	}
	assertJSONEqual(t, body, []byte(`{"limit":20,"page":1,"count":0,"total":0,"runs":[]}`))

	mc, err := mongo.Connect(options.Client().ApplyURI(e.stack.MongoURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Disconnect(t.Context()) })
	coll := mc.Database(events.Database).Collection(events.CollectionRuns)
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 5 { // inserted out of order: run-1 is the newest, run-2 the oldest
		at := t0.Add(time.Duration((i+3)%5) * time.Minute)
		docs = append(docs, events.RunReport{
			RunID: fmt.Sprintf("run-%d", i), Quantity: int64(10 * (i + 1)), Status: events.PhaseDone,
			TotalProcessedVIP: int64(i), StartedAt: at.Add(-time.Second), CreatedAt: at,
		})
	}
	if _, err := coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		query string
		want  []string
		limit int64
		page  int64
	}{
		{"", []string{"run-1", "run-0", "run-4", "run-3", "run-2"}, 20, 1},
		{"?limit=2", []string{"run-1", "run-0"}, 2, 1},
		{"?limit=2&page=2", []string{"run-4", "run-3"}, 2, 2},
		{"?limit=2&page=3", []string{"run-2"}, 2, 3},
		{"?limit=2&page=4", nil, 2, 4},
	} {
		status, body := e.do(http.MethodGet, "/runs"+tt.query)
		if status != http.StatusOK {
			t.Fatalf("GET /runs%s = %d %s", tt.query, status, body)
		}
		var a struct {
			Limit, Page, Count, Total int64
			Runs                      []events.RunReport
		}
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range a.Runs {
			got = append(got, r.RunID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || a.Limit != tt.limit || a.Page != tt.page ||
			a.Count != int64(len(tt.want)) || a.Total != 5 {
			t.Errorf("GET /runs%s = %s", tt.query, body)
		}
	}
	status, body = e.do(http.MethodGet, "/runs?limit=1")
	var a struct{ Runs []map[string]any }
	if err := json.Unmarshal(body, &a); status != http.StatusOK || err != nil || len(a.Runs) != 1 {
		t.Fatalf("GET /runs?limit=1 = %d %s", status, body)
	}
	if r := a.Runs[0]; r["runId"] != "run-1" || r["quantity"] != float64(20) || r["status"] != "DONE" ||
		r["createdAt"] != "2026-11-27T12:04:00Z" || r["totalProcessedVIP"] != float64(1) {
		t.Errorf("run report = %v, want the fields of process_runs", r)
	}
}

func TestRunsWithoutMongo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devstack.Config{MongoURI: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"})
	e.startAPI()
	status, body := e.do(http.MethodGet, "/runs")
	assertError(t, status, body, http.StatusServiceUnavailable, "mongodb unavailable")
}
