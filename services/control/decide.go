package control

import "github.com/pedidos/pedidos/events"

// observation is everything the phase machine looks at in one step.
type observation struct {
	// queuePaused: an operator paused the queue.
	queuePaused bool
	gen         events.Generation
	counters    events.RunCounters
	// caughtUp: every report JetStream stored for the run is in counters.
	caughtUp bool
	vip      queue
	normal   queue
}

// queue returns the observation of priority p's consumer.
func (o *observation) queue(p events.Priority) queue {
	if p == events.PriorityVIP {
		return o.vip
	}
	return o.normal
}

// drained reports whether every published order of priority p is done
// with: the generator finished, JetStream holds none of them, and every
// report of the run is folded into the counters. A processor reports a batch
// before it acks it, so then the counters account for every order of p that
// any processor settled; orders still missing (see lost) left JetStream some
// other way.
func (o *observation) drained(p events.Priority) bool {
	return o.gen.Done() && o.queue(p).empty() && o.caughtUp
}

// lost returns how many published orders of priority p the counters miss
// once p is drained.
func (o *observation) lost(p events.Priority) int64 {
	return max(0, o.gen.Published.Get(p)-o.counters.Done(p))
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
		if held >= o.gen.Published.VIP || o.drained(events.PriorityVIP) {
			return events.PhaseWaitingVIPDrain, true
		}
	case events.PhaseWaitingVIPDrain:
		if o.drained(events.PriorityVIP) {
			return events.PhaseEnqueueNormal, true
		}
	case events.PhaseEnqueueNormal:
		// The NORMAL consumer is resumed; the phase ends with its first
		// delivery, or at once when there is nothing to deliver.
		if o.gen.Published.Normal == 0 || o.normal.ackPending > 0 || o.counters.Done(events.PriorityNormal) > 0 ||
			o.drained(events.PriorityNormal) {
			return events.PhaseWaitingNormalDrain, true
		}
	case events.PhaseWaitingNormalDrain:
		if o.drained(events.PriorityNormal) {
			return events.PhaseDone, true
		}
	}
	return "", false
}
