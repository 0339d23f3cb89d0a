package snssqs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// snsNotification is the JSON document SNS delivers to an SQS queue when raw
// message delivery is off.
type snsNotification struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         string
	MessageAttributes map[string]snsAttribute
}

type snsAttribute struct {
	Type  string
	Value string
}

// parseSNSNotification reports whether body is an SNS notification and, if
// so, returns it. Keys are matched exactly (encoding/json alone would match a
// CloudEvents "type" to "Type"), so a raw JSON body is not mistaken for a
// notification unless it carries Type "Notification", a MessageId, a TopicArn
// and a string Message.
func parseSNSNotification(body []byte) (*snsNotification, bool, error) {
	if len(body) == 0 || body[0] != '{' {
		return nil, false, nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(body, &keys) != nil {
		return nil, false, nil
	}
	var typ string
	if json.Unmarshal(keys["Type"], &typ) != nil || typ != "Notification" {
		return nil, false, nil
	}
	for _, k := range []string{"MessageId", "TopicArn", "Message"} {
		if _, ok := keys[k]; !ok {
			return nil, false, nil
		}
	}
	var n snsNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, true, fmt.Errorf("%w: SNS notification: %v", ErrMalformedMessage, err)
	}
	if n.TopicArn == "" || n.MessageID == "" {
		return nil, true, fmt.Errorf("%w: SNS notification without TopicArn or MessageId", ErrMalformedMessage)
	}
	return &n, true, nil
}

// decodeSQSMessage turns a received SQS message into a Message. It unwraps
// SNS notifications (rejecting, with ErrTopicNotAllowed, those claiming a
// topic outside allowed when allowed is not empty) and CloudEvents envelopes;
// any other body is delivered as-is with IsEnvelope false. The returned
// Message is never nil: on error it still carries the SQS metadata so the
// caller can log, nack or delete it.
func decodeSQSMessage(queueURL string, sm types.Message, allowed map[string]struct{}) (*Message, error) {
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
	if v, err := strconv.ParseInt(sys[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		m.SentAt = time.UnixMilli(v).UTC()
	}
	m.MessageGroupID = sys[string(types.MessageSystemAttributeNameMessageGroupId)]
	m.DeduplicationID = sys[string(types.MessageSystemAttributeNameMessageDeduplicationId)]
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
				return m, fmt.Errorf("%w: notification from %s", ErrTopicNotAllowed, n.TopicArn)
			}
		}
		body = []byte(n.Message)
		if len(n.MessageAttributes) > 0 {
			m.Attributes = make(map[string]Attribute, len(n.MessageAttributes))
			for k, v := range n.MessageAttributes {
				a := Attribute{DataType: v.Type}
				if baseType(v.Type) == DataTypeBinary {
					if a.BinaryValue, err = base64.StdEncoding.DecodeString(v.Value); err != nil {
						m.Data = body
						return m, fmt.Errorf("%w: binary attribute %q is not base64", ErrMalformedMessage, k)
					}
				} else {
					a.StringValue = v.Value
				}
				m.Attributes[k] = a
			}
		}
	}
	if err := decodeEnvelope(m, body); err != nil {
		return m, err
	}
	return m, nil
}

// decodeEnvelope fills m from body: a CloudEvents envelope when body is a
// JSON object with a "specversion" key, the raw body otherwise.
func decodeEnvelope(m *Message, body []byte) error {
	if !looksLikeEnvelope(body) {
		m.Data = body
		return nil
	}
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		m.Data = body
		return err
	}
	m.IsEnvelope = true
	m.ID, m.Type, m.Source, m.Subject = e.ID, e.Type, e.Source, e.Subject
	m.Time, m.DataContentType, m.Data, m.Extensions = e.Time, e.DataContentType, e.Data, e.Extensions
	return nil
}

// looksLikeEnvelope reports whether body is a JSON object with a top-level
// "specversion" key, which marks it as a CloudEvents envelope.
func looksLikeEnvelope(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(body, &keys) != nil {
		return false
	}
	_, ok := keys["specversion"]
	return ok
}
