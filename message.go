package snssqs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// SpecVersion is the CloudEvents specification version of the envelope.
const SpecVersion = "1.0"

// ContentTypeJSON is the datacontenttype of envelopes whose data is JSON.
const ContentTypeJSON = "application/json"

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

var envelopeKeys = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "data": true, "data_base64": true, "dataschema": true,
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
	return e.appendJSON(make([]byte, 0, 256+len(e.Data)), false)
}

// appendJSON appends the envelope's JSON to dst. dataValid skips the check
// that JSON data is valid JSON, for callers that have checked it already. Keys are
// written in a fixed order, extensions sorted, without the map and reflection
// of encoding/json: publishing encodes one envelope per event.
func (e Envelope) appendJSON(dst []byte, dataValid bool) ([]byte, error) {
	jsonData := e.Data != nil && isJSONContentType(e.DataContentType) && (dataValid || json.Valid(e.Data))
	dst = append(dst, `{"specversion":`...)
	dst = appendJSONString(dst, e.SpecVersion)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, e.Type)
	if e.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = appendJSONString(dst, e.Subject)
	}
	if !e.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if e.DataContentType != "" {
		dst = append(dst, `,"datacontenttype":`...)
		dst = appendJSONString(dst, e.DataContentType)
	}
	if len(e.Extensions) > 0 {
		keys := make([]string, 0, len(e.Extensions))
		for k := range e.Extensions {
			if envelopeKeys[k] {
				return nil, fmt.Errorf("%w: extension %q shadows a CloudEvents attribute", ErrInvalidEvent, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dst = append(dst, ',')
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if s, ok := e.Extensions[k].(string); ok { // traceparent and most others: no reflection
				dst = appendJSONString(dst, s)
				continue
			}
			v, err := json.Marshal(e.Extensions[k])
			if err != nil {
				return nil, fmt.Errorf("%w: extension %q: %w", ErrInvalidEvent, k, err)
			}
			dst = append(dst, v...)
		}
	}
	if e.Data != nil {
		if jsonData {
			dst = append(dst, `,"data":`...)
			dst = append(dst, e.Data...)
		} else {
			dst = append(dst, `,"data_base64":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, e.Data)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string. Plain printable ASCII (the
// ids, types and sources of almost every event) is copied as is; anything
// else goes through encoding/json for correct escaping.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// UnmarshalJSON decodes a CloudEvents JSON event. It fails, wrapping
// ErrMalformedMessage, when specversion is not "1.0" or id, source or type is
// missing.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	raw := jsonObject(bytes.Clone(b)) // its values alias the copy, which e keeps
	if raw == nil {
		return fmt.Errorf("%w: not a JSON object", ErrMalformedMessage)
	}
	return e.fromRaw(raw)
}

// fromRaw fills e from the top-level keys of a CloudEvents JSON object.
func (e *Envelope) fromRaw(raw map[string]json.RawMessage) error {
	str := func(k string) (string, error) {
		v, ok := raw[k]
		if !ok || string(v) == "null" {
			return "", nil
		}
		s, ok := unquoteJSON(v)
		if !ok {
			return "", fmt.Errorf("%w: CloudEvents attribute %q is not a string", ErrMalformedMessage, clip(k))
		}
		return s, nil
	}
	var out Envelope
	var err error
	fields := []struct {
		key string
		dst *string
	}{
		{"specversion", &out.SpecVersion}, {"id", &out.ID}, {"source", &out.Source},
		{"type", &out.Type}, {"subject", &out.Subject}, {"datacontenttype", &out.DataContentType},
	}
	for _, f := range fields {
		if *f.dst, err = str(f.key); err != nil {
			return err
		}
	}
	if out.SpecVersion != SpecVersion {
		return fmt.Errorf("%w: unsupported CloudEvents specversion %q", ErrMalformedMessage, clip(out.SpecVersion))
	}
	for _, v := range []struct{ key, val string }{{"id", out.ID}, {"source", out.Source}, {"type", out.Type}} {
		if v.val == "" {
			return fmt.Errorf("%w: CloudEvents attribute %q is required", ErrMalformedMessage, v.key)
		}
	}
	ts, err := str("time")
	if err != nil {
		return err
	}
	if ts != "" {
		if out.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return fmt.Errorf("%w: CloudEvents time %q is not RFC 3339", ErrMalformedMessage, clip(ts))
		}
	}
	if d, ok := raw["data"]; ok && string(d) != "null" {
		if isJSONContentType(out.DataContentType) {
			out.Data = []byte(d)
		} else {
			// Non-JSON content in "data" is a JSON string holding the text.
			if s, ok := unquoteJSONBytes(d); ok {
				out.Data = s
			} else {
				out.Data = []byte(d)
			}
		}
	} else if d, ok := raw["data_base64"]; ok && string(d) != "null" {
		s, ok := unquoteJSON(d)
		if !ok {
			return fmt.Errorf("%w: data_base64 is not a string", ErrMalformedMessage)
		}
		if out.Data, err = base64.StdEncoding.DecodeString(s); err != nil {
			return fmt.Errorf("%w: data_base64: %v", ErrMalformedMessage, err)
		}
	}
	for k, v := range raw {
		if envelopeKeys[k] {
			continue
		}
		var x any
		if s, ok := unquoteJSON(v); ok { // strings, traceparent among them: no reflection
			x = s
		} else if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%w: extension %q: %v", ErrMalformedMessage, clip(k), err)
		}
		if out.Extensions == nil {
			out.Extensions = make(map[string]any)
		}
		out.Extensions[k] = x
	}
	*e = out
	return nil
}

// isJSONContentType reports whether ct is JSON: empty (CloudEvents' default
// for JSON format), application/json, or any +json / text/json type.
func isJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	if i := bytes.IndexByte([]byte(ct), ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = string(bytes.TrimSpace([]byte(ct)))
	return ct == ContentTypeJSON || ct == "text/json" || bytes.HasSuffix([]byte(ct), []byte("+json"))
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
		return fmt.Errorf("%w: decoding data of %q message %s: %v", ErrMalformedMessage, clip(m.Type), m.SQSMessageID, err)
	}
	return nil
}

// maxQuoted is the most bytes of a value taken from a received message that
// an error (and so a log line) quotes.
const maxQuoted = 64

// clip shortens s, text taken from a received message, for an error message,
// so a hostile producer cannot put kilobytes of its own text into our logs.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}
