package snssqs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// snsNotification is the JSON document SNS delivers to an SQS queue when raw
// message delivery is off (the fields the subscriber uses).
type snsNotification struct {
	MessageID         string
	TopicArn          string
	Message           []byte
	MessageAttributes map[string]snsAttribute
}

type snsAttribute struct {
	Type  string
	Value string
}

// jsonObject returns body's top-level members when body is a JSON object,
// nil otherwise. Decoding walks each JSON layer once through it.
func jsonObject(body []byte) map[string]json.RawMessage {
	keys := make(map[string]json.RawMessage, 8)
	plain := true
	if !jsonMembers(body, func(k, v []byte) {
		plain = plain && plainKey(k)
		keys[envelopeKey(k)] = v
	}) {
		return nil
	}
	if !plain { // escaped or non-ASCII keys: let encoding/json decode them
		clear(keys)
		if json.Unmarshal(body, &keys) != nil {
			return nil
		}
	}
	return keys
}

// notificationWire is the notification JSON as decoded; Message is a pointer
// to tell an absent Message from an empty one.
type notificationWire struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Message           *string
	MessageAttributes map[string]snsAttribute

	// message is Message as bytes, set by the scanner instead of Message
	// (hasMessage tells an absent one from an empty one): it may alias the
	// body, saving two copies of the largest member.
	message    []byte
	hasMessage bool
}

// messageBytes returns Message as bytes and whether there is one.
func (w *notificationWire) messageBytes() ([]byte, bool) {
	if w.hasMessage {
		return w.message, true
	}
	if w.Message != nil {
		return []byte(*w.Message), true
	}
	return nil, false
}

// notificationKeys are the members that mark a body as an SNS notification,
// spelled exactly: encoding/json alone would also match a CloudEvents "type"
// to "Type".
var notificationKeys = [][]byte{[]byte(`"Type"`), []byte(`"MessageId"`), []byte(`"TopicArn"`), []byte(`"Message"`)}

// parseSNSNotification reports whether body is an SNS notification and, if
// so, returns it: a JSON object whose Type is "Notification", with a
// MessageId, a TopicArn and a string Message, the keys spelled as SNS spells
// them. Most bodies are rejected by a byte search before any JSON decoding.
// (A producer can always send a body shaped like a notification; the
// subscriber's AllowedTopicARNs is the defense against forged ones.)
func parseSNSNotification(body []byte) (*snsNotification, bool, error) {
	if !bytes.Contains(body, []byte(`"Notification"`)) {
		return nil, false, nil
	}
	for _, k := range notificationKeys {
		if !bytes.Contains(body, k) {
			return nil, false, nil
		}
	}
	w, valid, decoded := scanNotification(body)
	if !valid {
		return nil, false, nil
	}
	if !decoded {
		w = notificationWire{}
		if json.Unmarshal(body, &w) != nil {
			return nil, false, nil
		}
	}
	msg, hasMessage := w.messageBytes()
	if w.Type != "Notification" || !hasMessage {
		return nil, false, nil
	}
	if w.TopicArn == "" || w.MessageID == "" {
		return nil, true, fmt.Errorf("%w: SNS notification without TopicArn or MessageId", ErrMalformedMessage)
	}
	return &snsNotification{MessageID: w.MessageID, TopicArn: w.TopicArn, Message: msg, MessageAttributes: w.MessageAttributes}, true, nil
}

// notificationFields are the members of notificationWire, which
// encoding/json would match case-insensitively.
var notificationFields = []string{"Type", "MessageId", "TopicArn", "Message", "MessageAttributes"}

// scanNotification decodes body as encoding/json would decode it into a
// notificationWire, with the JSON scanner. valid reports whether body is a
// JSON object; decoded is false when body holds something the scanner
// leaves to encoding/json (escaped, non-ASCII or differently cased member
// names, values of other types than expected).
func scanNotification(body []byte) (w notificationWire, valid, decoded bool) {
	decoded = true
	var attrs []byte
	valid = jsonMembers(body, func(k, v []byte) {
		var dst *string
		switch string(k) {
		case "Type":
			dst = &w.Type
		case "MessageId":
			dst = &w.MessageID
		case "TopicArn":
			dst = &w.TopicArn
		case "Message":
			b, ok := unquoteJSONBytes(v)
			if !ok {
				decoded = false
				return
			}
			w.message, w.hasMessage = b, true
			return
		case "MessageAttributes":
			attrs = v
			return
		default:
			if foreignKey(k, notificationFields...) {
				decoded = false
			}
			return
		}
		s, ok := unquoteJSON(v)
		if !ok {
			decoded = false
			return
		}
		*dst = s
	})
	if !valid || !decoded {
		return w, valid, false
	}
	if attrs != nil && string(attrs) != "null" {
		w.MessageAttributes, decoded = scanSNSAttributes(attrs)
	}
	return w, true, decoded
}

