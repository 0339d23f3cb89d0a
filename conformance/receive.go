package conformance

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"
)

// ReceiveOnce does one ReceiveMessage call on url asking for every system
// and message attribute, with the given batch size and long-poll wait.
func (e *Env) ReceiveOnce(ctx context.Context, t *testing.T, url string, maxMessages, waitSeconds int32) []sqstypes.Message {
	t.Helper()
	out, err := e.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         maxMessages,
		WaitTimeSeconds:             waitSeconds,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	require.NoError(t, err, "ReceiveMessage %s", url)
	return out.Messages
}

// ReceiveUntil long-polls url, collecting every message received (and
// deleting each one when del is true), until done reports that the
// collection is complete. It fails the test when ctx ends first, so callers
// bound it with Env.Context.
func (e *Env) ReceiveUntil(ctx context.Context, t *testing.T, url string, del bool, done func([]sqstypes.Message) bool) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	for !done(got) {
		require.NoError(t, ctx.Err(), "gave up waiting on %s after %d message(s)", url, len(got))
		msgs := e.ReceiveOnce(ctx, t, url, 10, 2)
		for _, m := range msgs {
			got = append(got, m)
			if del {
				e.Delete(ctx, t, url, m)
			}
		}
	}
	return got
}

// ReceiveN collects exactly n messages from url (deleting them when del is
// true); it fails if it cannot within ctx.
func (e *Env) ReceiveN(ctx context.Context, t *testing.T, url string, n int, del bool) []sqstypes.Message {
	t.Helper()
	got := e.ReceiveUntil(ctx, t, url, del, func(ms []sqstypes.Message) bool { return len(ms) >= n })
	require.Len(t, got, n, "received more messages than expected on %s", url)
	return got
}

// ReceiveThroughMarker collects messages from url, deleting each, until one
// whose body is marker arrives, and returns every message received, marker
// included. A scenario asserting that something was NOT delivered sends the
// suspect message first and a marker after it, then checks the marker
// arrived alone.
func (e *Env) ReceiveThroughMarker(ctx context.Context, t *testing.T, url string, marker func(sqstypes.Message) bool) []sqstypes.Message {
	t.Helper()
	return e.ReceiveUntil(ctx, t, url, true, func(ms []sqstypes.Message) bool {
		for _, m := range ms {
			if marker(m) {
				return true
			}
		}
		return false
	})
}

// Delete deletes m from url.
func (e *Env) Delete(ctx context.Context, t *testing.T, url string, m sqstypes.Message) {
	t.Helper()
	_, err := e.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
	require.NoError(t, err, "DeleteMessage %s", aws.ToString(m.MessageId))
}

// Send sends body to url and returns the message id.
func (e *Env) Send(ctx context.Context, t *testing.T, url, body string) string {
	t.Helper()
	out, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	require.NoError(t, err, "SendMessage %s", url)
	require.NotEmpty(t, aws.ToString(out.MessageId))
	return aws.ToString(out.MessageId)
}

// Bodies returns the bodies of msgs in order.
func Bodies(msgs []sqstypes.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

// SystemAttribute returns the system attribute name of m ("" when absent).
func SystemAttribute(m sqstypes.Message, name sqstypes.MessageSystemAttributeName) string {
	return m.Attributes[string(name)]
}
