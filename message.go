package snssqs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/snssqs/snssqs/internal/codec"
)

// SpecVersion is the CloudEvents specification version of the envelope.
const SpecVersion = codec.SpecVersion

// ContentTypeJSON is the datacontenttype of envelopes whose data is JSON.
const ContentTypeJSON = codec.ContentTypeJSON

// EventTypeAttribute is the String message attribute that carries the event
// type next to the envelope, so SNS subscription filter policies can select on
// it, e.g. {"ce_type": ["card.created"]}. The name follows the CloudEvents
// Kafka binding.
const EventTypeAttribute = "ce_type"

// Attribute data types, as SNS and SQS name them. Custom types extend these
// with a suffix, e.g. "Number.float" or "String.uuid".
const (
	DataTypeString = "String"
	DataTypeNumber = "Number"
	DataTypeBinary = "Binary"
)

// Attribute is one SNS/SQS message attribute. DataType starts with String,
// Number or Binary; Binary attributes carry BinaryValue, the others
// StringValue.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// StringAttribute returns a String attribute.
func StringAttribute(v string) Attribute { return Attribute{DataType: DataTypeString, StringValue: v} }

// NumberAttribute returns a Number attribute; v is the number's decimal text.
func NumberAttribute(v string) Attribute { return Attribute{DataType: DataTypeNumber, StringValue: v} }

// BinaryAttribute returns a Binary attribute.
func BinaryAttribute(v []byte) Attribute { return Attribute{DataType: DataTypeBinary, BinaryValue: v} }

// IsBinary reports whether the attribute's data type is Binary or a custom Binary type.
func (a Attribute) IsBinary() bool { return baseType(a.DataType) == DataTypeBinary }

// size is the number of bytes the attribute counts toward the message size
// limit: name, data type and value, as SNS and SQS count them.
func (a Attribute) size(name string) int {
	return len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
}

func baseType(dataType string) string {
	if i := bytes.IndexByte([]byte(dataType), '.'); i >= 0 {
		return dataType[:i]
	}
	return dataType
}

// Envelope is a CloudEvents 1.0 event in JSON structured mode: the body of
// every message the Publisher sends. Any CloudEvents SDK can read it.
type Envelope struct {
	// SpecVersion is always "1.0".
	SpecVersion string
	// ID identifies the event (a UUID); with Source it is unique per event.
	ID string
	// Source names the producer, e.g. the service name.
	Source string
	// Type is the event type, e.g. "card.created"; handlers are chosen by it.
	Type string
	// Subject optionally names the subject of the event within the source.
	Subject string
	// Time is when the event happened, encoded as RFC 3339 in UTC.
	Time time.Time
	// DataContentType is the media type of Data, "application/json" for events
	// the Publisher wraps.
	DataContentType string
	// Data is the event payload. For JSON content it is the JSON value itself;
	// otherwise it is the raw bytes, carried as data_base64.
	Data []byte
	// Extensions holds extension context attributes (top-level keys other than
	// the ones above), e.g. "traceparent".
	Extensions map[string]any
}

// MarshalJSON encodes the envelope in CloudEvents JSON format. Data is
// written as the JSON member "data" when the content type is JSON and Data is
// valid JSON, and base64-encoded as "data_base64" otherwise (binary data, as
// the CloudEvents JSON format requires). An envelope a Subscriber would
// reject fails with ErrInvalidEvent: SpecVersion other than "1.0", or an
// empty ID, Source or Type (the CloudEvents required attributes).
func (e Envelope) MarshalJSON() ([]byte, error) {
	switch {
	case e.SpecVersion != SpecVersion:
		return nil, fmt.Errorf("%w: envelope specversion %q, want %q", ErrInvalidEvent, e.SpecVersion, SpecVersion)
	case e.ID == "" || e.Source == "" || e.Type == "":
		return nil, fmt.Errorf("%w: envelope without id, source or type (all are required)", ErrInvalidEvent)
	}
	return codec.Envelope(e).AppendJSON(make([]byte, 0, 256+len(e.Data)), false)
}

// UnmarshalJSON decodes a CloudEvents JSON event. It fails, wrapping
// ErrMalformedMessage, when specversion is not "1.0" or id, source or type is
// missing.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	out, isEnvelope, err := codec.ParseEnvelope(bytes.Clone(b)) // its values alias the copy, which e keeps
	switch {
	case err != nil:
		return err
	case !isEnvelope:
		return fmt.Errorf("%w: not a JSON object with a specversion", ErrMalformedMessage)
	}
	*e = Envelope(out)
	return nil
}

// Message is one received message as handlers see it: the CloudEvents
// envelope fields, the payload, the message attributes and the SQS metadata.
// A body that is not a CloudEvents envelope (sent by another producer, the
// console or the aws CLI) arrives with IsEnvelope false, an empty Type and the
// raw body in Data.
type Message struct {
	// ID is the CloudEvents id (empty when IsEnvelope is false).
	ID string
	// Type is the CloudEvents type; handlers are chosen by it.
	Type string
	// Source is the CloudEvents source.
	Source string
	// Subject is the optional CloudEvents subject.
	Subject string
	// Time is the CloudEvents time (zero when absent).
	Time time.Time
	// DataContentType is the media type of Data.
	DataContentType string
	// Data is the payload: the event's JSON for envelopes, the whole body otherwise.
	Data []byte
	// Extensions holds the envelope's extension attributes.
	Extensions map[string]any
	// IsEnvelope reports whether the body was a CloudEvents envelope.
	IsEnvelope bool

	// Attributes are the message attributes: those set on the SQS message, or,
	// for SNS notifications, those the publisher set on the SNS message.
	Attributes map[string]Attribute

	// QueueURL is the queue the message was received from.
	QueueURL string
	// SQSMessageID is the id SQS gave the message.
	SQSMessageID string
	// ReceiveCount is SQS's ApproximateReceiveCount: 1 on first delivery.
	ReceiveCount int
	// SentAt is when SQS accepted the message (SentTimestamp).
	SentAt time.Time
	// TopicARN is the SNS topic that delivered the message, when known (SNS
	// notifications; empty for raw delivery and direct sends).
	TopicARN string
	// SNSMessageID is the SNS message id, for SNS notifications.
	SNSMessageID string
	// MessageGroupID is the FIFO message group, if any.
	MessageGroupID string
	// DeduplicationID is the FIFO deduplication id, if any.
	DeduplicationID string
	// AWSTraceHeader is the SQS system attribute of the same name (the X-Ray
	// trace header), when SQS sent it: it is asked for when
	// SubscriberOptions.Propagator is set.
	AWSTraceHeader string

	receiptHandle string
	payload       *PayloadPointer // where an offloaded payload was fetched from
}

// Decode unmarshals the message's JSON Data into v.
func (m *Message) Decode(v any) error {
	if err := json.Unmarshal(m.Data, v); err != nil {
		return fmt.Errorf("%w: decoding data of %q message %s: %v", ErrMalformedMessage, codec.Clip(m.Type), m.SQSMessageID, err)
	}
	return nil
}
