package snssqs

import (
	"context"
	"fmt"
	"time"

	"github.com/snssqs/snssqs/internal/consume"
)

// Service names the AWS service a message travels through.
type Service string

// The services.
const (
	ServiceSNS Service = "sns"
	ServiceSQS Service = "sqs"
)

// PublisherHooks watch a Publisher or QueuePublisher (PublisherOptions.Hooks).
type PublisherHooks struct {
	// Publish is called for every message given to Publish, Send or a batch
	// form whose call got past its first checks (a valid topic ARN or queue
	// URL, a live context, a publisher not shut down), before the message
	// is validated, with the caller's context. The context
	// it returns is the one the message's trace context is injected from
	// (PublisherOptions.Propagator), and whose values reach the request
	// that carries the message; done is called once with the message's
	// outcome, from the publishing goroutine, and may be nil.
	Publish func(ctx context.Context, m PublishInfo) (_ context.Context, done func(PublishDone))
	// Request is called before every Publish, PublishBatch, SendMessage or
	// SendMessageBatch request, with the request's context. The context it
	// returns is the one the request is made with; done is called once
	// when the request returned, and may be nil.
	Request func(ctx context.Context, r PublishRequest) (_ context.Context, done func(PublishRequestDone))
}

// PublishInfo describes a message about to be published.
type PublishInfo struct {
	Service Service
	// Destination is the topic ARN or queue URL as given.
	Destination string
	// DestinationName is the topic or queue name (empty when Destination is
	// invalid).
	DestinationName string
	EventType       string
	// EventID is the envelope id the message will have (WithEventID's, or
	// a new one from PublisherOptions.NewID).
	EventID string
}

// PublishDone is the outcome of one message.
type PublishDone struct {
	// MessageID is the id SNS or SQS gave the message, empty on failure.
	MessageID string
	// Err is nil on success: a validation error, the request's error, or
	// the caller's context error.
	Err error
	// Rejected reports a message that failed before any request could
	// carry it: invalid, too large, its payload not stored, or the
	// publisher shut down.
	Rejected bool
}

// PublishRequest describes one request about to be sent.
type PublishRequest struct {
	Service         Service
	Destination     string
	DestinationName string
	// Batch reports a PublishBatch or SendMessageBatch request.
	Batch bool
	// Messages are the contexts returned by the Publish hook for each
	// message in the request, in order (e.g. to link a request's span to
	// each message's span).
	Messages []context.Context
}

// PublishRequestDone is the outcome of one request.
type PublishRequestDone struct {
	Duration time.Duration
	// Failed is how many of the request's messages failed: all of them when
	// Err is set.
	Failed int
	// Err is the request's error; nil when the service answered, even if
	// some batch entries failed.
	Err error
}

// SubscriberHooks watch a Subscriber (SubscriberOptions.Hooks).
type SubscriberHooks struct {
	// Received is called for each message received, before it waits for a
	// worker.
	Received func(ReceivedMessage)
	// Handle is called for each message a worker takes, once it is decoded
	// and before it is routed: for malformed messages too (m then has only
	// the SQS metadata). ctx is the handler's context, carrying the trace
	// context extracted by SubscriberOptions.Propagator; the context Handle
	// returns is the one the handler gets. done is called once, when the
	// message has ended (its delete or visibility change is queued), and
	// may be nil.
	Handle func(ctx context.Context, m *Message) (_ context.Context, done func(HandleDone))
	// Released is called for each message made visible again without being
	// handled: received but not started when the subscriber stopped, or
	// behind a failed message of its FIFO group.
	Released func(ReleasedMessage)
	// Request is called when an SQS request returned: receives, deletes,
	// visibility changes (nacks and releases) and heartbeat extensions.
	Request func(SQSRequest)
	// Flow is called after each receive with the queue's flow state.
	Flow func(FlowState)
}

