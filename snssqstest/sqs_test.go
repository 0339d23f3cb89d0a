package snssqstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/clock"
)

func sqsFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
}

// sqstClient starts a server and returns it with an SDK client on it.
func sqstClient(t *testing.T, opts ...Option) (*Server, *sqs.Client) {
	t.Helper()
	srv := Run(t, opts...)
	return srv, sqs.NewFromConfig(srv.AWSConfig())
}

func sqstCreate(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	require.NoError(t, err)
	return aws.ToString(out.QueueUrl)
}

func sqstSend(t *testing.T, c *sqs.Client, url, body string) string {
	t.Helper()
	out, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	require.NoError(t, err)
	return aws.ToString(out.MessageId)
}

func sqstReceive(t *testing.T, c *sqs.Client, url string, max int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	require.NoError(t, err)
	return out.Messages
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	return ae.ErrorCode()
}

func TestSQSQueueLifecycle(t *testing.T) {
	srv, c := sqstClient(t)
	ctx := t.Context()

	url := sqstCreate(t, c, "orders", map[string]string{"VisibilityTimeout": "45"})
	assert.Equal(t, srv.URL()+"/000000000000/orders", url)

	again := sqstCreate(t, c, "orders", map[string]string{"VisibilityTimeout": "45"})
	assert.Equal(t, url, again, "CreateQueue is idempotent for matching attributes")

	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "10"}})
	var qne *types.QueueNameExists
	require.ErrorAs(t, err, &qne)
	assert.Equal(t, "QueueAlreadyExists", apiCode(t, err))

	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	require.NoError(t, err)
	assert.Equal(t, url, aws.ToString(got.QueueUrl))

	for _, n := range []string{"orders-a", "orders-b", "other"} {
		sqstCreate(t, c, n, nil)
	}
	list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("orders")})
	require.NoError(t, err)
	assert.Len(t, list.QueueUrls, 3)
	page1, err := c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)})
	require.NoError(t, err)
	require.Len(t, page1.QueueUrls, 2)
	require.NotNil(t, page1.NextToken)
	page2, err := c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(2), NextToken: page1.NextToken})
	require.NoError(t, err)
	assert.Len(t, page2.QueueUrls, 2)
	assert.Nil(t, page2.NextToken)
	assert.NotContains(t, page2.QueueUrls, page1.QueueUrls[0])

	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	require.NoError(t, err)
	assert.Equal(t, "45", attrs.Attributes["VisibilityTimeout"])
	assert.Equal(t, "arn:aws:sqs:us-east-1:000000000000:orders", attrs.Attributes["QueueArn"])
	assert.Equal(t, "1048576", attrs.Attributes["MaximumMessageSize"])
	assert.Equal(t, "345600", attrs.Attributes["MessageRetentionPeriod"])
	assert.Equal(t, "0", attrs.Attributes["ApproximateNumberOfMessages"])
	assert.NotContains(t, attrs.Attributes, "FifoQueue")

	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{
		"DelaySeconds": "5", "Policy": `{"Version":"2012-10-17","Statement":[]}`, "MaximumMessageSize": "1048576",
	}})
	require.NoError(t, err)
	named, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameDelaySeconds, types.QueueAttributeNamePolicy, types.QueueAttributeNameMaximumMessageSize}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"DelaySeconds": "5", "Policy": `{"Version":"2012-10-17","Statement":[]}`, "MaximumMessageSize": "1048576"}, named.Attributes)

	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "43201"}})
	var iav *types.InvalidAttributeValue
	require.ErrorAs(t, err, &iav)
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Bogus": "1"}})
	var ian *types.InvalidAttributeName
	require.ErrorAs(t, err, &ian)

	_, err = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	require.NoError(t, err)
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	var dne *types.QueueDoesNotExist
	require.ErrorAs(t, err, &dne)
	assert.Equal(t, "AWS.SimpleQueueService.NonExistentQueue", apiCode(t, err))
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	require.ErrorAs(t, err, &dne)
}

func TestSQSQueueNameValidation(t *testing.T) {
	_, c := sqstClient(t)
	for _, tc := range []struct {
		name  string
		attrs map[string]string
	}{
		{"has space", nil},
		{strings.Repeat("a", 81), nil},
		{"plain.fifo", nil},
		{"plain", map[string]string{"FifoQueue": "true"}},
		{"std", map[string]string{"ContentBasedDeduplication": "true"}},
	} {
		_, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(tc.name), Attributes: tc.attrs})
		require.Error(t, err, tc.name)
		assert.Contains(t, []string{"InvalidParameterValue", "InvalidAttributeName", "InvalidAttributeValue"}, apiCode(t, err), tc.name)
	}
	sqstCreate(t, c, strings.Repeat("a", 75)+".fifo", map[string]string{"FifoQueue": "true"})
}

