package snssqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/sirupsen/logrus"
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
type Publisher struct {
	opts   PublisherOptions
	log    logrus.FieldLogger
	b      *batcher
	topics topicCache
}

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

// outMessage is a validated message ready to send.
type outMessage struct {
	eventType string
	id        string // envelope id
	body      string
	attrs     map[string]types.MessageAttributeValue
	groupID   string // FIFO topics only
	dedupID   string // FIFO topics only
	size      int    // as SNS counts it
}

// NewPublisher returns a Publisher that sends through client (usually an
// *sns.Client). optFns modify the zero PublisherOptions; fields left zero
// get their documented defaults. Invalid options yield an error wrapping
// ErrInvalidOptions.
func NewPublisher(client SNSPublishAPI, optFns ...func(*PublisherOptions)) (*Publisher, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil SNS client", ErrInvalidOptions)
	}
	var o PublisherOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Publisher{opts: o, log: o.Logger, b: newBatcher(client, o)}, nil
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
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("snssqs: publish not attempted: %w", err)
	}
	if p.b.isClosed() {
		return "", fmt.Errorf("%w: publisher is shut down", ErrClosed)
	}
	topic, err := p.topics.parse(topicARN)
	if err != nil {
		p.logRejected(topicARN, eventType, err)
		return "", err
	}
	m, err := p.prepare(topic, eventType, event, opts)
	if err != nil {
		p.logRejected(topicARN, eventType, err)
		return "", err
	}
	qm := newQueuedMessage(ctx, m)
	if err := p.b.enqueue(topic, topicARN, []*queuedMessage{qm}); err != nil {
		return "", err
	}
	r := p.b.wait(ctx, qm)
	return r.messageID, r.err
}

// PublishBatch publishes entries to the topic topicARN and returns one
// Result per entry, in order. Entries are validated like Publish calls;
// invalid ones are not sent, valid ones still are. They are sent in SNS
// PublishBatch requests of at most 10 entries and 256 KiB, coalesced with
// concurrent Publish calls to the topic; on FIFO topics the order of the
// entries of one group is kept.
//
// If any entry fails, PublishBatch returns the results and a *BatchError
// naming each failed entry; errors.Is(err, ErrBatchFailed) holds and each
// entry's error (including AWS errors, via errors.As) is reachable. An
// invalid topic ARN, a ctx already ended, or a shut-down Publisher fail the
// whole call with nil results. Cancellation of ctx behaves as for Publish,
// entry by entry.
func (p *Publisher) PublishBatch(ctx context.Context, topicARN string, entries []Entry) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("snssqs: publish batch not attempted: %w", err)
	}
	if p.b.isClosed() {
		return nil, fmt.Errorf("%w: publisher is shut down", ErrClosed)
	}
	topic, err := p.topics.parse(topicARN)
	if err != nil {
		p.logRejected(topicARN, "", err)
		return nil, err
	}
	if len(entries) == 0 {
		return []Result{}, nil
	}
	results := make([]Result, len(entries))
	queued := make([]*queuedMessage, 0, len(entries))
	index := make([]int, 0, len(entries))
	for i, e := range entries {
		m, err := p.prepare(topic, e.EventType, e.Event, e.Options)
		if err != nil {
			p.logRejected(topicARN, e.EventType, err)
			results[i].Err = err
			continue
		}
		queued = append(queued, newQueuedMessage(ctx, m))
		index = append(index, i)
	}
	if len(queued) > 0 {
		if err := p.b.enqueue(topic, topicARN, queued); err != nil {
			for _, i := range index {
				results[i].Err = err
			}
			queued = nil
		}
	}
	for j, qm := range queued {
		r := p.b.wait(ctx, qm)
		results[index[j]] = Result{MessageID: r.messageID, SequenceNumber: r.sequenceNumber, Err: r.err}
	}
	var be *BatchError
	for i, r := range results {
		if r.Err != nil {
			if be == nil {
				be = &BatchError{Total: len(entries)}
			}
			be.Failed = append(be.Failed, newBatchEntryError(i, r.Err))
		}
	}
	if be != nil {
		return results, be
	}
	return results, nil
}

// Shutdown stops accepting messages (Publish then fails with ErrClosed),
// sends every queued message without lingering and waits for all requests
// to finish. If ctx ends first, messages still queued are dropped (their
// callers get ErrClosed), in-flight requests are canceled, and Shutdown
// returns an error wrapping ctx.Err(). It is safe to call more than once
// and concurrently; later calls wait like the first. It also ends the
// publisher's idle sender goroutines, so call it (or Close) when done.
func (p *Publisher) Shutdown(ctx context.Context) error {
	return p.b.shutdown(ctx)
}

// Close is Shutdown without a deadline.
func (p *Publisher) Close() error {
	return p.b.shutdown(context.Background())
}

