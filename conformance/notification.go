package conformance

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// Notification is the JSON document SNS delivers to an SQS subscription
// without raw message delivery, as the SNS developer guide's "HTTP/HTTPS
// Notification JSON format" documents it.
type Notification struct {
	Type              string
	MessageId         string //nolint:revive // the documented JSON field name
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         string
	SignatureVersion  string
	Signature         string
	SigningCertURL    string
	UnsubscribeURL    string
	SequenceNumber    string
	MessageAttributes map[string]NotificationAttribute
	// Fields lists every top-level key present in the document.
	Fields map[string]json.RawMessage `json:"-"`
}

// NotificationAttribute is one entry of Notification.MessageAttributes.
type NotificationAttribute struct {
	Type  string
	Value string
}

// ParseNotification decodes an SQS message body holding an SNS
// notification, failing the test if it is not one.
func ParseNotification(t *testing.T, body string) Notification {
	t.Helper()
	var n Notification
	require.NoError(t, json.Unmarshal([]byte(body), &n), "body is not a JSON notification: %q", body)
	require.NoError(t, json.Unmarshal([]byte(body), &n.Fields))
	return n
}