func TestSQSTags(t *testing.T) {
	_, c := sqstClient(t)
	ctx := t.Context()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"team": "a"}})
	require.NoError(t, err)
	_, err = c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: out.QueueUrl, Tags: map[string]string{"env": "test"}})
	require.NoError(t, err)
	_, err = c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: out.QueueUrl, TagKeys: []string{"team"}})
	require.NoError(t, err)
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: out.QueueUrl})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"env": "test"}, tags.Tags)
}

func TestSQSSendReceiveWithAttributesAndChecksums(t *testing.T) {
	_, c := sqstClient(t)
	url := sqstCreate(t, c, "attrs", nil)
	attrs := map[string]types.MessageAttributeValue{
		"timestamp": {DataType: aws.String("Number"), StringValue: aws.String("1493147359900")},
		"name":      {DataType: aws.String("String"), StringValue: aws.String("Ünïcode ✓")},
		"bin":       {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xff}},
		"custom":    {DataType: aws.String("String.custom"), StringValue: aws.String("x")},
	}
	sent, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("hello world"), MessageAttributes: attrs,
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")},
		},
	})
	require.NoError(t, err)
	assert.Equal(t, "5eb63bbbe01eeed093cb22bb8f5acdc3", aws.ToString(sent.MD5OfMessageBody))
	assert.Equal(t, "5bbb4538f80a288d1f13eab4d8d92427", aws.ToString(sent.MD5OfMessageAttributes), "moto computes the same digest")
	assert.NotEmpty(t, aws.ToString(sent.MD5OfMessageSystemAttributes))

	msgs := sqstReceive(t, c, url, 10)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, aws.ToString(sent.MessageId), aws.ToString(m.MessageId))
	assert.Equal(t, "hello world", aws.ToString(m.Body))
	assert.Equal(t, "5eb63bbbe01eeed093cb22bb8f5acdc3", aws.ToString(m.MD5OfBody))
	assert.Equal(t, "5bbb4538f80a288d1f13eab4d8d92427", aws.ToString(m.MD5OfMessageAttributes))
	assert.Equal(t, []byte{0, 1, 2, 0xff}, m.MessageAttributes["bin"].BinaryValue)
	assert.Equal(t, "Ünïcode ✓", aws.ToString(m.MessageAttributes["name"].StringValue))
	assert.Equal(t, "1", m.Attributes["ApproximateReceiveCount"])
	assert.Equal(t, "000000000000", m.Attributes["SenderId"])
	assert.Equal(t, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", m.Attributes["AWSTraceHeader"])
	_, err = strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
	assert.NoError(t, err)
	assert.NotEmpty(t, m.Attributes["ApproximateFirstReceiveTimestamp"])
	assert.NotEmpty(t, aws.ToString(m.ReceiptHandle))
}

func TestSQSReceiveAttributeSelection(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	url := sqstCreate(t, c, "sel", nil)
	_, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"app.id":   {DataType: aws.String("String"), StringValue: aws.String("1")},
			"app.kind": {DataType: aws.String("String"), StringValue: aws.String("k")},
			"other":    {DataType: aws.String("String"), StringValue: aws.String("o")},
		}})
	require.NoError(t, err)
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
		MessageAttributeNames: []string{"app.*"},
		AttributeNames:        []types.QueueAttributeName{"SentTimestamp"},
	})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	m := out.Messages[0]
	assert.Len(t, m.MessageAttributes, 2)
	assert.Contains(t, m.MessageAttributes, "app.id")
	assert.Equal(t, []string{"SentTimestamp"}, keysOf(m.Attributes))
	// The digest covers only what was returned, so the SDK's check passes.
	sel := map[string]messageAttribute{"app.id": {DataType: "String", StringValue: "1"}, "app.kind": {DataType: "String", StringValue: "k"}}
	assert.Equal(t, md5OfAttributes(sel), aws.ToString(m.MD5OfMessageAttributes))

	clk.Advance(30 * time.Second)
	out, err = c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	assert.Empty(t, out.Messages[0].MessageAttributes)
	assert.Empty(t, out.Messages[0].Attributes)
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSQSVisibilityTimeoutAndReceiptHandles(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	url := sqstCreate(t, c, "vis", map[string]string{"VisibilityTimeout": "30"})
	id := sqstSend(t, c, url, "payload")

	first := sqstReceive(t, c, url, 1)
	require.Len(t, first, 1)
	assert.Empty(t, sqstReceive(t, c, url, 1), "in flight")

	clk.Advance(29 * time.Second)
	assert.Empty(t, sqstReceive(t, c, url, 1))
	clk.Advance(time.Second)
	second := sqstReceive(t, c, url, 1)
	require.Len(t, second, 1)
	assert.Equal(t, id, aws.ToString(second[0].MessageId))
	assert.Equal(t, "2", second[0].Attributes["ApproximateReceiveCount"])
	assert.Equal(t, first[0].Attributes["ApproximateFirstReceiveTimestamp"], second[0].Attributes["ApproximateFirstReceiveTimestamp"])
	assert.NotEqual(t, aws.ToString(first[0].ReceiptHandle), aws.ToString(second[0].ReceiptHandle), "new receipt handle per receive")

	// A standard queue takes an earlier handle of the message in flight (as
	// DeleteMessage does, and moto); the current one works too.
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 5})
	require.NoError(t, err)
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0})
	require.NoError(t, err)
	third := sqstReceive(t, c, url, 1)
	require.Len(t, third, 1, "visibility 0 makes the message visible at once")

	// Standard queues delete with an older receipt handle, as AWS does.
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle})
	require.NoError(t, err)
	clk.Advance(time.Hour)
	assert.Empty(t, sqstReceive(t, c, url, 1), "deleted")
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle})
	assert.NoError(t, err, "deleting twice succeeds")

	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
	var rhi *types.ReceiptHandleIsInvalid
	require.ErrorAs(t, err, &rhi)

	sqstSend(t, c, url, "visible")
	visible := sqstReceive(t, c, url, 1)
	require.Len(t, visible, 1)
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: visible[0].ReceiptHandle, VisibilityTimeout: 0})
	require.NoError(t, err)
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: visible[0].ReceiptHandle, VisibilityTimeout: 10})
	var mni *types.MessageNotInflight
	require.ErrorAs(t, err, &mni)
	assert.Equal(t, "AWS.SimpleQueueService.MessageNotInflight", apiCode(t, err))

	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: visible[0].ReceiptHandle, VisibilityTimeout: 43201})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

