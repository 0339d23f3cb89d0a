package snssqs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/awslimits"
)

// Publisher defaults (see PublisherOptions).
const (
	defaultSource             = "snssqs"
	defaultMaxInFlightBatches = 8
	defaultDrainTimeout       = 30 * time.Second
)

// minMaxMessageSize is the smallest MaxMessageSize accepted (SQS's smallest
// configurable maximum message size).
const minMaxMessageSize = 1024

// PublisherOptions configures a Publisher or a QueuePublisher. The zero
// value of every field selects its default, as in SubscriberOptions;
// NewPublisher and NewQueuePublisher apply the option functions to a zero
// PublisherOptions.
type PublisherOptions struct {
	// Source is the CloudEvents source of every event published.
	// Default: the base name of the program (os.Args[0]), or "snssqs".
	Source string

	// Logger receives a debug line per publish and warnings/errors for
	// failures. Message bodies are logged only at Debug level.
	// Default: a logger that discards everything.
	Logger logrus.FieldLogger

	// Clock gives the envelope time and drives the batcher's Linger.
	// Default: clock.Real().
	Clock clock.Clock

	// NewID returns the id of each new envelope (and the default FIFO
	// deduplication id). It must be safe for concurrent use.
	// Default: uuid.NewString.
	NewID func() string

	// DefaultGroupID is the message group id used for messages to FIFO
	// topics that have none of their own (WithGroupID). It is ignored for
	// standard topics. Default: empty, so FIFO messages need WithGroupID.
	DefaultGroupID string

	// Linger is how long the batcher waits for more messages to an idle
	// topic before sending a batch of fewer than 10. Zero sends a message to
	// an idle topic at once, adding no latency at light load. Default: 0.
	Linger time.Duration

	// MaxInFlightBatches is the maximum number of concurrent requests per
	// topic (or queue, for a QueuePublisher). A message to an idle topic
	// is sent at once; while a request is in flight, messages gather into
	// batches of up to 10, and only full batches go out beside it, up to
	// this many at a time (group commit). As many sender goroutines stay
	// parked between requests, to be reused, until Shutdown or Close.
	// Default: 8.
	MaxInFlightBatches int

	// DrainTimeout bounds Close: how long it waits for queued messages to be
	// sent and requests in flight to finish before it drops and cancels
	// them, as Shutdown does when its context ends. Negative: Close waits
	// for nothing. Default: 30s.
	DrainTimeout time.Duration

	// PayloadStore, when set, takes the bodies of messages over
	// PayloadThreshold (package s3offload: S3), and the message carries a
	// pointer to the body in the format of the AWS Extended Client
	// Libraries, with the ExtendedPayloadSize attribute. The payload is
	// stored before the message is queued, from the publishing goroutine; a
	// failed Put fails the publish. Default nil: messages over
	// MaxMessageSize fail with ErrMessageTooLarge.
	PayloadStore PayloadStore
	// PayloadThreshold is the message size above which the body goes to
	// PayloadStore, at most MaxMessageSize. Default: MaxMessageSize. It is
	// ignored without a PayloadStore.
	PayloadThreshold int

	// MaxMessageSize is the largest message accepted, in bytes, counted as
	// SNS and SQS count it: the envelope plus each attribute's name, data
	// type and value. It may only be lowered from the service's limit, e.g.
	// to match a queue's MaximumMessageSize; the minimum is 1024.
	// Default: MaxSNSMessageSize (262144) for a Publisher,
	// MaxSQSMessageSize (1048576) for a QueuePublisher.
	MaxMessageSize int

	// Propagator, when set, injects the trace context of each publish's
	// context into the message: the CloudEvents distributed-tracing
	// extension (traceparent, tracestate) in the envelope. Default nil:
	// none (an explicit WithExtension("traceparent", ...) still works).
	Propagator Propagator
	// Hooks watch every message and request (see PublisherHooks; package
	// otelsnssqs sets them for OpenTelemetry). Default: none.
	Hooks PublisherHooks
}

// programSource returns the base name of the running program, or
// defaultSource.
func programSource() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		if b := filepath.Base(os.Args[0]); b != "." && b != string(filepath.Separator) {
			return b
		}
	}
	return defaultSource
}