// prepare validates an event and its options and builds the message.
func (p *Publisher) prepare(topic TopicARN, eventType string, event any, opts []PublishOption) (*outMessage, error) {
	if eventType == "" {
		return nil, fmt.Errorf("%w: empty event type", ErrInvalidEvent)
	}
	if !validMessageText(eventType) {
		return nil, fmt.Errorf("%w: event type %q has invalid characters", ErrInvalidEvent, eventType)
	}
	data, err := marshalEvent(event)
	if err != nil {
		return nil, fmt.Errorf("%w (type %q)", err, eventType)
	}
	var c publishConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}

	m := &outMessage{eventType: eventType}
	if err := p.fifoFields(topic, &c, m); err != nil {
		return nil, err
	}
	attrs, err := buildAttributes(eventType, c.attributes)
	if err != nil {
		return nil, err
	}
	for name, v := range c.extensions {
		if err := validateExtensionName(name); err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%w: CloudEvents extension %q has a nil value", ErrInvalidEvent, name)
		}
	}

	env := Envelope{
		SpecVersion:     SpecVersion,
		ID:              c.eventID,
		Source:          p.opts.Source,
		Type:            eventType,
		Subject:         c.subject,
		Time:            c.time,
		DataContentType: ContentTypeJSON,
		Data:            data,
		Extensions:      c.extensions,
	}
	if env.ID == "" {
		if env.ID = p.opts.NewID(); env.ID == "" {
			return nil, fmt.Errorf("%w: NewID returned an empty id", ErrInvalidEvent)
		}
	}
	if env.Time.IsZero() {
		env.Time = p.opts.Clock.Now()
	}
	env.Time = env.Time.UTC()
	body, err := env.appendJSON(make([]byte, 0, 256+len(env.Data)), true)
	if err != nil {
		if !errors.Is(err, ErrInvalidEvent) {
			err = fmt.Errorf("%w: encoding envelope: %w", ErrInvalidEvent, err)
		}
		return nil, err
	}
	m.id = env.ID
	m.body = string(body)
	if topic.FIFO() && m.dedupID == "" {
		m.dedupID = env.ID
		if err := validateFIFOID("deduplication id (the envelope id)", m.dedupID); err != nil {
			return nil, err
		}
	}
	m.size = messageSize(m.body, attrs)
	if m.size > p.opts.MaxMessageSize {
		return nil, fmt.Errorf("%w: %q message is %d bytes with attributes, over the limit of %d", ErrMessageTooLarge, eventType, m.size, p.opts.MaxMessageSize)
	}
	m.attrs = attrs
	return m, nil
}

// fifoFields sets m's group and deduplication ids. On standard topics a
// group id is optional (it marks a tenant of SQS fair queues, with no
// ordering) and a deduplication id is rejected.
func (p *Publisher) fifoFields(topic TopicARN, c *publishConfig, m *outMessage) error {
	if !topic.FIFO() {
		if c.dedupID != "" {
			return fmt.Errorf("%w: deduplication id set for standard topic %s (only FIFO topics take one)", ErrInvalidEvent, topic.Name)
		}
		if c.groupID != "" {
			if err := validateFIFOID("message group id", c.groupID); err != nil {
				return err
			}
			m.groupID = c.groupID
		}
		return nil
	}
	m.groupID = c.groupID
	if m.groupID == "" {
		m.groupID = p.opts.DefaultGroupID
	}
	if m.groupID == "" {
		return fmt.Errorf("%w: topic %s (use WithGroupID or PublisherOptions.DefaultGroupID)", ErrMissingGroupID, topic.Name)
	}
	if err := validateFIFOID("message group id", m.groupID); err != nil {
		return err
	}
	if c.dedupID != "" {
		if err := validateFIFOID("deduplication id", c.dedupID); err != nil {
			return err
		}
		m.dedupID = c.dedupID
	}
	return nil
}

// buildAttributes validates the caller's attributes and returns them, with
// ce_type set to eventType, as SNS attributes.
func buildAttributes(eventType string, user map[string]Attribute) (map[string]types.MessageAttributeValue, error) {
	if len(user)+1 > MaxMessageAttributes {
		return nil, fmt.Errorf("%w: %d attributes plus %s, over the limit of %d", ErrInvalidAttribute, len(user), EventTypeAttribute, MaxMessageAttributes)
	}
	attrs := make(map[string]types.MessageAttributeValue, len(user)+1)
	dt := DataTypeString
	typ := eventType
	attrs[EventTypeAttribute] = types.MessageAttributeValue{DataType: &dt, StringValue: &typ}
	for name, a := range user {
		if name == EventTypeAttribute {
			return nil, fmt.Errorf("%w: attribute %q is reserved for the event type", ErrInvalidAttribute, name)
		}
		if err := validateAttributeName(name); err != nil {
			return nil, err
		}
		if err := validateAttribute(name, a); err != nil {
			return nil, err
		}
		v := types.MessageAttributeValue{DataType: stringOrNil(a.DataType)}
		if a.IsBinary() {
			v.BinaryValue = a.BinaryValue
		} else {
			v.StringValue = stringOrNil(a.StringValue)
		}
		attrs[name] = v
	}
	return attrs, nil
}

// marshalEvent returns the JSON of event.
func marshalEvent(event any) ([]byte, error) {
	var data []byte
	asIs := true // bytes passed as-is must be checked
	switch v := event.(type) {
	case nil:
		return nil, fmt.Errorf("%w: nil event", ErrInvalidEvent)
	case json.RawMessage:
		data = v
	case []byte:
		data = v
	default:
		asIs = false
		// json.Marshal's output is valid JSON (it checks what MarshalJSON
		// methods return), so only the bytes passed as-is need checking.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: marshaling %T: %w", ErrInvalidEvent, event, err)
		}
		data = b
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty event JSON", ErrInvalidEvent)
	}
	if asIs && !jsonValid(data) {
		return nil, fmt.Errorf("%w: event %T is not valid JSON", ErrInvalidEvent, event)
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return nil, fmt.Errorf("%w: event is null", ErrInvalidEvent)
	}
	return data, nil
}

// logRejected logs a message that failed validation.
func (p *Publisher) logRejected(topicARN, eventType string, err error) {
	p.log.WithFields(logrus.Fields{"topic": topicARN, "type": eventType}).
		WithError(err).Warn("snssqs: publish rejected")
}

// pubDebugEnabled reports whether l logs at Debug level, so that fields
// (and message bodies) are only built when they will be written.
func pubDebugEnabled(l logrus.FieldLogger) bool {
	if le, ok := l.(interface{ IsLevelEnabled(logrus.Level) bool }); ok {
		return le.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}
