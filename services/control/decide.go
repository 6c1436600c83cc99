package control

import "github.com/pedidos/pedidos/events"

// queue is what JetStream says about one priority's consumer.
type queue struct {
	// pending: stored orders not yet delivered; ackPending: delivered and
	// not yet acked (including those waiting for redelivery).
	pending, ackPending uint64
	paused              bool
}

// empty reports whether the consumer holds nothing for the processors.
func (q queue) empty() bool { return q.pending == 0 && q.ackPending == 0 }

// observation is everything the phase machine looks at in one step.
type observation struct {
	// queuePaused: an operator paused the queue.
	queuePaused bool
	gen         events.Generation
	counters    events.RunCounters
	vip         queue
	normal      queue
}

// queue returns the observation of priority p's consumer.
func (o *observation) queue(p events.Priority) queue {
	if p == events.PriorityVIP {
		return o.vip
	}
	return o.normal
}

// drained reports whether every published order of priority p reached a
// final state: JetStream holds none of them and the counters account for all.
func (o *observation) drained(p events.Priority) bool {
	return o.gen.Done() && o.queue(p).empty() && o.counters.Done(p) >= o.gen.Published.Get(p)
}

// short reports whether JetStream holds no order of priority p while the
// counters still miss some: a processor died between its MongoDB write and
// its Redis update, and the counters must be recounted from MongoDB.
func (o *observation) short(p events.Priority) bool {
	return o.gen.Done() && o.queue(p).empty() && o.counters.Done(p) < o.gen.Published.Get(p)
}

// decide returns the phase a run in phase p moves to given o, and false when
// it stays. It is the whole rule book of a run; effects live in the machine.
func decide(p events.Phase, o *observation) (events.Phase, bool) {
	switch p {
	case events.PhaseGenerating:
		if o.gen.Error != "" {
			return events.PhaseError, true
		}
		if o.gen.Done() {
			return events.PhaseEnqueueVIP, true
		}
	case events.PhaseEnqueueVIP:
		// Every VIP order the generator published is accounted for: still in
		// JetStream, in a processor's hands, or done.
		held := int64(o.vip.pending+o.vip.ackPending) + o.counters.Done(events.PriorityVIP)
		if held >= o.gen.Published.VIP {
			return events.PhaseWaitingVIPDrain, true
		}
	case events.PhaseWaitingVIPDrain:
		if o.drained(events.PriorityVIP) {
			return events.PhaseEnqueueNormal, true
		}
	case events.PhaseEnqueueNormal:
		// The NORMAL consumer is resumed; the phase ends with its first
		// delivery, or at once when there is nothing to deliver.
		if o.gen.Published.Normal == 0 || o.normal.ackPending > 0 || o.counters.Done(events.PriorityNormal) > 0 {
			return events.PhaseWaitingNormalDrain, true
		}
	case events.PhaseWaitingNormalDrain:
		if o.drained(events.PriorityNormal) {
			return events.PhaseDone, true
		}
	}
	return "", false
}