// withDefaults returns o with every zero field replaced by its default;
// maxSize is the service's message size limit.
func (o PublisherOptions) withDefaults(maxSize int) PublisherOptions {
	if o.Source == "" {
		o.Source = programSource()
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	if o.MaxInFlightBatches == 0 {
		o.MaxInFlightBatches = defaultMaxInFlightBatches
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = maxSize
	}
	if o.PayloadThreshold == 0 {
		o.PayloadThreshold = o.MaxMessageSize
	}
	o.DrainTimeout = orDefault(o.DrainTimeout, defaultDrainTimeout)
	return o
}

// validate checks options that have had their defaults applied, for a
// service whose message size limit is maxSize. Errors wrap ErrInvalidOptions.
func (o PublisherOptions) validate(maxSize int) error {
	if o.Linger < 0 {
		return fmt.Errorf("%w: Linger %v is negative", ErrInvalidOptions, o.Linger)
	}
	if o.MaxInFlightBatches < 0 {
		return fmt.Errorf("%w: MaxInFlightBatches %d is negative", ErrInvalidOptions, o.MaxInFlightBatches)
	}
	if o.MaxMessageSize < minMaxMessageSize || o.MaxMessageSize > maxSize {
		return fmt.Errorf("%w: MaxMessageSize %d is outside [%d, %d]", ErrInvalidOptions, o.MaxMessageSize, minMaxMessageSize, maxSize)
	}
	if !validMessageText(o.Source) {
		return fmt.Errorf("%w: Source %q has invalid characters", ErrInvalidOptions, o.Source)
	}
	if o.PayloadThreshold < 0 || o.PayloadThreshold > o.MaxMessageSize {
		return fmt.Errorf("%w: PayloadThreshold %d is outside [0, MaxMessageSize %d]", ErrInvalidOptions, o.PayloadThreshold, o.MaxMessageSize)
	}
	if o.DefaultGroupID != "" {
		if err := validateFIFOID("DefaultGroupID", o.DefaultGroupID); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidOptions, err)
		}
	}
	return nil
}

// MessagePolicy says what the Subscriber does with a message it cannot hand
// to a handler: one whose event type has no handler (UnknownTypePolicy) or
// one it cannot decode (MalformedPolicy).
type MessagePolicy int

const (
	// PolicyRetry nacks the message with the usual backoff, so that after
	// maxReceiveCount deliveries the queue's redrive policy moves it to the
	// dead-letter queue. Nothing is lost; this is the default.
	PolicyRetry MessagePolicy = iota
	// PolicyDelete deletes the message after logging it. Use it only when
	// such messages are known to be worthless.
	PolicyDelete
)

// String returns "retry" or "delete".
func (p MessagePolicy) String() string {
	switch p {
	case PolicyRetry:
		return "retry"
	case PolicyDelete:
		return "delete"
	default:
		return fmt.Sprintf("MessagePolicy(%d)", int(p))
	}
}

// Limits SQS imposes on the subscriber's settings, and its defaults (see
// SubscriberOptions).
const (
	maxWaitTime     = 20 * time.Second
	maxReceiveBatch = 10
	maxVisibility   = awslimits.MaxVisibility
)

