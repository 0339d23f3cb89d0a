package snssqs

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/internal/codec"
)

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
	n, isNotification, err := codec.ParseNotification(body)
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
				return m, fmt.Errorf("%w: notification from %s", ErrTopicNotAllowed, codec.Clip(n.TopicArn))
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
						return m, fmt.Errorf("%w: binary attribute %q is not base64", ErrMalformedMessage, codec.Clip(k))
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
			err = fmt.Errorf("%w: the payload was offloaded to s3://%s/%s and no PayloadStore is set", ErrMalformedMessage, codec.Clip(p.Bucket), codec.Clip(p.Key))
		}
		if err != nil {
			m.Data = body
			return m, err
		}
		payload, err := fetch(p)
		if err != nil {
			m.Data = body
			return m, &payloadFetchError{fmt.Errorf("snssqs: fetching the payload s3://%s/%s: %w", codec.Clip(p.Bucket), codec.Clip(p.Key), err)}
		}
		m.payload = &p
		body = payload
		delete(m.Attributes, ExtendedPayloadSizeAttribute)
		delete(m.Attributes, legacyPayloadSizeAttribute)
	}
	if err := decodeEnvelope(m, body); err != nil {
		return m, err
	}
	return m, nil
}

// decodeEnvelope fills m from body: a CloudEvents envelope when body is a
// JSON object with a "specversion" member, the raw body otherwise.
func decodeEnvelope(m *Message, body []byte) error {
	e, isEnvelope, err := codec.ParseEnvelope(body)
	if !isEnvelope || err != nil {
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
