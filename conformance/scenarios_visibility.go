package conformance

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func visibilityScenarios() []Scenario {
	return []Scenario{
		{Name: "Visibility/RedeliveryAfterTimeout", Run: visibilityRedelivery},
		{Name: "Visibility/ChangeMessageVisibilityToZero", Run: visibilityChangeToZero},
		{Name: "Visibility/ChangeMessageVisibilityBatch", Run: visibilityChangeBatch},
		{Name: "Visibility/DeadLetterQueueRedrive", Run: visibilityDLQRedrive},
	}
}

// receiveWithVisibility receives up to max messages from url hiding them
// for visibility seconds.
func (e *Env) receiveWithVisibility(t *testing.T, url string, maxMessages, wait, visibility int32) []sqstypes.Message {
	t.Helper()
	out, err := e.SQS.ReceiveMessage(e.Context(t), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         maxMessages,
		WaitTimeSeconds:             wait,
		VisibilityTimeout:           visibility,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	require.NoError(t, err)
	return out.Messages
}

// Visibility timeout: a received message is hidden for the timeout, then
// delivered again with a new receipt handle and an incremented
// ApproximateReceiveCount.
func visibilityRedelivery(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("vis"), nil)
	id := e.Send(ctx, t, q.URL, "again")

	start := time.Now()
	first := e.receiveWithVisibility(t, q.URL, 10, 5, 2)
	require.Len(t, first, 1)
	assert.Equal(t, id, aws.ToString(first[0].MessageId))
	assert.Equal(t, "1", SystemAttribute(first[0], sqstypes.MessageSystemAttributeNameApproximateReceiveCount))

	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "an in-flight message is not returned")

	var second []sqstypes.Message
	for len(second) == 0 {
		require.NoError(t, ctx.Err(), "message never became visible again")
		second = e.receiveWithVisibility(t, q.URL, 10, 5, 30)
	}
	elapsed := time.Since(start)
	require.Len(t, second, 1)
	assert.Equal(t, id, aws.ToString(second[0].MessageId), "the same message is delivered again")
	assert.Equal(t, "again", aws.ToString(second[0].Body))
	assert.Equal(t, "2", SystemAttribute(second[0], sqstypes.MessageSystemAttributeNameApproximateReceiveCount), "ApproximateReceiveCount increments")
	assert.NotEqual(t, aws.ToString(first[0].ReceiptHandle), aws.ToString(second[0].ReceiptHandle), "every receive returns a new receipt handle")
	assert.GreaterOrEqual(t, elapsed, 2*time.Second, "not redelivered before the 2 s visibility timeout")
	assert.Equal(t,
		SystemAttribute(first[0], sqstypes.MessageSystemAttributeNameApproximateFirstReceiveTimestamp),
		SystemAttribute(second[0], sqstypes.MessageSystemAttributeNameApproximateFirstReceiveTimestamp),
		"ApproximateFirstReceiveTimestamp is the first receive's")

	e.Delete(ctx, t, q.URL, second[0])
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0))
}

// ChangeMessageVisibility: "you can call ChangeMessageVisibility with
// VisibilityTimeout set to 0 ... the message is immediately visible".
func visibilityChangeToZero(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("vis0"), nil)
	id := e.Send(ctx, t, q.URL, "zero")
	first := e.receiveWithVisibility(t, q.URL, 1, 5, 300)
	require.Len(t, first, 1)

	_, err := e.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.URL),
		ReceiptHandle:     first[0].ReceiptHandle,
		VisibilityTimeout: 0,
	})
	require.NoError(t, err)

	start := time.Now()
	second := e.receiveWithVisibility(t, q.URL, 1, 10, 300)
	require.Len(t, second, 1, "the message is receivable again right away")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, id, aws.ToString(second[0].MessageId))
	assert.Equal(t, "2", SystemAttribute(second[0], sqstypes.MessageSystemAttributeNameApproximateReceiveCount))
}

// ChangeMessageVisibilityBatch: per-entry results; an invalid receipt handle
// fails only its own entry ("check for batch errors even when the call
// returns an HTTP status code of 200").
func visibilityChangeBatch(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("visb"), nil)
	for i := range 2 {
		e.Send(ctx, t, q.URL, fmt.Sprintf("m%d", i))
	}
	var got []sqstypes.Message
	for len(got) < 2 {
		require.NoError(t, ctx.Err(), "received only %d of 2 messages", len(got))
		got = append(got, e.receiveWithVisibility(t, q.URL, 10, 2, 300)...)
	}
	require.Len(t, got, 2)

	entries := []sqstypes.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("ok-0"), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("ok-1"), ReceiptHandle: got[1].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle"), VisibilityTimeout: 0},
	}
	out, err := e.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
	require.NoError(t, err, "a batch with one bad entry still succeeds as a call")
	var okIDs []string
	for _, s := range out.Successful {
		okIDs = append(okIDs, aws.ToString(s.Id))
	}
	assert.ElementsMatch(t, []string{"ok-0", "ok-1"}, okIDs)
	require.Len(t, out.Failed, 1)
	assert.Equal(t, "bad", aws.ToString(out.Failed[0].Id))
	assert.Equal(t, "ReceiptHandleIsInvalid", aws.ToString(out.Failed[0].Code))
	assert.True(t, out.Failed[0].SenderFault, "an invalid receipt handle is the sender's fault")

	again := e.ReceiveN(ctx, t, q.URL, 2, true)
	assert.ElementsMatch(t, []string{"m0", "m1"}, Bodies(again), "both messages became visible again")
}

// RedrivePolicy: "maxReceiveCount – The number of times a message is
// delivered to the source queue before being moved to the dead-letter
// queue."
func visibilityDLQRedrive(t *testing.T, e *Env) {
	ctx := e.Context(t)
	dlq := e.CreateQueue(t, e.Name("dlq"), nil)
	src := e.CreateQueue(t, e.Name("src"), map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlq.ARN),
	})
	var policy struct {
		DeadLetterTargetArn string
		MaxReceiveCount     any
	}
	require.NoError(t, json.Unmarshal([]byte(e.QueueAttributes(t, src.URL, "RedrivePolicy")["RedrivePolicy"]), &policy))
	assert.Equal(t, dlq.ARN, policy.DeadLetterTargetArn, "RedrivePolicy reads back")
	assert.Equal(t, "2", fmt.Sprint(policy.MaxReceiveCount), "RedrivePolicy reads back")

	id := e.Send(ctx, t, src.URL, "poison")
	for want := 1; want <= 2; want++ {
		var got []sqstypes.Message
		for len(got) == 0 {
			require.NoError(t, ctx.Err(), "receive %d never happened", want)
			got = e.ReceiveOnce(ctx, t, src.URL, 10, 5)
		}
		require.Len(t, got, 1)
		assert.Equal(t, id, aws.ToString(got[0].MessageId))
		assert.Equal(t, fmt.Sprint(want), SystemAttribute(got[0], sqstypes.MessageSystemAttributeNameApproximateReceiveCount))
	}
	// The third delivery attempt moves the message instead of returning it.
	assert.Empty(t, e.ReceiveOnce(ctx, t, src.URL, 10, 3), "not delivered a third time from the source queue")
	moved := e.ReceiveN(ctx, t, dlq.URL, 1, true)
	assert.Equal(t, "poison", aws.ToString(moved[0].Body))

	list, err := e.SQS.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq.URL)})
	require.NoError(t, err)
	assert.Equal(t, []string{src.URL}, list.QueueUrls, "ListDeadLetterSourceQueues lists the source queue")
}