func TestSQSReceiveVisibilityOverrideAndValidation(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	url := sqstCreate(t, c, "override", nil)
	sqstSend(t, c, url, "m")
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 2})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	clk.Advance(2 * time.Second)
	assert.Len(t, sqstReceive(t, c, url, 1), 1)

	for _, in := range []*sqs.ReceiveMessageInput{
		{QueueUrl: aws.String(url), MaxNumberOfMessages: 11},
		{QueueUrl: aws.String(url), MaxNumberOfMessages: -1},
		{QueueUrl: aws.String(url), WaitTimeSeconds: 21},
		{QueueUrl: aws.String(url), VisibilityTimeout: 43201},
	} {
		_, err := c.ReceiveMessage(ctx, in)
		assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
	}
}

func TestSQSDelays(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	url := sqstCreate(t, c, "delay", map[string]string{"DelaySeconds": "10"})
	sqstSend(t, c, url, "queue-delay")
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("msg-delay"), DelaySeconds: 3})
	require.NoError(t, err)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), DelaySeconds: 901})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))

	v, f, d := srv.Counts("delay")
	assert.Equal(t, [3]int{0, 0, 2}, [3]int{v, f, d})
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	require.NoError(t, err)
	assert.Equal(t, "2", attrs.Attributes["ApproximateNumberOfMessagesDelayed"])
	assert.Empty(t, sqstReceive(t, c, url, 10))

	clk.Advance(3 * time.Second)
	got := sqstReceive(t, c, url, 10)
	require.Len(t, got, 1)
	assert.Equal(t, "msg-delay", aws.ToString(got[0].Body), "per-message delay overrides the queue's")
	clk.Advance(7 * time.Second)
	got = sqstReceive(t, c, url, 10)
	require.Len(t, got, 1)
	assert.Equal(t, "queue-delay", aws.ToString(got[0].Body))
}

func TestSQSRedriveToDeadLetterQueue(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	dlqURL := sqstCreate(t, c, "work-dlq", nil)
	dlqARN, ok := srv.QueueARN("work-dlq")
	require.True(t, ok)

	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:missing","maxReceiveCount":"2"}`}})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "the DLQ must exist")

	url := sqstCreate(t, c, "work", map[string]string{
		"VisibilityTimeout": "5",
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"2"}`,
	})
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"deadLetterTargetArn":"`+dlqARN+`","maxReceiveCount":2}`, attrs.Attributes["RedrivePolicy"])

	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("poison"),
		MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
	require.NoError(t, err)
	for i := 1; i <= 2; i++ {
		got := sqstReceive(t, c, url, 1)
		require.Len(t, got, 1, "receive %d", i)
		clk.Advance(5 * time.Second)
	}
	assert.Empty(t, sqstReceive(t, c, url, 1), "third receive moves the message to the DLQ")
	v, f, d := srv.Counts("work")
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{v, f, d})

	moved := sqstReceive(t, c, dlqURL, 1)
	require.Len(t, moved, 1)
	assert.Equal(t, aws.ToString(sent.MessageId), aws.ToString(moved[0].MessageId))
	assert.Equal(t, "poison", aws.ToString(moved[0].Body))
	assert.Equal(t, "v", aws.ToString(moved[0].MessageAttributes["k"].StringValue))
	assert.Equal(t, "arn:aws:sqs:us-east-1:000000000000:work", moved[0].Attributes["DeadLetterQueueSourceArn"])

	srcs, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL)})
	require.NoError(t, err)
	assert.Equal(t, []string{url}, srcs.QueueUrls)

	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"RedrivePolicy": ""}})
	require.NoError(t, err)
	attrs, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	require.NoError(t, err)
	assert.NotContains(t, attrs.Attributes, "RedrivePolicy")
}

