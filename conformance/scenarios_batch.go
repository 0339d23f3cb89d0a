package conformance

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func batchScenarios() []Scenario {
	return []Scenario{
		{Name: "Batch/SendMessageBatch", Run: batchSendMessageBatch},
		{Name: "Batch/DeleteMessageBatchPartialFailure", Run: batchDeletePartialFailure},
		{Name: "Batch/SQSBatchRequestErrors", Run: batchSQSRequestErrors},
		{Name: "Batch/PublishBatch", Run: batchPublishBatch},
		{Name: "Batch/PublishBatchRequestErrors", Run: batchSNSRequestErrors},
	}
}

func sendEntries(n int) []sqstypes.SendMessageBatchRequestEntry {
	out := make([]sqstypes.SendMessageBatchRequestEntry, n)
	for i := range out {
		out[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("e%d", i)), MessageBody: aws.String(fmt.Sprintf("body-%d", i))}
	}
	return out
}

// SendMessageBatch returns one result per entry, keyed by the entry Id,
// with the MD5 digests of body and attributes.
func batchSendMessageBatch(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("sendb"), nil)
	entries := sendEntries(3)
	attrs := map[string]sqstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}
	entries[1].MessageAttributes = attrs
	out, err := e.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
	require.NoError(t, err)
	assert.Empty(t, out.Failed)
	require.Len(t, out.Successful, 3)
	ids := map[string]string{}
	for _, s := range out.Successful {
		id := aws.ToString(s.Id)
		ids[id] = aws.ToString(s.MessageId)
		var body string
		for _, en := range entries {
			if aws.ToString(en.Id) == id {
				body = aws.ToString(en.MessageBody)
			}
		}
		require.NotEmpty(t, body, "result for unknown entry id %q", id)
		assert.Equal(t, MD5Hex(body), aws.ToString(s.MD5OfMessageBody), "entry %s MD5OfMessageBody", id)
		if id == "e1" {
			assert.Equal(t, MessageAttributesMD5(attrs), aws.ToString(s.MD5OfMessageAttributes), "entry e1 MD5OfMessageAttributes")
		} else {
			assert.Empty(t, aws.ToString(s.MD5OfMessageAttributes), "entry %s without attributes has no MD5OfMessageAttributes", id)
		}
	}
	assert.Len(t, ids, 3, "results carry the three distinct entry ids")

	got := e.ReceiveN(ctx, t, q.URL, 3, true)
	assert.ElementsMatch(t, []string{"body-0", "body-1", "body-2"}, Bodies(got))
	for _, m := range got {
		if aws.ToString(m.Body) == "body-1" {
			assert.Equal(t, ids["e1"], aws.ToString(m.MessageId))
			assert.Equal(t, attrs, m.MessageAttributes)
		}
	}
}

// DeleteMessageBatch: "Because the batch request can result in a
// combination of successful and unsuccessful actions, you should check for
// batch errors even when the call returns an HTTP status code of 200."
func batchDeletePartialFailure(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("delb"), nil)
	_, err := e.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: sendEntries(2)})
	require.NoError(t, err)
	var got []sqstypes.Message
	for len(got) < 2 {
		require.NoError(t, ctx.Err(), "received only %d of 2", len(got))
		got = append(got, e.receiveWithVisibility(t, q.URL, 10, 2, 300)...)
	}
	out, err := e.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: got[0].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: got[1].ReceiptHandle},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle")},
	}})
	require.NoError(t, err)
	var okIDs []string
	for _, s := range out.Successful {
		okIDs = append(okIDs, aws.ToString(s.Id))
	}
	assert.ElementsMatch(t, []string{"a", "b"}, okIDs)
	require.Len(t, out.Failed, 1)
	assert.Equal(t, "bad", aws.ToString(out.Failed[0].Id))
	assert.Equal(t, "ReceiptHandleIsInvalid", aws.ToString(out.Failed[0].Code))
	assert.True(t, out.Failed[0].SenderFault)

	e.Eventually(t, "both deleted", func() bool {
		a := e.QueueAttributes(t, q.URL, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
		return a["ApproximateNumberOfMessages"] == "0" && a["ApproximateNumberOfMessagesNotVisible"] == "0"
	})
}

