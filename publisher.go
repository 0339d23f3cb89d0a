package snssqs

import (
	"context"
	"fmt"

	"github.com/snssqs/snssqs/internal/publish"
)

// Publisher publishes events to SNS topics, each wrapped in a CloudEvents
// 1.0 envelope (see Envelope) with the event type also in the ce_type
// message attribute. Every message is validated before any request is made.
//
// Concurrent publishes to one topic are coalesced into PublishBatch requests
// (see PublisherOptions.MaxInFlightBatches and Linger); a lone publish is
// sent at once. On FIFO topics messages of one group reach SNS in the order
// their Publish calls were made (for one goroutine: program order); a
// failed or canceled message leaves a gap, so callers needing strict order
// should stop publishing to the group on error.
//
// A Publisher is safe for concurrent use. Shutdown or Close it to flush
// queued messages.
type Publisher struct{ *core }

// Entry is one event of a PublishBatch call.
type Entry struct {
	// EventType is the CloudEvents type, e.g. "card.created".
	EventType string
	// Event is the payload, marshaled as in Publish.
	Event any
	// Options are the entry's per-message options.
	Options []PublishOption
}

// Result is the outcome of one Entry of a PublishBatch call.
type Result struct {
	// MessageID is the id SNS gave the message; empty when Err is set.
	MessageID string
	// SequenceNumber is the SNS sequence number, for FIFO topics.
	SequenceNumber string
	// Err is the entry's error, nil on success.
	Err error
}

// outMessage is a validated message and whether its body still goes to
// PublisherOptions.PayloadStore (offload) before it is sent.
type outMessage struct {
	publish.Message
	offload bool
}

// NewPublisher returns a Publisher that sends through client (usually an
// *sns.Client). optFns modify the zero PublisherOptions; fields left zero
// get their documented defaults. Invalid options yield an error wrapping
// ErrInvalidOptions.
func NewPublisher(client SNSPublishAPI, optFns ...func(*PublisherOptions)) (*Publisher, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil SNS client", ErrInvalidOptions)
	}
	o, err := publisherOptions(MaxSNSMessageSize, optFns)
	if err != nil {
		return nil, err
	}
	var topics topicCache // owned by the resolve function
	resolve := func(s string) (destination, error) {
		t, err := topics.parse(s)
		return topicDestination(t), err
	}
	return &Publisher{core: newCore(publish.SNSSender(client), ServiceSNS, resolve, o)}, nil
}

// publisherOptions applies optFns to zero options, then the defaults, and
// validates them for a service whose message size limit is maxSize.
func publisherOptions(maxSize int, optFns []func(*PublisherOptions)) (PublisherOptions, error) {
	var o PublisherOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	o = o.withDefaults(maxSize)
	return o, o.validate(maxSize)
}

// Publish wraps event in a CloudEvents envelope of type eventType and
// publishes it to the topic topicARN, returning the SNS message id.
//
// event is marshaled with encoding/json; a json.RawMessage or []byte is
// used as-is and must be valid JSON. A nil event or empty eventType fails
// with ErrInvalidEvent, as does an event that cannot be marshaled (wrapping
// the json error). Validation failures (ErrInvalidARN, ErrInvalidEvent,
// ErrInvalidAttribute, ErrMessageTooLarge, ErrMissingGroupID) are returned
// before any request is made. FIFO topics need a group id (WithGroupID or
// PublisherOptions.DefaultGroupID); the deduplication id defaults to the
// envelope id. On standard topics a group id marks a tenant of SQS fair
// queues (no ordering), and a deduplication id is rejected.
//
// If ctx ends before the message is sent, it is not sent and the error
// wraps ctx.Err(). If ctx ends while the request is in flight, Publish
// returns an error wrapping ctx.Err() at once, but the message may still be
// published. After Shutdown or Close, Publish fails with ErrClosed.
func (p *Publisher) Publish(ctx context.Context, topicARN, eventType string, event any, opts ...PublishOption) (string, error) {
	return p.send(ctx, topicARN, eventType, event, opts)
}

// PublishBatch publishes entries to the topic topicARN and returns one
// Result per entry, in order. Entries are validated like Publish calls;
// invalid ones are not sent, valid ones still are. They are sent in SNS
// PublishBatch requests of at most 10 entries and 256 KiB, coalesced with
// concurrent Publish calls to the topic; on FIFO topics the order of the
// entries of one group is kept.
//
// PublishBatch fails in one shape: it always returns one Result per entry,
// and if any entry failed, a *BatchError naming each failed one;
// errors.Is(err, ErrBatchFailed) holds and each entry's error (including
// AWS errors, via errors.As) is reachable. An invalid topic ARN, a ctx
// already ended, or a shut-down Publisher fail every entry with that error
// (errors.Is(err, ErrInvalidARN) holds, say) before any request.
// Cancellation of ctx behaves as for Publish, entry by entry.
func (p *Publisher) PublishBatch(ctx context.Context, topicARN string, entries []Entry) ([]Result, error) {
	return p.sendEntries(ctx, topicARN, entries)
}

// Shutdown stops accepting messages (Publish then fails with ErrClosed),
// sends every queued message without lingering and waits for all requests
// to finish. If ctx ends first, messages still queued are dropped (their
// callers get ErrClosed), in-flight requests are canceled, and Shutdown
// returns an error wrapping ctx.Err(). It is safe to call more than once
// and concurrently; later calls wait like the first. It also ends the
// publisher's idle sender goroutines, so call it (or Close) when done.
func (p *Publisher) Shutdown(ctx context.Context) error {
	return p.b.Shutdown(ctx)
}

// Close is Shutdown bounded by PublisherOptions.DrainTimeout.
func (p *Publisher) Close() error { return p.closeWithin(p.opts.DrainTimeout) }
