package processor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/events"
)

// meters are the processor's Prometheus metrics. Every instance counts
// what it settled; summed over instances, processed and failed are the
// orders MongoDB holds (a redelivered order found already written counts
// as a duplicate, not again).
type meters struct {
	processed, failed, duplicates, redelivered *prometheus.CounterVec
	write                                      *prometheus.HistogramVec
	held                                       *prometheus.GaugeVec
}

func newMeters(reg prometheus.Registerer) *meters {
	byPriority := []string{"priority"}
	m := &meters{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_orders_processed_total",
			Help: "Orders this processor stored in MongoDB as processed.",
		}, byPriority),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_orders_failed_total",
			Help: "Orders this processor stored in MongoDB as failed.",
		}, byPriority),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_orders_duplicate_deliveries_total",
			Help: "Deliveries of orders MongoDB already held (written once, delivered again after a crash).",
		}, byPriority),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_redeliveries_total",
			Help: "Deliveries that were not an order's first.",
		}, byPriority),
		write: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pedidos_batch_write_seconds",
			Help:    "Time MongoDB took to acknowledge a batch's InsertMany.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12), // 5 ms to 10 s
		}, byPriority),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_processor_orders_held",
			Help: "Orders this processor fetched and has not settled.",
		}, byPriority),
	}
	for _, p := range []string{string(events.PriorityVIP), string(events.PriorityNormal)} {
		m.processed.WithLabelValues(p)
		m.failed.WithLabelValues(p)
		m.duplicates.WithLabelValues(p)
		m.redelivered.WithLabelValues(p)
		m.held.WithLabelValues(p)
	}
	reg.MustRegister(m.processed, m.failed, m.duplicates, m.redelivered, m.write, m.held)
	return m
}

// written records a batch MongoDB answered for after took.
func (m *meters) written(p events.Priority, took time.Duration) {
	m.write.WithLabelValues(string(p)).Observe(took.Seconds())
}

// settled records a written batch: the orders it stored now, and the
// deliveries of orders MongoDB already held.
func (m *meters) settled(p events.Priority, items []item, results []error) {
	var processed, failed, duplicates, redelivered float64
	for i := range items {
		it := &items[i]
		if it.doc < 0 || it.outcome == retry {
			continue
		}
		switch {
		case results[it.doc] != nil:
			duplicates++
		case it.reason != "":
			failed++
		default:
			processed++
		}
		if it.attempts > 1 {
			redelivered++
		}
	}
	l := string(p)
	m.processed.WithLabelValues(l).Add(processed)
	m.failed.WithLabelValues(l).Add(failed)
	m.duplicates.WithLabelValues(l).Add(duplicates)
	m.redelivered.WithLabelValues(l).Add(redelivered)
}
