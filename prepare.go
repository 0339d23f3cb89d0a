package snssqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/snssqs/snssqs/internal/codec"
	"github.com/snssqs/snssqs/internal/publish"
)

// destination is where a message goes: an SNS topic or an SQS queue.
type destination struct {
	name  string // the topic or queue name, ".fifo" included
	fifo  bool
	queue bool
}

func topicDestination(t TopicARN) destination { return destination{name: t.Name, fifo: t.FIFO()} }

func queueDestination(q queueRef) destination {
	return destination{name: q.name, fifo: q.FIFO(), queue: true}
}

// String names the destination for errors: "topic orders", "FIFO queue jobs.fifo".
func (d destination) String() string {
	kind := "topic"
	if d.queue {
		kind = "queue"
	}
	if d.fifo {
		kind = "FIFO " + kind
	}
	return kind + " " + d.name
}

// publishConfigOf applies opts, and gives the envelope its id: the one
// WithEventID set, or a new one from o.NewID.
func publishConfigOf(o *PublisherOptions, opts []PublishOption) *publishConfig {
	c := &publishConfig{}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	if c.eventID == "" {
		c.eventID = o.NewID()
	}
	return c
}

// prepare validates an event and its options c (from publishConfigOf) and
// builds the message.
func prepare(ctx context.Context, o *PublisherOptions, dst destination, eventType string, event any, c *publishConfig) (*outMessage, error) {
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
	if o.Propagator != nil {
		o.Propagator.Inject(ctx, publishCarrier{c})
	}

	m := &outMessage{Message: publish.Message{EventType: eventType}}
	if err := fifoFields(o, dst, c, m); err != nil {
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
		Source:          o.Source,
		Type:            eventType,
		Subject:         c.subject,
		Time:            c.time,
		DataContentType: ContentTypeJSON,
		Data:            data,
		Extensions:      c.extensions,
	}
	if env.ID == "" {
		return nil, fmt.Errorf("%w: NewID returned an empty id", ErrInvalidEvent)
	}
	if env.Time.IsZero() {
		env.Time = o.Clock.Now()
	}
	env.Time = env.Time.UTC()
	body, err := codec.Envelope(env).AppendJSON(make([]byte, 0, 256+len(env.Data)), true)
	if err != nil {
		if !errors.Is(err, ErrInvalidEvent) {
			err = fmt.Errorf("%w: encoding envelope: %w", ErrInvalidEvent, err)
		}
		return nil, err
	}
	m.ID = env.ID
	m.Body = string(body)
	if dst.fifo && m.DedupID == "" {
		m.DedupID = env.ID
		if err := validateFIFOID("deduplication id (the envelope id)", m.DedupID); err != nil {
			return nil, err
		}
	}
	if err := delayFields(dst, c, m); err != nil {
		return nil, err
	}
	m.Size = messageSize(m.Body, attrs)
	if o.PayloadStore != nil && m.Size > o.PayloadThreshold {
		m.Attrs = attrs
		m.offload = true // sized again once the body is a pointer (offload)
		return m, nil
	}
	if m.Size > o.MaxMessageSize {
		return nil, fmt.Errorf("%w: %q message is %d bytes with attributes, over the limit of %d", ErrMessageTooLarge, eventType, m.Size, o.MaxMessageSize)
	}
	m.Attrs = attrs
	return m, nil
}

// fifoFields sets m's group and deduplication ids. On standard topics and
// queues a group id is optional (it marks a tenant of SQS fair queues, with no
// ordering) and a deduplication id is rejected.
func fifoFields(o *PublisherOptions, dst destination, c *publishConfig, m *outMessage) error {
	if !dst.fifo {
		if c.dedupID != "" {
			return fmt.Errorf("%w: deduplication id set for standard %s (only FIFO ones take one)", ErrInvalidEvent, dst)
		}
		if c.groupID != "" {
			if err := validateFIFOID("message group id", c.groupID); err != nil {
				return err
			}
			m.GroupID = c.groupID
		}
		return nil
	}
	m.GroupID = c.groupID
	if m.GroupID == "" {
		m.GroupID = o.DefaultGroupID
	}
	if m.GroupID == "" {
		return fmt.Errorf("%w: %s (use WithGroupID or PublisherOptions.DefaultGroupID)", ErrMissingGroupID, dst)
	}
	if err := validateFIFOID("message group id", m.GroupID); err != nil {
		return err
	}
	if c.dedupID != "" {
		if err := validateFIFOID("deduplication id", c.dedupID); err != nil {
			return err
		}
		m.DedupID = c.dedupID
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
		v := types.MessageAttributeValue{DataType: aws.String(a.DataType)}
		if a.IsBinary() {
			v.BinaryValue = a.BinaryValue
		} else {
			v.StringValue = aws.String(a.StringValue)
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
	if asIs && !codec.Valid(data) {
		return nil, fmt.Errorf("%w: event %T is not valid JSON", ErrInvalidEvent, event)
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return nil, fmt.Errorf("%w: event is null", ErrInvalidEvent)
	}
	return data, nil
}

// maxDelay is the SQS limit on a message's delay.
const maxDelay = 15 * time.Minute

// delayFields sets m's delay (WithDelay): whole seconds, rounded up, up to
// 15 minutes, for standard queues only; SNS topics and FIFO queues (which
// take a delay per queue only) reject it.
func delayFields(dst destination, c *publishConfig, m *outMessage) error {
	if !c.delaySet {
		return nil
	}
	switch {
	case !dst.queue:
		return fmt.Errorf("%w: a delay is set for %s (only standard SQS queues take one per message)", ErrInvalidEvent, dst)
	case dst.fifo:
		return fmt.Errorf("%w: a delay is set for %s (FIFO queues take a delay per queue only)", ErrInvalidEvent, dst)
	case c.delay < 0 || c.delay > maxDelay:
		return fmt.Errorf("%w: delay %v is outside [0, %v]", ErrInvalidEvent, c.delay, maxDelay)
	}
	m.DelaySeconds = int32((c.delay + time.Second - 1) / time.Second)
	return nil
}

// offload stores m's body in o.PayloadStore and replaces it with a pointer
// and the ExtendedPayloadSize attribute, for a message prepare marked.
func offload(ctx context.Context, o *PublisherOptions, m *outMessage) error {
	if !m.offload {
		return nil
	}
	if len(m.Attrs)+1 > MaxMessageAttributes {
		return fmt.Errorf("%w: %q message has %d attributes, and offloading its payload needs one more (%s)", ErrInvalidAttribute, m.EventType, len(m.Attrs), ExtendedPayloadSizeAttribute)
	}
	p, err := o.PayloadStore.Put(ctx, []byte(m.Body))
	if err != nil {
		return fmt.Errorf("snssqs: offloading the %d-byte payload of %q: %w", len(m.Body), m.EventType, err)
	}
	size := payloadSizeAttribute(len(m.Body))
	m.Attrs[ExtendedPayloadSizeAttribute] = types.MessageAttributeValue{DataType: aws.String(size.DataType), StringValue: aws.String(size.StringValue)}
	m.Body = p.Body()
	m.Size = messageSize(m.Body, m.Attrs)
	m.offload = false
	if m.Size > o.MaxMessageSize {
		return fmt.Errorf("%w: %q message is %d bytes with its payload offloaded, over the limit of %d", ErrMessageTooLarge, m.EventType, m.Size, o.MaxMessageSize)
	}
	return nil
}