func TestSQSMessageSizeAndContents(t *testing.T) {
	_, c := sqstClient(t)
	ctx := t.Context()
	url := sqstCreate(t, c, "size", map[string]string{"MaximumMessageSize": "1024"})
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("a", 1024))})
	require.NoError(t, err)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("a", 1020)),
		MessageAttributes: map[string]types.MessageAttributeValue{"ab": {DataType: aws.String("String"), StringValue: aws.String("c")}}})
	require.Error(t, err, "attributes count against the limit")
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.", ae.ErrorMessage())

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("bad \u0001 char")})
	var imc *types.InvalidMessageContents
	require.ErrorAs(t, err, &imc)

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"AWS.reserved": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("")})
	assert.Equal(t, "MissingParameter", apiCode(t, err))

	big := sqstCreate(t, c, "big", map[string]string{"MaximumMessageSize": "1048576"})
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(big), MessageBody: aws.String(strings.Repeat("z", 1048576))})
	require.NoError(t, err, "SQS allows 1 MiB messages")
}

func TestSQSBatches(t *testing.T) {
	srv, c := sqstClient(t)
	ctx := t.Context()
	url := sqstCreate(t, c, "batch", nil)

	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("e%d", i)), MessageBody: aws.String(fmt.Sprintf("body-%d", i))})
	}
	entries[3].MessageBody = aws.String("bad \u0000")
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	require.NoError(t, err)
	assert.Len(t, out.Successful, 9)
	require.Len(t, out.Failed, 1)
	assert.Equal(t, "e3", aws.ToString(out.Failed[0].Id))
	assert.Equal(t, "InvalidMessageContents", aws.ToString(out.Failed[0].Code))
	assert.True(t, out.Failed[0].SenderFault)
	for _, s := range out.Successful {
		assert.NotEmpty(t, aws.ToString(s.MessageId))
	}
	v, _, _ := srv.Counts("batch")
	assert.Equal(t, 9, v)

	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("e10"), MessageBody: aws.String("x")})})
	var tooMany *types.TooManyEntriesInBatchRequest
	require.ErrorAs(t, err, &tooMany)
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("x")}, {Id: aws.String("a"), MessageBody: aws.String("y")}}})
	var dup *types.BatchEntryIdsNotDistinct
	require.ErrorAs(t, err, &dup)
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{}})
	var empty *types.EmptyBatchRequest
	require.ErrorAs(t, err, &empty)
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("bad id!"), MessageBody: aws.String("x")}}})
	var badID *types.InvalidBatchEntryId
	require.ErrorAs(t, err, &badID)
	var large []types.SendMessageBatchRequestEntry
	for i := 0; i < 6; i++ { // 1.2 MB: over the 1 MiB a batch may carry
		large = append(large, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("l%d", i)), MessageBody: aws.String(strings.Repeat("x", 200000))})
	}
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: large})
	var tooLong *types.BatchRequestTooLong
	require.ErrorAs(t, err, &tooLong)

	msgs := sqstReceive(t, c, url, 10)
	require.Len(t, msgs, 9)
	var cv []types.ChangeMessageVisibilityBatchRequestEntry
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		cv = append(cv, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprintf("c%d", i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 100})
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("d%d", i)), ReceiptHandle: m.ReceiptHandle})
	}
	cv = append(cv, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String("bogus"), ReceiptHandle: aws.String("nope"), VisibilityTimeout: 1})
	cvOut, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: cv})
	require.NoError(t, err)
	assert.Len(t, cvOut.Successful, 9)
	require.Len(t, cvOut.Failed, 1)
	assert.Equal(t, "ReceiptHandleIsInvalid", aws.ToString(cvOut.Failed[0].Code))

	del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String("bogus"), ReceiptHandle: aws.String("nope")})
	delOut, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
	require.NoError(t, err)
	assert.Len(t, delOut.Successful, 9)
	require.Len(t, delOut.Failed, 1)
	assert.Equal(t, "bogus", aws.ToString(delOut.Failed[0].Id))
	v, f, d := srv.Counts("batch")
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{v, f, d})
}

func TestSQSPurge(t *testing.T) {
	srv, c := sqstClient(t)
	url := sqstCreate(t, c, "purge", nil)
	for i := 0; i < 5; i++ {
		sqstSend(t, c, url, "m")
	}
	require.Len(t, sqstReceive(t, c, url, 2), 2)
	_, err := c.PurgeQueue(t.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
	require.NoError(t, err)
	v, f, d := srv.Counts(url)
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{v, f, d})
	sqstSend(t, c, url, "after")
	assert.Len(t, sqstReceive(t, c, url, 10), 1)
}

