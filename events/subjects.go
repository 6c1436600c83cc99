// Package events is the contract between the Pedidos services: every NATS
// subject, stream, consumer and key-value name, every payload that crosses a
// process boundary, its codec, and the Redis and MongoDB names the services
// share. It depends on the standard library only.
package events

import (
	"strconv"
	"strings"
	"time"
)

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
	// CommandRecoverStuck removes from the queue's view the active jobs no
	// processor holds: RecoverRequest → RecoverReply.
	CommandRecoverStuck = "recover-stuck"

	// SubjectGenerate and the others are the subjects of the commands.
	SubjectGenerate    = CommandGroup + "." + CommandGenerate
	SubjectCancel      = CommandGroup + "." + CommandCancel
	SubjectReset       = CommandGroup + "." + CommandReset
	SubjectPause       = CommandGroup + "." + CommandPause
	SubjectResume      = CommandGroup + "." + CommandResume
	SubjectRetryFailed = CommandGroup + "." + CommandRetryFailed
	SubjectClean       = CommandGroup + "." + CommandClean
	// SubjectRecoverStuck is the subject of CommandRecoverStuck.
	SubjectRecoverStuck = CommandGroup + "." + CommandRecoverStuck
)

// Subjects served by every processor instance (core NATS, micro, no queue
// group: each instance answers).
const (
	// ProcessorService is the micro service name of the processors.
	ProcessorService = "processor"
	// SubjectQuiesce asks every processor to finish or hand back the
	// batches it holds: QuiesceRequest → QuiesceReply, one per instance.
	SubjectQuiesce = "processor.quiesce"
	// SubjectProcessorStopped is where a processor says, with its instance
	// id, that it stopped cleanly, every batch settled: control need not
	// deliver again what it held (core NATS).
	SubjectProcessorStopped = "processor.stopped"
	// SubjectProcessorStarted is where a processor says, with its instance
	// id, that it starts, before it fetches an order: control then counts
	// it among the instances it watches even if it dies before control's
	// next count of them (core NATS).
	SubjectProcessorStarted = "processor.started"

	// GeneratorService is the micro service name of the generator.
	GeneratorService = "generator"
	// SubjectGeneratorStop asks every generator instance to stop publishing
	// a run and answer once nothing of it is in flight: StopRequest →
	// StopReply.
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
	// KeyKept holds a snapshot of the finished jobs the Bull view keeps,
	// written only by control, which puts them back when Redis lost them.
	KeyKept = "bullkept"
	// StreamState is the JetStream stream behind BucketState.
	StreamState = "KV_" + BucketState

	// BucketLeader holds the lease of the control instance that leads:
	// entries expire after LeaderTTL unless renewed.
	BucketLeader = "pedidos_leader"
	// KeyLeader is the lease: the leading instance's id.
	KeyLeader = "control"
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
	// LeaderTTL is how long a control instance leads after its last
	// renewal of the lease: a standby takes over that long after the
	// leader died, or at once when it stopped cleanly.
	LeaderTTL = 3 * time.Second
	// PhaseDuplicateWindow bounds how long JetStream remembers a phase
	// event's Nats-Msg-Id, so a re-announced phase is stored once.
	PhaseDuplicateWindow = 2 * time.Minute
)

// HeaderMsgID is the JetStream de-duplication header. An order is published
// with its id as message id, and again, by retry-failed, with RetryMsgID.
const HeaderMsgID = "Nats-Msg-Id"

// retryMark separates an order id from the retry stamp of its message id.
const retryMark = ":retry:"

// RetryMsgID is the message id of order orderID published again at at:
// JetStream may still remember its first message id.
func RetryMsgID(orderID string, at time.Time) string {
	return orderID + retryMark + strconv.FormatInt(at.UnixMilli(), 10)
}

// OrderIDOf returns the order id a message id names.
func OrderIDOf(msgID string) string {
	id, _, _ := strings.Cut(msgID, retryMark)
	return id
}

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
