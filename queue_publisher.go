package snssqs

import (
	"context"
	"fmt"

	"github.com/snssqs/snssqs/internal/publish"
)

// QueuePublisher sends events straight to SQS queues, with no SNS topic:
// work queues, the consumer pattern, a service's own inbox. Each event is
// wrapped in the CloudEvents 1.0 envelope a Publisher sends, with the event
// type in the ce_type message attribute, so a Subscriber on the queue
// handles it like a raw-delivery SNS message.
//
// Concurrent sends to one queue are coalesced into SendMessageBatch requests
// exactly as a Publisher coalesces publishes into PublishBatch (group
// commit; see PublisherOptions.MaxInFlightBatches and Linger); a lone send
// goes out at once with SendMessage. On FIFO queues messages of one group
// reach SQS in the order their Send calls were made, the group id is
// required (WithGroupID or PublisherOptions.DefaultGroupID) and the
// deduplication id defaults to the envelope id. WithDelay delays a message
// on a standard queue. Every message is validated before any request is
// made, against the SQS limit of 1 MiB (MaxSQSMessageSize) by default.
//
// A QueuePublisher is safe for concurrent use. Shutdown or Close it to flush
// queued messages.
type QueuePublisher struct{ *core }

// NewQueuePublisher returns a QueuePublisher that sends through client
// (usually an *sqs.Client). optFns modify the zero PublisherOptions; fields
// left zero get their documented defaults (MaxMessageSize defaults to
// MaxSQSMessageSize). Invalid options yield an error wrapping
// ErrInvalidOptions.
func NewQueuePublisher(client SQSSendAPI, optFns ...func(*PublisherOptions)) (*QueuePublisher, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil SQS client", ErrInvalidOptions)
	}
	o, err := publisherOptions(MaxSQSMessageSize, optFns)
	if err != nil {
		return nil, err
	}
	resolve := func(s string) (destination, error) {
		q, err := parseQueueURL(s)
		return queueDestination(q), err
	}
	return &QueuePublisher{core: newCore(publish.SQSSender(client), ServiceSQS, resolve, o)}, nil
}

// Send wraps event in a CloudEvents envelope of type eventType and sends it
// to the queue at queueURL, returning the SQS message id. It validates and
// fails like Publisher.Publish; a malformed queueURL fails with
// ErrInvalidQueueURL before any request is made.
func (p *QueuePublisher) Send(ctx context.Context, queueURL, eventType string, event any, opts ...PublishOption) (string, error) {
	return p.send(ctx, queueURL, eventType, event, opts)
}

// SendBatch sends entries to the queue at queueURL and returns one Result
// per entry, in order, like Publisher.PublishBatch: invalid entries are not
// sent, valid ones are, in SendMessageBatch requests of at most 10 entries
// and 1 MiB coalesced with concurrent Send calls, and a *BatchError names
// each failed entry. A malformed queueURL, an ended ctx or a shut-down
// QueuePublisher fail every entry with that error.
func (p *QueuePublisher) SendBatch(ctx context.Context, queueURL string, entries []Entry) ([]Result, error) {
	return p.sendEntries(ctx, queueURL, entries)
}

// Shutdown stops accepting messages, sends every queued one and waits for
// the requests in flight, as Publisher.Shutdown does. It is safe to call
// more than once and concurrently.
func (p *QueuePublisher) Shutdown(ctx context.Context) error { return p.b.Shutdown(ctx) }

// Close is Shutdown bounded by PublisherOptions.DrainTimeout.
func (p *QueuePublisher) Close() error { return p.closeWithin(p.opts.DrainTimeout) }