func TestSQSFIFOOrderingGroupLockAndDedup(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	url := sqstCreate(t, c, "jobs.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})

	send := func(group, dedup, body string) *sqs.SendMessageOutput {
		t.Helper()
		out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)})
		require.NoError(t, err)
		return out
	}
	a1 := send("A", "a1", "A1")
	send("A", "a2", "A2")
	send("A", "a3", "A3")
	b1 := send("B", "b1", "B1")
	dupe := send("A", "a1", "A1 again")
	assert.Equal(t, aws.ToString(a1.MessageId), aws.ToString(dupe.MessageId), "duplicate returns the original id")
	assert.Equal(t, aws.ToString(a1.SequenceNumber), aws.ToString(dupe.SequenceNumber))
	assert.Len(t, srv.Messages(url), 4, "duplicate adds nothing")
	s1, _ := strconv.ParseUint(aws.ToString(a1.SequenceNumber), 10, 64)
	s2, _ := strconv.ParseUint(aws.ToString(b1.SequenceNumber), 10, 64)
	assert.Greater(t, s2, s1)
	assert.GreaterOrEqual(t, len(aws.ToString(a1.SequenceNumber)), 20)

	first := sqstReceive(t, c, url, 2)
	require.Len(t, first, 2)
	assert.Equal(t, []string{"A1", "A2"}, []string{aws.ToString(first[0].Body), aws.ToString(first[1].Body)}, "same group, in order")
	assert.Equal(t, "A", first[0].Attributes["MessageGroupId"])
	assert.Equal(t, "a1", first[0].Attributes["MessageDeduplicationId"])
	assert.Equal(t, aws.ToString(a1.SequenceNumber), first[0].Attributes["SequenceNumber"])

	next := sqstReceive(t, c, url, 10)
	require.Len(t, next, 1, "group A is locked while A1/A2 are in flight")
	assert.Equal(t, "B1", aws.ToString(next[0].Body))
	assert.Empty(t, sqstReceive(t, c, url, 10))

	_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle})
	require.NoError(t, err)
	assert.Empty(t, sqstReceive(t, c, url, 10), "A2 still in flight keeps the group locked")
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[1].ReceiptHandle})
	require.NoError(t, err)
	got := sqstReceive(t, c, url, 10)
	require.Len(t, got, 1)
	assert.Equal(t, "A3", aws.ToString(got[0].Body))

	// Visibility expiry unlocks the group and redelivers in order.
	clk.Advance(30 * time.Second)
	again := sqstReceive(t, c, url, 10)
	require.Len(t, again, 2)
	bodies := []string{aws.ToString(again[0].Body), aws.ToString(again[1].Body)}
	assert.ElementsMatch(t, []string{"A3", "B1"}, bodies)

	// FIFO receipt handles expire with the visibility timeout.
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: got[0].ReceiptHandle})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))

	// The dedup window lasts five minutes.
	clk.Advance(5 * time.Minute)
	fresh := send("A", "a1", "A1 later")
	assert.NotEqual(t, aws.ToString(a1.MessageId), aws.ToString(fresh.MessageId))
}

func TestSQSFIFOValidationAndContentDedup(t *testing.T) {
	srv, c := sqstClient(t)
	ctx := t.Context()
	url := sqstCreate(t, c, "v.fifo", map[string]string{"FifoQueue": "true"})
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	assert.Equal(t, "MissingParameter", apiCode(t, err))
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "no dedup id without content-based deduplication")
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"),
		MessageDeduplicationId: aws.String("d"), DelaySeconds: 5})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "per-message delay is invalid on FIFO queues")

	cb := sqstCreate(t, c, "cb.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	var ids []string
	for i := 0; i < 3; i++ {
		out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(cb), MessageBody: aws.String("same"), MessageGroupId: aws.String("g")})
		require.NoError(t, err)
		ids = append(ids, aws.ToString(out.MessageId))
	}
	assert.Equal(t, ids[0], ids[1])
	assert.Equal(t, ids[0], ids[2])
	msgs := srv.Messages("cb.fifo")
	require.Len(t, msgs, 1)
	sum := sha256Hex("same")
	assert.Equal(t, sum, msgs[0].DeduplicationID)

	std := sqstCreate(t, c, "std", nil)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(std), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

