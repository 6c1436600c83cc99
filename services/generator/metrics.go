package generator

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/events"
)

// meters are the generator's Prometheus metrics.
type meters struct {
	generated, published *prometheus.CounterVec
	chunk                prometheus.Histogram
}

func newMeters(reg prometheus.Registerer) *meters {
	m := &meters{
		generated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_orders_generated_total",
			Help: "Orders built (a chunk built again after a restart counts again).",
		}, []string{"priority"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_orders_published_total",
			Help: "Orders published and acknowledged by JetStream, per recorded chunk.",
		}, []string{"priority"}),
		chunk: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pedidos_generation_chunk_seconds",
			Help:    "Time from a chunk's first publish to the record of its last ack.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
	}
	for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
		m.generated.WithLabelValues(string(p))
		m.published.WithLabelValues(string(p))
	}
	reg.MustRegister(m.generated, m.published, m.chunk)
	return m
}

// add adds counts to a counter by priority.
func add(c *prometheus.CounterVec, counts events.ByPriority) {
	c.WithLabelValues(string(events.PriorityVIP)).Add(float64(counts.VIP))
	c.WithLabelValues(string(events.PriorityNormal)).Add(float64(counts.Normal))
}
