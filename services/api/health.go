package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// pingTimeout bounds each readiness check.
const pingTimeout = 2 * time.Second

// Values of the status fields of the probes.
const (
	statusOK          = "ok"
	statusUnavailable = "unavailable"
)

// readiness is the answer of GET /pedidos/health/ready.
type readiness struct {
	Status string          `json:"status"`
	Checks readinessChecks `json:"checks"`
}

// readinessChecks holds "ok" or what is wrong, per dependency.
type readinessChecks struct {
	NATS  string `json:"nats"`
	Mongo string `json:"mongo"`
	Redis string `json:"redis"`
}

// live handles GET /pedidos/health/live: the process answers.
func (s *server) live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": statusOK})
}

// ready handles GET /pedidos/health/ready: 200 when NATS (connected, run
// state watched), MongoDB and Redis all answer, else 503.
func (s *server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), pingTimeout)
	defer cancel()
	var r readiness
	var wg sync.WaitGroup
	wg.Go(func() { r.Checks.NATS = s.checkNATS() })
	wg.Go(func() { r.Checks.Mongo = checkText(s.stores.mongo.Ping(ctx, nil)) })
	wg.Go(func() { r.Checks.Redis = checkText(s.stores.redis.Ping(ctx).Err()) })
	wg.Wait()

	status := http.StatusOK
	r.Status = statusOK
	if r.Checks != (readinessChecks{NATS: statusOK, Mongo: statusOK, Redis: statusOK}) {
		status, r.Status = http.StatusServiceUnavailable, statusUnavailable
	}
	return c.JSON(status, r)
}

func (s *server) checkNATS() string {
	if nc := s.stores.nc; !nc.IsConnected() {
		return "not connected: " + nc.Status().String()
	}
	return checkText(s.cache.ready())
}

func checkText(err error) string {
	if err != nil {
		return err.Error()
	}
	return statusOK
}