func TestSQSFIFODeduplicationScopeMessageGroup(t *testing.T) {
	srv, c := sqstClient(t)
	url := sqstCreate(t, c, "scope.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
	for _, g := range []string{"g1", "g2", "g1"} {
		_, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"),
			MessageGroupId: aws.String(g), MessageDeduplicationId: aws.String("same")})
		require.NoError(t, err)
	}
	assert.Len(t, srv.Messages(url), 2, "the same dedup id in another group is a new message")
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestSQSLongPollWakesOnSend(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	url := sqstCreate(t, c, "poll", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan []types.Message, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			done <- nil
			return
		}
		done <- out.Messages
	}()
	require.True(t, clk.BlockUntil(1, ctx.Done()), "the long poll waits on the fake clock")
	sqstSend(t, c, url, "wake up")
	select {
	case msgs := <-done:
		require.Len(t, msgs, 1)
		assert.Equal(t, "wake up", aws.ToString(msgs[0].Body))
	case <-ctx.Done():
		t.Fatal("long poll did not wake on send")
	}
}

func TestSQSLongPollWakesOnVisibilityExpiryAndTimesOut(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	url := sqstCreate(t, c, "poll2", map[string]string{"ReceiveMessageWaitTimeSeconds": "20"})
	sqstSend(t, c, url, "m")
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 10, WaitTimeSeconds: 0})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}) // queue default wait: 20 s
		if err != nil {
			done <- -1
			return
		}
		done <- len(out.Messages)
	}()
	require.True(t, clk.BlockUntil(1, ctx.Done()))
	clk.Advance(10 * time.Second)
	select {
	case n := <-done:
		assert.Equal(t, 1, n, "the message became visible during the poll")
	case <-ctx.Done():
		t.Fatal("long poll did not wake on visibility expiry")
	}

	// An empty poll ends when its wait time passes on the clock.
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5})
		if err != nil {
			done <- -1
			return
		}
		done <- len(out.Messages)
	}()
	require.True(t, clk.BlockUntil(1, ctx.Done()), "one timer: the poll's, capped by the next visibility expiry")
	clk.Advance(5 * time.Second)
	select {
	case n := <-done:
		assert.Equal(t, 0, n)
	case <-ctx.Done():
		t.Fatal("long poll did not time out")
	}
}

func TestSQSLongPollEndsOnCancelAndClose(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	url := sqstCreate(t, c, "poll3", nil)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		errc <- err
	}()
	require.True(t, clk.BlockUntil(1, t.Context().Done()))
	cancel()
	require.Error(t, <-errc)

	waitCtx, waitCancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer waitCancel()

	go func() {
		_, err := c.ReceiveMessage(waitCtx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		errc <- err
	}()
	require.True(t, clk.BlockUntil(1, waitCtx.Done()))
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-waitCtx.Done():
		t.Fatal("Close blocked on a long poll")
	}
	<-errc
}

func TestSQSConcurrentProducersConsumers(t *testing.T) {
	srv, c := sqstClient(t)
	url := sqstCreate(t, c, "busy", map[string]string{"VisibilityTimeout": "600"})
	const producers, perProducer = 4, 25
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				_, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprintf("%d-%d", p, i))})
				assert.NoError(t, err)
			}
		}()
	}
	var mu sync.Mutex
	seen := map[string]int{}
	total := producers * perProducer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := len(seen)
				mu.Unlock()
				if n >= total || ctx.Err() != nil {
					return
				}
				out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					return
				}
				for _, m := range out.Messages {
					_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
					assert.NoError(t, err)
					mu.Lock()
					seen[aws.ToString(m.Body)]++
					if len(seen) >= total {
						cancel() // release the other consumers' long polls
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	assert.Len(t, seen, total)
	for body, n := range seen {
		assert.Equal(t, 1, n, body)
	}
	v, f, d := srv.Counts("busy")
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{v, f, d})
}

func TestSQSQueueURLHostForms(t *testing.T) {
	srv, c := sqstClient(t)
	url := sqstCreate(t, c, "hosts", nil)
	port := strings.TrimPrefix(srv.URL(), "http://127.0.0.1")
	for _, u := range []string{
		url,
		"http://localhost" + port + "/000000000000/hosts",
		"https://sqs.us-east-1.amazonaws.com/000000000000/hosts",
		"http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/hosts",
	} {
		_, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")})
		require.NoError(t, err, u)
	}
	_, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/111111111111/hosts"), MessageBody: aws.String("x")})
	var dne *types.QueueDoesNotExist
	require.ErrorAs(t, err, &dne, "another account's queue does not exist")
	v, _, _ := srv.Counts("hosts")
	assert.Equal(t, 4, v)
}

// rawJSON posts a JSON-protocol request by hand.
func rawJSON(t *testing.T, srv *Server, op, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/", bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp, out
}

