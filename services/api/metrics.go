package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// The api's Prometheus metrics: every request by route (the route's
// pattern, so the label values are the API's few routes), method and
// status, its latency, and the live clients of the event streams.

// unmatched is the route label of a request no route matched.
const unmatched = "unmatched"

// httpMeters counts the api's requests.
type httpMeters struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newMeters registers the api's metrics on reg. sse and sockets count the
// clients of /pedidos/events and of socket.io.
func newMeters(reg prometheus.Registerer, sse, sockets func() int) *httpMeters {
	m := &httpMeters{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests the api answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time the api took to answer, by route and method (event streams: their whole life).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to 16 s
		}, []string{"route", "method"}),
	}
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pedidos_sse_clients",
		Help: "Clients connected to GET /pedidos/events.",
	}, func() float64 { return float64(sse()) })
	socketClients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pedidos_socketio_clients",
		Help: "socket.io clients connected.",
	}, func() float64 { return float64(sockets()) })
	reg.MustRegister(m.requests, m.latency, clients, socketClients)
	return m
}

// middleware records every request. An error is answered here, through
// the error handler, so that the status it answers with is the one counted.
func (m *httpMeters) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		began := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" || c.Response().Status == http.StatusNotFound {
			route = unmatched
		}
		method := c.Request().Method
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(began).Seconds())
		return nil
	}
}