// scanSNSAttributes decodes a notification's MessageAttributes object when it
// has the shape SNS gives it: {"name":{"Type":"...","Value":"..."}, ...}.
func scanSNSAttributes(raw []byte) (map[string]snsAttribute, bool) {
	out := make(map[string]snsAttribute)
	ok := true
	if !jsonMembers(raw, func(name, v []byte) {
		if !plainKey(name) {
			ok = false
			return
		}
		var a snsAttribute
		if !jsonMembers(v, func(k, v []byte) {
			var dst *string
			switch string(k) {
			case "Type":
				dst = &a.Type
			case "Value":
				dst = &a.Value
			default:
				if foreignKey(k, "Type", "Value") {
					ok = false
				}
				return
			}
			s, isString := unquoteJSON(v)
			if !isString {
				ok = false
				return
			}
			*dst = s
		}) {
			ok = false
			return
		}
		out[string(name)] = a
	}) {
		return nil, false
	}
	return out, ok
}

// DecodeSQSMessage decodes a message received from queueURL with the SQS
// client the way the Subscriber does: an SNS notification is unwrapped and a
// CloudEvents envelope decoded; any other body is returned as-is with
// IsEnvelope false. Tools that read a dead-letter queue use it. On error the
// returned Message still carries the SQS metadata and the raw body in Data.
//
// A message whose payload was offloaded (an S3 pointer, see PayloadStore)
// fails with ErrMalformedMessage, Data holding the pointer; a Subscriber
// with a PayloadStore fetches such payloads.
func DecodeSQSMessage(queueURL string, m types.Message) (*Message, error) {
	return decodeSQSMessage(queueURL, m, nil)
}

// receivedSystemAttributes lists the SQS message system attributes the
// subscriber asks for: those decodeSQSMessage reads, and no more, since each
// one is encoded, sent and decoded again for every message received.
// AWSTraceHeader is asked for only when trace is set (a Propagator reads it).
func receivedSystemAttributes(trace bool) []types.MessageSystemAttributeName {
	names := []types.MessageSystemAttributeName{
		types.MessageSystemAttributeNameApproximateReceiveCount,
		types.MessageSystemAttributeNameSentTimestamp,
		types.MessageSystemAttributeNameMessageGroupId,
		types.MessageSystemAttributeNameMessageDeduplicationId,
	}
	if trace {
		names = append(names, types.MessageSystemAttributeNameAWSTraceHeader)
	}
	return names
}

// decodeSQSMessage turns a received SQS message into a Message. It unwraps
// SNS notifications (rejecting, with ErrTopicNotAllowed, those claiming a
// topic outside allowed when allowed is not empty) and CloudEvents envelopes;
// any other body is delivered as-is with IsEnvelope false. The returned
// Message is never nil: on error it still carries the SQS metadata so the
// caller can log, nack or delete it.
func decodeSQSMessage(queueURL string, sm types.Message, allowed map[string]struct{}) (*Message, error) {
	return decodeReceived(queueURL, sm, allowed, nil)
}

// fetchFunc returns the payload an S3 pointer locates.
type fetchFunc func(PayloadPointer) ([]byte, error)

// payloadFetchError is a payload that could not be fetched: a transient
// failure, retried like a handler error whatever MalformedPolicy says.
type payloadFetchError struct{ err error }

func (e *payloadFetchError) Error() string { return e.err.Error() }
func (e *payloadFetchError) Unwrap() error { return e.err }