// ReceivedMessage describes a message just received.
type ReceivedMessage struct {
	QueueURL     string
	SQSMessageID string
	// ReceiveCount is SQS's ApproximateReceiveCount: 1 on first delivery.
	ReceiveCount int
	// MaxReceiveCount is the maxReceiveCount of the queue's redrive policy,
	// 0 when the queue has none or it is unknown (the client does not
	// implement GetQueueAttributes, or reading it failed). A message whose
	// ReceiveCount reaches it goes to the dead-letter queue if this delivery
	// fails too.
	MaxReceiveCount int
	// Age is the time since SQS accepted the message (SentTimestamp), 0
	// when unknown.
	Age time.Duration
}

// HandleOutcome is how a message a worker took ended.
type HandleOutcome int

const (
	// OutcomeDeleted: the handler returned nil and the message is deleted.
	OutcomeDeleted HandleOutcome = iota
	// OutcomeNacked: the handler failed; the message comes back after
	// HandleDone.Visibility.
	OutcomeNacked
	// OutcomeReleased: the message was made visible again at once,
	// unhandled.
	OutcomeReleased
	// OutcomePanicked: the handler panicked; the message is nacked.
	OutcomePanicked
	// OutcomeTimedOut: the handler's HandlerTimeout passed; the message is
	// nacked.
	OutcomeTimedOut
	// OutcomeUnknownType: no handler for the message's type; the message
	// is nacked or deleted by UnknownTypePolicy.
	OutcomeUnknownType
	// OutcomeMalformed: the message could not be decoded (or its payload
	// fetched); it is nacked or deleted by MalformedPolicy.
	OutcomeMalformed
	// OutcomeAbandoned: the handler was abandoned at an expired shutdown;
	// the message comes back after its visibility timeout.
	OutcomeAbandoned
)

var outcomeNames = [...]string{"deleted", "nacked", "released", "panicked", "timed_out", "unknown_type", "malformed", "abandoned"}

// String returns the outcome's name: "deleted", "nacked", "released",
// "panicked", "timed_out", "unknown_type", "malformed" or "abandoned".
func (o HandleOutcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("HandleOutcome(%d)", int(o))
}

// HandleDone is the end of one message a worker took.
type HandleDone struct {
	Outcome HandleOutcome
	// Deleted reports that the message was queued for deletion (a
	// successful handler, or PolicyDelete).
	Deleted bool
	// Visibility is the delay before a nacked message is visible again.
	Visibility time.Duration
	// DeadLetterBound reports a message that was not deleted on a delivery
	// at its queue's maxReceiveCount: the queue's redrive policy moves it
	// to the dead-letter queue when it is next received.
	DeadLetterBound bool
	// Duration is the time from Handle to the end.
	Duration time.Duration
	// Err is the handler's (or decoding's) error; nil when deleted after
	// success.
	Err error
}

// ReleasedMessage describes a message made visible again unhandled.
type ReleasedMessage struct {
	QueueURL     string
	SQSMessageID string
	// AtShutdown reports a release because the subscriber (or the queue's
	// poller) was stopping; false for messages behind a failed message of
	// their FIFO group.
	AtShutdown bool
}

// SQS request operations, as SQSRequest.Op and AckError.Op name them.
const (
	OpReceive          = consume.OpReceive    // ReceiveMessage
	OpDelete           = consume.OpDelete     // DeleteMessageBatch
	OpChangeVisibility = consume.OpVisibility // ChangeMessageVisibilityBatch: nacks and releases
	OpExtendVisibility = consume.OpHeartbeat  // ChangeMessageVisibilityBatch: heartbeats
)

// SQSRequest is one SQS request of a Subscriber.
type SQSRequest struct {
	// Op is OpReceive, OpDelete, OpChangeVisibility or OpExtendVisibility.
	Op       string
	QueueURL string
	// Entries is the number of messages asked for (receives) or of
	// entries sent (batch calls).
	Entries int
	// Messages is the number received (receives), or of entries that
	// succeeded (batch calls).
	Messages int
	// Failed is the number of entries that failed: all of them when Err is
	// set.
	Failed   int
	Duration time.Duration
	// Err is the call's error, nil when SQS answered.
	Err error
}

// FlowState is one queue's receive flow after a receive.
type FlowState struct {
	QueueURL string
	// InFlight is the number of messages received and not yet finished.
	InFlight int
	// Receivers is the number of receives allowed to run at once now.
	Receivers int
	// Window is the prefetch window now.
	Window int
}
