package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pedidos/pedidos/events"
)

// storeTimeout bounds a query of MongoDB, so that a server that is down
// gets a 503 within it rather than after the driver's server selection
// timeout of 30 s.
const storeTimeout = 5 * time.Second

// runsAnswer is the answer of GET /pedidos/runs.
type runsAnswer struct {
	Limit int64 `json:"limit"`
	Page  int64 `json:"page"`
	// Count is the number of runs on this page, Total in the collection.
	Count int64              `json:"count"`
	Total int64              `json:"total"`
	Runs  []events.RunReport `json:"runs"`
}

// getRuns handles GET /pedidos/runs?limit=&page=: the reports of finished
// runs, newest first.
func (s *server) getRuns(c echo.Context) error {
	q, err := parseRunsQuery(c.Request().URL.RawQuery)
	if err != nil {
		return badRequest(err.Error())
	}
	runs, total, err := s.runs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, runsAnswer{
		Limit: q.limit, Page: q.page, Count: int64(len(runs)), Total: total, Runs: runs,
	})
}

// runs reads one page of process_runs, newest createdAt first (then
// highest id, so that pages do not overlap), and the collection's size. The
// collection holds one small document per run: its estimated count is
// exact, and a sort without an index is cheap.
func (s *server) runs(ctx context.Context, q runsQuery) ([]events.RunReport, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	coll := s.stores.mongo.Database(events.Database).Collection(events.CollectionRuns)
	opts := options.Find().
		SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip((q.page - 1) * q.limit).
		SetLimit(q.limit)
	cur, err := coll.Find(ctx, bson.D{}, opts)
	if err != nil {
		return nil, 0, mongoUnavailable(fmt.Errorf("finding runs: %w", err))
	}
	runs := []events.RunReport{}
	if err := cur.All(ctx, &runs); err != nil { // a document that is not a RunReport: a 500
		return nil, 0, fmt.Errorf("reading runs: %w", err)
	}
	total, err := coll.EstimatedDocumentCount(ctx)
	if err != nil {
		return nil, 0, mongoUnavailable(fmt.Errorf("counting runs: %w", err))
	}
	return runs, total, nil
}

// mongoUnavailable answers an error of talking to MongoDB with a 503.
func mongoUnavailable(err error) error {
	return &echo.HTTPError{Code: http.StatusServiceUnavailable, Message: "mongodb unavailable", Internal: err}
}