// The whole-request batch errors of SQS: EmptyBatchRequest ("The batch
// request doesn't contain any entries"), TooManyEntriesInBatchRequest
// ("The batch request contains more entries than permissible", 10),
// BatchEntryIdsNotDistinct ("Two or more batch entries in the request have
// the same Id") and InvalidBatchEntryId ("The Id of a batch entry in a
// batch request doesn't abide by the specification": alphanumerics,
// hyphens and underscores, at most 80).
func batchSQSRequestErrors(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("berr"), nil)
	send := func(entries []sqstypes.SendMessageBatchRequestEntry) error {
		_, err := e.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		return err
	}
	t.Run("Empty", func(t *testing.T) {
		RequireAPIError[*sqstypes.EmptyBatchRequest](t, send([]sqstypes.SendMessageBatchRequestEntry{}), "AWS.SimpleQueueService.EmptyBatchRequest")
		_, err := e.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: []sqstypes.DeleteMessageBatchRequestEntry{}})
		RequireAPIError[*sqstypes.EmptyBatchRequest](t, err, "AWS.SimpleQueueService.EmptyBatchRequest")
	})
	t.Run("TooMany", func(t *testing.T) {
		RequireAPIError[*sqstypes.TooManyEntriesInBatchRequest](t, send(sendEntries(11)), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	})
	t.Run("IdsNotDistinct", func(t *testing.T) {
		entries := sendEntries(2)
		entries[1].Id = entries[0].Id
		RequireAPIError[*sqstypes.BatchEntryIdsNotDistinct](t, send(entries), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	})
	t.Run("IdsNotDistinctChangeVisibility", func(t *testing.T) {
		e.SkipOnMoto(t, "ChangeMessageVisibilityBatch reference lists BatchEntryIdsNotDistinct ('Two or more batch entries in the request have the same Id'); moto accepts duplicate Ids there")
		_, err := e.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.URL), Entries: []sqstypes.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("x"), ReceiptHandle: aws.String("h1")},
			{Id: aws.String("x"), ReceiptHandle: aws.String("h2")},
		}})
		RequireAPIError[*sqstypes.BatchEntryIdsNotDistinct](t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	})
	t.Run("InvalidEntryId", func(t *testing.T) {
		entries := sendEntries(1)
		entries[0].Id = aws.String("not valid!")
		RequireAPIError[*sqstypes.InvalidBatchEntryId](t, send(entries), "AWS.SimpleQueueService.InvalidBatchEntryId")
	})
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "rejected batches sent nothing")
}

// PublishBatch delivers every entry and reports one result per entry Id.
func batchPublishBatch(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("pubb"), nil)
	q := e.CreateQueue(t, e.Name("pubb"), nil)
	e.SubscribeQueue(t, topic, q, map[string]string{"RawMessageDelivery": "true"})

	entries := make([]snstypes.PublishBatchRequestEntry, 3)
	for i := range entries {
		entries[i] = snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprintf("p%d", i)), Message: aws.String(fmt.Sprintf("msg-%d", i))}
	}
	entries[2].MessageAttributes = map[string]snstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}
	out, err := e.SNS.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries})
	require.NoError(t, err)
	assert.Empty(t, out.Failed)
	var ids []string
	for _, s := range out.Successful {
		ids = append(ids, aws.ToString(s.Id))
		assert.NotEmpty(t, aws.ToString(s.MessageId))
	}
	assert.ElementsMatch(t, []string{"p0", "p1", "p2"}, ids)

	got := e.ReceiveN(ctx, t, q.URL, 3, true)
	assert.ElementsMatch(t, []string{"msg-0", "msg-1", "msg-2"}, Bodies(got))
	for _, m := range got {
		if aws.ToString(m.Body) == "msg-2" {
			assert.Equal(t, "v", aws.ToString(m.MessageAttributes["k"].StringValue), "batch entry attributes reach a raw subscription")
		}
	}
}

// The PublishBatch request errors: EmptyBatchRequestException,
// TooManyEntriesInBatchRequestException ("more than 10 entries") and
// BatchEntryIdsNotDistinctException.
func batchSNSRequestErrors(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("snsberr"), nil)
	publish := func(n int, sameIDs bool) error {
		entries := make([]snstypes.PublishBatchRequestEntry, n)
		for i := range entries {
			id := fmt.Sprintf("p%d", i)
			if sameIDs {
				id = "same"
			}
			entries[i] = snstypes.PublishBatchRequestEntry{Id: aws.String(id), Message: aws.String("m")}
		}
		_, err := e.SNS.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries})
		return err
	}
	t.Run("Empty", func(t *testing.T) {
		e.SkipOnMoto(t, "PublishBatch reference lists EmptyBatchRequest ('The batch request doesn't contain any entries'); moto accepts an empty PublishBatch")
		RequireAPIError[*snstypes.EmptyBatchRequestException](t, publish(0, false), "EmptyBatchRequest")
	})
	t.Run("TooMany", func(t *testing.T) {
		RequireAPIError[*snstypes.TooManyEntriesInBatchRequestException](t, publish(11, false), "TooManyEntriesInBatchRequest")
	})
	t.Run("IdsNotDistinct", func(t *testing.T) {
		RequireAPIError[*snstypes.BatchEntryIdsNotDistinctException](t, publish(2, true), "BatchEntryIdsNotDistinct")
	})
}