// SubscriberOptions configure a Subscriber. The zero value of every field
// selects its default, so an option function sets only the fields it cares
// about. Where "none" is a setting of its own (short polling, no prefetch
// window, no backoff, no jitter, no ack batching delay, no ack retries, no
// drain wait), a negative value selects it, as each field says.
type SubscriberOptions struct {
	// Logger receives the subscriber's structured logs. Message bodies are
	// only logged at Debug level. Default: discard.
	Logger logrus.FieldLogger
	// Clock drives heartbeats, nack and receive backoff and ack batching.
	// Handler context deadlines use real time. Default: clock.Real().
	Clock clock.Clock

	// WaitTime is the long-poll duration of each ReceiveMessage, up to 20s,
	// truncated to whole seconds. Negative: short polling, with a 100ms
	// pause after each empty receive. Default 20s.
	WaitTime time.Duration
	// MaxMessages is the most messages one ReceiveMessage asks for, up to 10.
	// Fewer are asked for when fewer places are free (see Prefetch).
	// Default 10.
	MaxMessages int
	// Concurrency is how many messages of one queue are handled at once.
	// A queue is not polled while all its workers are busy.
	// Default 10.
	Concurrency int
	// Prefetch bounds how many received messages of one queue may wait for
	// a free worker. A receive is made only while a worker is
	// free, and asks for no more messages than the free workers plus the
	// free places of the prefetch window, so that the next batches are
	// already on their way while the workers finish the last ones. The
	// window adapts: it is as large as the receives in flight can fill (see
	// ReceiversPerQueue), within Prefetch. A waiting message is kept
	// invisible by the heartbeat and, when the subscriber stops, released.
	// Negative: no window, receives for free workers only. Default 100.
	Prefetch int
	// ReceiversPerQueue bounds how many receives may run at once per queue.
	// The number in flight adapts to the measured round trip
	// and handling rate (messages in flight ≈ throughput × round trip):
	// it grows while the workers starve and receives come back full, and
	// falls to one long poll on an idle queue. On AWS, where a request takes
	// 10–50 ms, several receives in flight keep fast handlers busy.
	// Default 8.
	ReceiversPerQueue int
	// VisibilityTimeout is sent with every ReceiveMessage (overriding the
	// queue's setting) and is the extension the heartbeat applies, 1s..12h,
	// truncated to whole seconds. Default 30s.
	VisibilityTimeout time.Duration
	// HeartbeatFraction, in (0, 1): once a message has been held for this
	// fraction of VisibilityTimeout, its visibility is extended by
	// VisibilityTimeout again, and so on every fraction until its handler
	// returns or HandlerTimeout passes. Default 0.5.
	HeartbeatFraction float64
	// HandlerTimeout is the deadline of each handler's context; heartbeats
	// stop at it, so a handler that ignores its context loses its message to
	// redelivery. Default 15m.
	HandlerTimeout time.Duration

	// BackoffMin is the visibility delay after a message's first failed
	// delivery, at most BackoffMax. Negative: none, the message comes back
	// at once. Default 2s, or BackoffMax if that is less.
	BackoffMin time.Duration
	// BackoffMax caps the nack delay, up to 12h. Default 10m.
	BackoffMax time.Duration
	// BackoffFactor multiplies the delay for each further delivery: the delay
	// after delivery n is min(BackoffMax, BackoffMin*BackoffFactor^(n-1)),
	// at least 1. Default 2.
	BackoffFactor float64
	// Jitter, at most 1, spreads each nack delay uniformly by ±Jitter of
	// its value. Negative: none. Default 0.2.
	Jitter float64

	// AckFlushInterval is the longest a delete or visibility change waits for
	// its batch of 10 to fill before it is sent. Negative: no wait, each is
	// sent at once. Default 50ms.
	AckFlushInterval time.Duration
	// AckRetries is how many times a failed delete or visibility change is
	// retried (only the failed entries of a batch) before it is reported.
	// Negative: none. Default 3.
	AckRetries int

	// UnknownTypePolicy handles messages whose type has no handler and whose
	// queue has no fallback handler. Default PolicyRetry.
	UnknownTypePolicy MessagePolicy
	// MalformedPolicy handles messages that cannot be decoded, including SNS
	// notifications from topics outside AllowedTopicARNs. Default PolicyRetry.
	MalformedPolicy MessagePolicy
	// PayloadStore, when set, fetches the payloads of messages that carry an
	// S3 pointer (AWS Extended Client Libraries format; package s3offload)
	// before they are decoded, and deletes each once its message is deleted.
	// A failed fetch is retried like a handler error, never dropped.
	// Default nil: a pointer message is malformed (MalformedPolicy).
	PayloadStore PayloadStore
	// AllowedTopicARNs, when not empty, is the only topics whose SNS
	// notifications are accepted; others are treated as malformed
	// (ErrTopicNotAllowed). Default empty: any topic.
	AllowedTopicARNs []string

	// Middleware wraps every handler, the first element outermost. Panic
	// recovery is always applied both inside and outside this chain.
	// Default none.
	Middleware []Middleware
	// OnError receives background errors: failed receives, deletes,
	// visibility changes and heartbeats, malformed messages and messages
	// without a handler. It is called from one goroutine at a time and never
	// blocks the subscriber: errors that arrive while it is busy are queued
	// (and dropped, with a log line, when the queue is full). Default nil.
	OnError func(error)

	// DrainTimeout bounds the graceful shutdown that Run performs when its
	// context ends and that Close performs. Negative: no wait, running
	// handlers are abandoned at once. Default 30s.
	DrainTimeout time.Duration

	// Propagator, when set, extracts each message's trace context (see
	// Carrier: the CloudEvents traceparent and tracestate extensions,
	// message attributes, and the SQS system attribute AWSTraceHeader,
	// which is then asked for) into its handler's context. Default nil.
	Propagator Propagator
	// Hooks watch every message and request (see SubscriberHooks; package
	// otelsnssqs sets them for OpenTelemetry). Default: none.
	Hooks SubscriberHooks
}

