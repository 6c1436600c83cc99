// Package metrics is how every Pedidos process exposes Prometheus metrics:
// one registry per process, holding the Go runtime's and the process's
// collectors beside the services' own metrics, served as /metrics. Each
// service defines and registers its own metrics (names prefixed pedidos_,
// units in the names, counters ending in _total, label values from small
// fixed sets); this package only hosts them.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where metrics are served.
const Path = "/metrics"

// NewRegistry returns a registry holding the Go runtime's and the
// process's collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Or returns reg, or a new registry (see NewRegistry) when it is nil: a
// service run alone has a registry of its own, services run in one process
// share the process's.
func Or(reg *prometheus.Registry) *prometheus.Registry {
	if reg == nil {
		return NewRegistry()
	}
	return reg
}

// Handler serves what g gathers, in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Priorities are the values of the priority label.
var Priorities = [...]string{"VIP", "NORMAL"}
