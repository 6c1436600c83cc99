// Package events is the contract between the Pedidos services: every NATS
// subject, stream, consumer and key-value name, every payload that crosses a
// process boundary, its codec, and the Redis and MongoDB names the services
// share. It depends on the standard library only.
package events

import "time"

// Subjects carried by JetStream.
const (
	// SubjectOrdersVIP carries VIP orders (tier DIAMANTE).
	SubjectOrdersVIP = "orders.vip"
	// SubjectOrdersNormal carries every other order.
	SubjectOrdersNormal = "orders.normal"
	// SubjectPhase carries every phase transition of a run as a PhaseEvent.
	SubjectPhase = "control.phase"
)

// Request/reply subjects served by the control service (core NATS, micro).
const (
	// CommandGroup is the subject prefix of every control command.
	CommandGroup = "control.cmd"
	// ControlService is the micro service name of the control service.
	ControlService = "control"

	// CommandGenerate starts a run: GenerateRequest → GenerateReply.
	CommandGenerate = "generate"
	// CommandCancel aborts the active run: CancelRequest → CancelReply.
	CommandCancel = "cancel"
	// CommandReset wipes every run, order, queue and counter: ResetRequest → ResetReply.
	CommandReset = "reset"
	// CommandPause pauses consumption on every processor: {} → QueueReply.
	CommandPause = "pause"
	// CommandResume resumes consumption: {} → QueueReply.
	CommandResume = "resume"
	// CommandRetryFailed re-queues failed orders: {} → RetryReply.
	CommandRetryFailed = "retry-failed"
	// CommandClean removes jobs of one state from the queue: CleanRequest → CleanReply.
	CommandClean = "clean"

	// SubjectGenerate and the others are the subjects of the commands.
	SubjectGenerate    = CommandGroup + "." + CommandGenerate
	SubjectCancel      = CommandGroup + "." + CommandCancel
	SubjectReset       = CommandGroup + "." + CommandReset
	SubjectPause       = CommandGroup + "." + CommandPause
	SubjectResume      = CommandGroup + "." + CommandResume
	SubjectRetryFailed = CommandGroup + "." + CommandRetryFailed
	SubjectClean       = CommandGroup + "." + CommandClean
)

// Subjects served by every processor instance (core NATS, micro, no queue
// group: each instance answers).
const (
	// ProcessorService is the micro service name of the processors.
	ProcessorService = "processor"
	// SubjectQuiesce asks every processor to finish or hand back the
	// batches it holds: QuiesceRequest → QuiesceReply, one per instance.
	SubjectQuiesce = "processor.quiesce"

	// GeneratorService is the micro service name of the generator.
	GeneratorService = "generator"
	// SubjectGeneratorStop asks the generator to stop publishing a run and
	// answer once nothing of it is in flight: StopRequest → StopReply.
	SubjectGeneratorStop = "generator.stop"
)

// Streams, consumers and buckets.
const (
	// StreamOrders holds pending orders (work-queue retention, file storage).
	StreamOrders = "ORDERS"
	// StreamControl holds the phase history of runs.
	StreamControl = "CONTROL"

	// ConsumerVIP is the durable pull consumer of SubjectOrdersVIP.
	ConsumerVIP = "processor-vip"
	// ConsumerNormal is the durable pull consumer of SubjectOrdersNormal. It is
	// created paused and resumed only by control's VIP drain decision.
	ConsumerNormal = "processor-normal"

	// BucketState is the key-value bucket holding run state.
	BucketState = "pedidos_state"
	// KeyRun holds the current (or latest) Run, written only by control.
	KeyRun = "run"
	// KeyGeneration holds the Generation progress of the current run,
	// written only by the generator.
	KeyGeneration = "generation"
	// KeyQueue holds the QueueState set by pause and resume, written only
	// by control.
	KeyQueue = "queue"
	// StreamState is the JetStream stream behind BucketState.
	StreamState = "KV_" + BucketState
)

// Stream and consumer settings shared by whoever creates them and whoever
// reasons about them.
const (
	// OrdersDuplicateWindow bounds how long JetStream remembers a Nats-Msg-Id.
	// A re-published order older than this is still stored once: MongoDB's _id
	// makes the write idempotent.
	OrdersDuplicateWindow = 2 * time.Minute
	// OrdersAckWait is how long a delivered order may stay unacknowledged
	// before JetStream redelivers it.
	OrdersAckWait = 60 * time.Second
	// OrdersMaxAckPending bounds the orders in flight on one consumer, across
	// every processor instance.
	OrdersMaxAckPending = 65536
	// PhaseHistory is how many phase events the CONTROL stream keeps.
	PhaseHistory = 10000
	// PhaseDuplicateWindow bounds how long JetStream remembers a phase
	// event's Nats-Msg-Id, so a re-announced phase is stored once.
	PhaseDuplicateWindow = 2 * time.Minute
)

// HeaderMsgID is the JetStream de-duplication header.
const HeaderMsgID = "Nats-Msg-Id"

// OrderSubject returns the subject an order of priority p is published on.
func OrderSubject(p Priority) string {
	if p == PriorityVIP {
		return SubjectOrdersVIP
	}
	return SubjectOrdersNormal
}

// OrderConsumer returns the durable consumer that delivers orders of priority p.
func OrderConsumer(p Priority) string {
	if p == PriorityVIP {
		return ConsumerVIP
	}
	return ConsumerNormal
}