// discardLogger returns a logger that writes nothing and reports Debug as
// disabled, so that no log fields are built: the default of both components.
func discardLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.PanicLevel)
	return l
}

// orDefault is v, def when v is zero, or zero when v is negative: how
// the options with a "none" setting of their own are resolved.
func orDefault[T int | float64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// positiveOr is v, or def when v is zero (a negative v stays, for validate
// to reject).
func positiveOr[T int | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// withDefaults returns o with every zero field replaced by its default and
// every "none" (negative) setting by zero.
func (o SubscriberOptions) withDefaults() SubscriberOptions {
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	o.WaitTime = orDefault(o.WaitTime, 20*time.Second)
	o.MaxMessages = positiveOr(o.MaxMessages, maxReceiveBatch)
	o.Concurrency = positiveOr(o.Concurrency, 10)
	o.Prefetch = orDefault(o.Prefetch, 100)
	o.ReceiversPerQueue = positiveOr(o.ReceiversPerQueue, 8)
	o.VisibilityTimeout = positiveOr(o.VisibilityTimeout, 30*time.Second)
	o.HeartbeatFraction = positiveOr(o.HeartbeatFraction, 0.5)
	o.HandlerTimeout = positiveOr(o.HandlerTimeout, 15*time.Minute)
	o.BackoffMax = positiveOr(o.BackoffMax, 10*time.Minute)
	o.BackoffMin = orDefault(o.BackoffMin, min(2*time.Second, max(o.BackoffMax, 0)))
	o.BackoffFactor = positiveOr(o.BackoffFactor, 2)
	o.Jitter = orDefault(o.Jitter, 0.2)
	o.AckFlushInterval = orDefault(o.AckFlushInterval, 50*time.Millisecond)
	o.AckRetries = orDefault(o.AckRetries, 3)
	o.DrainTimeout = orDefault(o.DrainTimeout, 30*time.Second)
	return o
}

// validate reports the first invalid field of options that have had their
// defaults applied, wrapping ErrInvalidOptions.
func (o *SubscriberOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	switch {
	case o.WaitTime > maxWaitTime:
		return bad("WaitTime %v is over 20s", o.WaitTime)
	case o.MaxMessages < 1 || o.MaxMessages > maxReceiveBatch:
		return bad("MaxMessages %d not in 1..10", o.MaxMessages)
	case o.Concurrency < 1:
		return bad("Concurrency %d is negative", o.Concurrency)
	case o.ReceiversPerQueue < 1:
		return bad("ReceiversPerQueue %d is negative", o.ReceiversPerQueue)
	case o.VisibilityTimeout < time.Second || o.VisibilityTimeout > maxVisibility:
		return bad("VisibilityTimeout %v not in 1s..12h", o.VisibilityTimeout)
	case !(o.HeartbeatFraction > 0 && o.HeartbeatFraction < 1):
		return bad("HeartbeatFraction %v not in (0, 1)", o.HeartbeatFraction)
	case o.HandlerTimeout < 0:
		return bad("HandlerTimeout %v is negative", o.HandlerTimeout)
	case o.BackoffMax < 0 || o.BackoffMax > maxVisibility:
		return bad("BackoffMax %v not in 0..12h", o.BackoffMax)
	case o.BackoffMin < 0 || o.BackoffMin > o.BackoffMax:
		return bad("BackoffMin %v not in 0..BackoffMax (%v)", o.BackoffMin, o.BackoffMax)
	case !(o.BackoffFactor >= 1):
		return bad("BackoffFactor %v is less than 1", o.BackoffFactor)
	case !(o.Jitter <= 1):
		return bad("Jitter %v is over 1", o.Jitter)
	case o.UnknownTypePolicy != PolicyRetry && o.UnknownTypePolicy != PolicyDelete:
		return bad("UnknownTypePolicy %v is not PolicyRetry or PolicyDelete", o.UnknownTypePolicy)
	case o.MalformedPolicy != PolicyRetry && o.MalformedPolicy != PolicyDelete:
		return bad("MalformedPolicy %v is not PolicyRetry or PolicyDelete", o.MalformedPolicy)
	}
	for i, arn := range o.AllowedTopicARNs {
		if arn == "" {
			return bad("AllowedTopicARNs[%d] is empty", i)
		}
	}
	for i, mw := range o.Middleware {
		if mw == nil {
			return bad("Middleware[%d] is nil", i)
		}
	}
	return nil
}
