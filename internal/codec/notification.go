package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Notification is the JSON document SNS delivers to an SQS queue when raw
// message delivery is off (the fields the subscriber uses).
type Notification struct {
	MessageID         string
	TopicArn          string
	Message           []byte
	MessageAttributes map[string]Attribute
}

// Attribute is a message attribute of a Notification: Value is base64
// for Binary types.
type Attribute struct {
	Type  string
	Value string
}

// notificationWire is the notification JSON as decoded; Message is a pointer
// to tell an absent Message from an empty one.
type notificationWire struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Message           *string
	MessageAttributes map[string]Attribute

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

// ParseNotification reports whether body is an SNS notification and, if
// so, returns it: a JSON object whose Type is "Notification", with a
// MessageId, a TopicArn and a string Message, the keys spelled as SNS spells
// them. Most bodies are rejected by a byte search before any JSON decoding.
// (A producer can always send a body shaped like a notification; the
// subscriber's AllowedTopicARNs is the defense against forged ones.)
func ParseNotification(body []byte) (*Notification, bool, error) {
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
	return &Notification{MessageID: w.MessageID, TopicArn: w.TopicArn, Message: msg, MessageAttributes: w.MessageAttributes}, true, nil
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
	valid = members(body, func(k, v []byte) {
		var dst *string
		switch string(k) {
		case "Type":
			dst = &w.Type
		case "MessageId":
			dst = &w.MessageID
		case "TopicArn":
			dst = &w.TopicArn
		case "Message":
			b, ok := unquoteBytes(v)
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
		s, ok := Unquote(v)
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
func scanSNSAttributes(raw []byte) (map[string]Attribute, bool) {
	out := make(map[string]Attribute)
	ok := true
	if !members(raw, func(name, v []byte) {
		if !plainKey(name) {
			ok = false
			return
		}
		var a Attribute
		if !members(v, func(k, v []byte) {
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
			s, isString := Unquote(v)
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