func TestSQSJSONProtocolErrorShapes(t *testing.T) {
	srv, _ := sqstClient(t)
	resp, out := rawJSON(t, srv, "GetQueueUrl", `{"QueueName":"nope"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "AWS.SimpleQueueService.NonExistentQueue;Sender", resp.Header.Get("x-amzn-query-error"))
	assert.Equal(t, "com.amazonaws.sqs#QueueDoesNotExist", out["__type"])
	assert.NotEmpty(t, out["message"])
	assert.Equal(t, "application/x-amz-json-1.0", resp.Header.Get("Content-Type"))

	resp, out = rawJSON(t, srv, "CreateQueue", `{"QueueName": 42}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "wrong JSON type is a client error")
	assert.Contains(t, out["__type"], "SerializationException")
	resp, _ = rawJSON(t, srv, "SendMessage", `{not json`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = rawJSON(t, srv, "ReceiveMessage", `{"QueueUrl":"x","MaxNumberOfMessages":"ten"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = rawJSON(t, srv, "SendMessageBatch", `{"QueueUrl":"x","Entries":{"a":1}}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	resp, out = rawJSON(t, srv, "FlyToTheMoon", `{}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "InvalidAction;Sender", resp.Header.Get("x-amzn-query-error"))
	assert.NotEmpty(t, out["__type"])

	resp, out = rawJSON(t, srv, "CreateQueue", `{}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "MissingParameter;Sender", resp.Header.Get("x-amzn-query-error"))
	_ = out
}

func TestSQSGenericErrorCodesThroughSDK(t *testing.T) {
	_, c := sqstClient(t)
	_, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String("http://x/000000000000/none")})
	var dne *types.QueueDoesNotExist
	require.ErrorAs(t, err, &dne)
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, smithy.FaultClient, ae.ErrorFault())
}

func TestSQSDeliverFromSNS(t *testing.T) {
	srv, c := sqstClient(t)
	url := sqstCreate(t, c, "sub", nil)
	arn, _ := srv.QueueARN("sub")
	err := srv.sqs.deliverFromSNS(arn, inboundMessage{Body: `{"Type":"Notification"}`, SenderID: "AIDAIT2UOQQY3AUEKVGXU",
		Attributes: map[string]messageAttribute{"k": {DataType: "String", StringValue: "v"}}})
	require.NoError(t, err)
	msgs := sqstReceive(t, c, url, 1)
	require.Len(t, msgs, 1)
	assert.Equal(t, `{"Type":"Notification"}`, aws.ToString(msgs[0].Body))
	assert.Equal(t, "AIDAIT2UOQQY3AUEKVGXU", msgs[0].Attributes["SenderId"])
	assert.Equal(t, "v", aws.ToString(msgs[0].MessageAttributes["k"].StringValue))
	assert.Error(t, srv.sqs.deliverFromSNS("arn:aws:sqs:us-east-1:000000000000:missing", inboundMessage{Body: "x"}))

	fifoURL := sqstCreate(t, c, "sub.fifo", map[string]string{"FifoQueue": "true"})
	fifoARN, _ := srv.QueueARN("sub.fifo")
	for i := 0; i < 2; i++ {
		require.NoError(t, srv.sqs.deliverFromSNS(fifoARN, inboundMessage{Body: "f", MessageGroupID: "g", MessageDeduplicationID: "d"}))
	}
	assert.Len(t, srv.Messages(fifoURL), 1, "SNS dedup ids deduplicate")
	assert.Error(t, srv.sqs.deliverFromSNS(fifoARN, inboundMessage{Body: "f"}), "FIFO needs a group id")
}

func TestSQSInspectAPI(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	url, err := srv.CreateQueue("inspect", map[string]string{"VisibilityTimeout": "10"})
	require.NoError(t, err)
	got, ok := srv.QueueURL("inspect")
	require.True(t, ok)
	assert.Equal(t, url, got)
	_, ok = srv.QueueURL("absent")
	assert.False(t, ok)
	_, err = srv.CreateQueue("inspect", map[string]string{"VisibilityTimeout": "11"})
	require.Error(t, err)
	assert.Contains(t, srv.Queues(), "inspect")

	sqstSend(t, c, url, "one")
	sqstSend(t, c, url, "two")
	require.Len(t, sqstReceive(t, c, url, 1), 1)
	msgs := srv.Messages("inspect")
	require.Len(t, msgs, 2)
	assert.Equal(t, "one", msgs[0].Body)
	assert.True(t, msgs[0].InFlight)
	assert.Equal(t, 1, msgs[0].ReceiveCount)
	assert.True(t, msgs[1].Visible)
	assert.Equal(t, clk.Now(), msgs[0].SentAt)
	v, f, d := srv.Counts("inspect")
	assert.Equal(t, [3]int{1, 1, 0}, [3]int{v, f, d})
	assert.Nil(t, srv.Messages("absent"))
}

