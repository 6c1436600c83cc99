package control

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/events"
)

// meters are control's Prometheus metrics: the current run as the phase
// machine sees it at each step.
type meters struct {
	phase                *prometheus.GaugeVec
	pending, ackPending  *prometheus.GaugeVec
	orders               *prometheus.GaugeVec
	published            *prometheus.GaugeVec
	duration, inversions prometheus.Gauge
	runs                 *prometheus.CounterVec
}

// allPhases are the values of the phase label.
var allPhases = []events.Phase{
	events.PhaseIdle, events.PhaseGenerating, events.PhaseEnqueueVIP, events.PhaseWaitingVIPDrain,
	events.PhaseEnqueueNormal, events.PhaseWaitingNormalDrain, events.PhaseDone, events.PhaseError, events.PhaseAborted,
}

func newMeters(reg prometheus.Registerer) *meters {
	byPriority := []string{"priority"}
	m := &meters{
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_run_phase",
			Help: "1 for the phase the current (or latest) run is in, 0 for the others.",
		}, []string{"phase"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_consumer_pending",
			Help: "Orders JetStream holds for a priority's consumer, not yet delivered.",
		}, byPriority),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_consumer_ack_pending",
			Help: "Orders a priority's consumer delivered and has not seen acked.",
		}, byPriority),
		orders: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_run_orders",
			Help: "Orders of the current run in a final state, from the processors' reports: processed, failed, lost.",
		}, []string{"priority", "state"}),
		published: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedidos_run_published_orders",
			Help: "Orders of the current run the generator published.",
		}, byPriority),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedidos_run_duration_seconds",
			Help: "How long the current run has taken, or the latest run took.",
		}),
		inversions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedidos_priority_inversions",
			Help: "Orders of the latest finished run processed out of priority (must be 0).",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedidos_runs_total",
			Help: "Runs that ended, by how.",
		}, []string{"status"}),
	}
	for _, p := range []events.Phase{events.PhaseDone, events.PhaseError, events.PhaseAborted} {
		m.runs.WithLabelValues(string(p))
	}
	m.setPhase(events.PhaseIdle)
	reg.MustRegister(m.phase, m.pending, m.ackPending, m.orders, m.published, m.duration, m.inversions, m.runs)
	return m
}

// setPhase marks phase p as the current one.
func (m *meters) setPhase(p events.Phase) {
	for _, q := range allPhases {
		v := 0.0
		if q == p {
			v = 1
		}
		m.phase.WithLabelValues(string(q)).Set(v)
	}
}

// observed records what a step of the machine saw of run.
func (m *meters) observed(run events.Run, obs *observation) {
	m.setPhase(run.Phase)
	for _, p := range []events.Priority{events.PriorityVIP, events.PriorityNormal} {
		l := string(p)
		q := obs.queue(p)
		m.pending.WithLabelValues(l).Set(float64(q.pending))
		m.ackPending.WithLabelValues(l).Set(float64(q.ackPending))
		m.orders.WithLabelValues(l, "processed").Set(float64(obs.counters.Processed.Get(p)))
		m.orders.WithLabelValues(l, "failed").Set(float64(obs.counters.Failed.Get(p)))
		m.orders.WithLabelValues(l, "lost").Set(float64(run.Lost.Get(p)))
		m.published.WithLabelValues(l).Set(float64(obs.gen.Published.Get(p)))
	}
	end := time.Now()
	if run.FinishedAt != nil {
		end = *run.FinishedAt
	}
	m.duration.Set(end.Sub(run.StartedAt).Seconds())
}

// ended records the report of a run that ended.
func (m *meters) ended(r events.RunReport) {
	m.runs.WithLabelValues(string(r.Status)).Inc()
	m.inversions.Set(float64(r.Audit.Inversions))
}