// decodeReceived is decodeSQSMessage with fetch for offloaded payloads: a
// body (raw, or the Message of an SNS notification) that is an S3 pointer
// is replaced by the payload fetch returns before the envelope is decoded,
// and the pointer is kept in the Message. A nil fetch makes a pointer
// malformed.
func decodeReceived(queueURL string, sm types.Message, allowed map[string]struct{}, fetch fetchFunc) (*Message, error) {
	m := &Message{QueueURL: queueURL}
	if sm.MessageId != nil {
		m.SQSMessageID = *sm.MessageId
	}
	if sm.ReceiptHandle != nil {
		m.receiptHandle = *sm.ReceiptHandle
	}
	sys := sm.Attributes
	if v, err := strconv.Atoi(sys[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		m.ReceiveCount = v
	}
	if t, ok := sentTimestamp(sys); ok {
		m.SentAt = t
	}
	m.MessageGroupID = sys[string(types.MessageSystemAttributeNameMessageGroupId)]
	m.DeduplicationID = sys[string(types.MessageSystemAttributeNameMessageDeduplicationId)]
	m.AWSTraceHeader = sys[string(types.MessageSystemAttributeNameAWSTraceHeader)]
	if len(sm.MessageAttributes) > 0 {
		m.Attributes = make(map[string]Attribute, len(sm.MessageAttributes))
		for k, v := range sm.MessageAttributes {
			a := Attribute{BinaryValue: v.BinaryValue}
			if v.DataType != nil {
				a.DataType = *v.DataType
			}
			if v.StringValue != nil {
				a.StringValue = *v.StringValue
			}
			m.Attributes[k] = a
		}
	}
	var body []byte
	if sm.Body != nil {
		body = []byte(*sm.Body)
	}
	n, isNotification, err := parseSNSNotification(body)
	if err != nil {
		m.Data = body
		return m, err
	}
	if isNotification {
		m.TopicARN = n.TopicArn
		m.SNSMessageID = n.MessageID
		if len(allowed) > 0 {
			if _, ok := allowed[n.TopicArn]; !ok {
				m.Data = body
				return m, fmt.Errorf("%w: notification from %s", ErrTopicNotAllowed, clip(n.TopicArn))
			}
		}
		body = n.Message
		if len(n.MessageAttributes) > 0 {
			m.Attributes = make(map[string]Attribute, len(n.MessageAttributes))
			for k, v := range n.MessageAttributes {
				a := Attribute{DataType: v.Type}
				if baseType(v.Type) == DataTypeBinary {
					if a.BinaryValue, err = base64.StdEncoding.DecodeString(v.Value); err != nil {
						m.Data = body
						return m, fmt.Errorf("%w: binary attribute %q is not base64", ErrMalformedMessage, clip(k))
					}
				} else {
					a.StringValue = v.Value
				}
				m.Attributes[k] = a
			}
		}
	}
	if p, isPointer, err := ParsePayloadPointer(body); isPointer {
		if err == nil && fetch == nil {
			err = fmt.Errorf("%w: the payload was offloaded to s3://%s/%s and no PayloadStore is set", ErrMalformedMessage, clip(p.Bucket), clip(p.Key))
		}
		if err != nil {
			m.Data = body
			return m, err
		}
		payload, err := fetch(p)
		if err != nil {
			m.Data = body
			return m, &payloadFetchError{fmt.Errorf("snssqs: fetching the payload s3://%s/%s: %w", clip(p.Bucket), clip(p.Key), err)}
		}
		m.payload = &p
		body = payload
		delete(m.Attributes, ExtendedPayloadSizeAttribute)
		delete(m.Attributes, legacyPayloadSizeAttribute)
	}
	if err := decodeEnvelope(m, body, jsonObject(body)); err != nil {
		return m, err
	}
	return m, nil
}

// decodeEnvelope fills m from body, whose top-level members (nil when body
// is not a JSON object) are keys: a CloudEvents envelope when there is a
// "specversion" member, the raw body otherwise.
func decodeEnvelope(m *Message, body []byte, keys map[string]json.RawMessage) error {
	if _, ok := keys["specversion"]; !ok {
		m.Data = body
		return nil
	}
	var e Envelope
	if err := e.fromRaw(keys); err != nil {
		m.Data = body
		return err
	}
	m.IsEnvelope = true
	m.ID, m.Type, m.Source, m.Subject = e.ID, e.Type, e.Source, e.Subject
	m.Time, m.DataContentType, m.Data, m.Extensions = e.Time, e.DataContentType, e.Data, e.Extensions
	return nil
}

// sentTimestamp reads the SentTimestamp system attribute.
func sentTimestamp(sys map[string]string) (time.Time, bool) {
	v, err := strconv.ParseInt(sys[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(v).UTC(), true
}