// BenchmarkSQSBatchRoundTrip pushes batches of ten messages through send,
// receive and delete with the real SDK.
func BenchmarkSQSBatchRoundTrip(b *testing.B) {
	srv := Run(b)
	c := sqs.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench")})
	require.NoError(b, err)
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(strings.Repeat("x", 512))}
	}
	b.ResetTimer()
	for b.Loop() {
		_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: out.QueueUrl, Entries: entries})
		require.NoError(b, err)
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10})
		require.NoError(b, err)
		del := make([]types.DeleteMessageBatchRequestEntry, len(got.Messages))
		for i, m := range got.Messages {
			del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		if len(del) > 0 {
			_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: out.QueueUrl, Entries: del})
			require.NoError(b, err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
}

// DelaySeconds 0 on a FIFO queue is no delay of its own and is accepted, as
// the aws CLI sends it (the SDK leaves a zero out); any other value is
// InvalidParameterValue. Both SQS protocols.
func TestSQSFIFODelaySecondsZero(t *testing.T) {
	srv, c := sqstClient(t)
	q, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("d0.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	require.NoError(t, err)
	url := aws.ToString(q.QueueUrl)
	resp, out := rawJSON(t, srv, "SendMessage", `{"QueueUrl":"`+url+`","MessageBody":"x","MessageGroupId":"g","DelaySeconds":0}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%v", out)
	assert.NotEmpty(t, out["MessageId"])
	resp, out = rawJSON(t, srv, "SendMessage", `{"QueueUrl":"`+url+`","MessageBody":"y","MessageGroupId":"g","DelaySeconds":5}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "com.amazonaws.sqs#InvalidParameterValue", out["__type"])

	form := "Action=SendMessage&QueueUrl=" + neturl.QueryEscape(url) + "&MessageBody=z&MessageGroupId=g&DelaySeconds=0"
	qresp, err := http.Post(srv.URL()+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
	require.NoError(t, err)
	defer qresp.Body.Close()
	assert.Equal(t, http.StatusOK, qresp.StatusCode, "the query protocol too")
}

// A FIFO queue takes only the latest receipt handle of a message in flight,
// for visibility changes as for deletes.
func TestSQSFIFOChangeVisibilityNeedsTheLatestHandle(t *testing.T) {
	clk := sqsFakeClock()
	_, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	url := sqstCreate(t, c, "vis.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	require.NoError(t, err)
	first := sqstReceive(t, c, url, 1)
	require.Len(t, first, 1)
	clk.Advance(30 * time.Second)
	second := sqstReceive(t, c, url, 1)
	require.Len(t, second, 1)
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 5})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 5})
	require.NoError(t, err)
}

// A move task with MaxNumberOfMessagesPerSecond 2 moves two messages a
// second on the server's clock, then completes; the query protocol starts
// and lists tasks too.
func TestSQSMessageMoveTaskRate(t *testing.T) {
	clk := sqsFakeClock()
	srv, c := sqstClient(t, WithClock(clk))
	ctx := t.Context()
	sqstCreate(t, c, "mv-dlq", nil)
	dlqARN, _ := srv.QueueARN("mv-dlq")
	srcURL := sqstCreate(t, c, "mv-src", map[string]string{"VisibilityTimeout": "1",
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"1"}`})
	for i := range 5 {
		sqstSend(t, c, srcURL, fmt.Sprintf("m%d", i))
	}
	require.Len(t, sqstReceive(t, c, srcURL, 10), 5)
	clk.Advance(time.Second)
	require.Empty(t, sqstReceive(t, c, srcURL, 10), "the second receive moves them to the DLQ")
	v, _, _ := srv.Counts("mv-dlq")
	require.Equal(t, 5, v)

	form := neturl.Values{"Action": {"StartMessageMoveTask"}, "SourceArn": {dlqARN}, "MaxNumberOfMessagesPerSecond": {"2"}}
	resp, err := http.PostForm(srv.URL()+"/", form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "<TaskHandle>")

	moved := func() int64 {
		out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		require.NoError(t, err)
		require.Len(t, out.Results, 1)
		return out.Results[0].ApproximateNumberOfMessagesMoved
	}
	require.Eventually(t, func() bool { return moved() == 2 }, 5*time.Second, time.Millisecond, "two in the first second")
	require.True(t, clk.BlockUntil(1, nil))
	clk.Advance(time.Second)
	require.Eventually(t, func() bool { return moved() == 4 }, 5*time.Second, time.Millisecond)
	require.True(t, clk.BlockUntil(1, nil))
	clk.Advance(time.Second)
	require.Eventually(t, func() bool { return moved() == 5 }, 5*time.Second, time.Millisecond)
	var out *sqs.ListMessageMoveTasksOutput
	require.Eventually(t, func() bool {
		var err error
		out, err = c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		return err == nil && aws.ToString(out.Results[0].Status) == "COMPLETED"
	}, 5*time.Second, time.Millisecond)
	assert.Empty(t, aws.ToString(out.Results[0].TaskHandle), "only a running task carries its handle")
	v, _, _ = srv.Counts("mv-src")
	assert.Equal(t, 5, v, "every message is back in its source queue")

}
