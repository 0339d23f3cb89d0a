package conformance

import (
	"errors"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sqsBasicScenarios() []Scenario {
	return []Scenario{
		{Name: "SQS/QueueLifecycle", Run: sqsQueueLifecycle},
		{Name: "SQS/CreateQueueIdempotent", Run: sqsCreateQueueIdempotent},
		{Name: "SQS/SendReceiveDeleteWithAttributes", Run: sqsSendReceiveDelete},
		{Name: "SQS/QueueAttributeCounts", Run: sqsQueueAttributeCounts},
		{Name: "SQS/QueueTimestampsEpochSeconds", Run: sqsQueueTimestamps},
		{Name: "SQS/PurgeQueue", Run: sqsPurgeQueue},
		{Name: "SQS/PurgeQueueInProgress", Run: sqsPurgeQueueInProgress},
		{Name: "SQS/DelaySeconds", Run: sqsDelaySeconds},
		{Name: "SQS/QueueDelaySeconds", Run: sqsQueueDelaySeconds},
		{Name: "SQS/LongPollReturnsEarly", Run: sqsLongPollReturnsEarly},
		{Name: "SQS/ListQueuesPagination", Run: sqsListQueuesPagination},
		{Name: "SQS/QueuePolicyRoundTrip", Run: sqsQueuePolicyRoundTrip},
		{Name: "STS/GetCallerIdentity", Run: stsGetCallerIdentity},
	}
}

// CreateQueue, GetQueueUrl, ListQueues, Get/SetQueueAttributes, DeleteQueue.
func sqsQueueLifecycle(t *testing.T, e *Env) {
	ctx := e.Context(t)
	name := e.Name("life")
	q := e.CreateQueue(t, name, nil)
	assert.True(t, strings.HasSuffix(q.URL, "/"+name), "queue URL %q ends with the queue name", q.URL)
	assert.True(t, strings.HasSuffix(q.ARN, ":"+name), "queue ARN %q ends with the queue name", q.ARN)
	assert.True(t, strings.HasPrefix(q.ARN, "arn:aws:sqs:"+e.Config.Region+":"), "queue ARN %q is in region %s", q.ARN, e.Config.Region)

	got, err := e.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	require.NoError(t, err)
	assert.Equal(t, q.URL, aws.ToString(got.QueueUrl), "GetQueueUrl returns the CreateQueue URL")

	list, err := e.SQS.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)})
	require.NoError(t, err)
	assert.Equal(t, []string{q.URL}, list.QueueUrls, "ListQueues with the unique name as prefix lists exactly this queue")

	// Defaults documented in the SetQueueAttributes reference.
	attrs := e.QueueAttributes(t, q.URL, sqstypes.QueueAttributeNameAll)
	assert.Equal(t, "30", attrs["VisibilityTimeout"], "default VisibilityTimeout")
	assert.Equal(t, "0", attrs["DelaySeconds"], "default DelaySeconds")
	assert.Equal(t, "345600", attrs["MessageRetentionPeriod"], "default MessageRetentionPeriod (4 days)")
	assert.Equal(t, "0", attrs["ReceiveMessageWaitTimeSeconds"], "default ReceiveMessageWaitTimeSeconds")
	assert.Equal(t, q.ARN, attrs["QueueArn"])
	assert.NotContains(t, attrs, "FifoQueue", "a standard queue does not report FifoQueue")

	_, err = e.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl:   aws.String(q.URL),
		Attributes: map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "3"},
	})
	require.NoError(t, err)
	attrs = e.QueueAttributes(t, q.URL, "VisibilityTimeout", "DelaySeconds")
	assert.Equal(t, map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "3"}, attrs,
		"GetQueueAttributes returns exactly the attributes asked for, with their new values")

	_, err = e.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)})
	require.NoError(t, err)
	// "When you delete a queue, the deletion process takes up to 60 seconds."
	e.Eventually(t, "deleted queue is gone from GetQueueUrl", func() bool {
		_, err := e.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		var missing *sqstypes.QueueDoesNotExist
		return errors.As(err, &missing)
	})
}

// GetQueueAttributes: "CreatedTimestamp – Returns the time when the queue
// was created in seconds (epoch time)", likewise LastModifiedTimestamp.
func sqsQueueTimestamps(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "GetQueueAttributes documents CreatedTimestamp/LastModifiedTimestamp as epoch seconds; moto returns fractional seconds such as 1795714296.531188")
	before := time.Now().Add(-5 * time.Minute).Unix()
	q := e.CreateQueue(t, e.Name("ts"), nil)
	attrs := e.QueueAttributes(t, q.URL, "CreatedTimestamp", "LastModifiedTimestamp")
	for _, k := range []string{"CreatedTimestamp", "LastModifiedTimestamp"} {
		secs, err := strconv.ParseInt(attrs[k], 10, 64)
		if assert.NoError(t, err, "%s %q is whole epoch seconds", k, attrs[k]) {
			assert.Greater(t, secs, before, "%s is now-ish", k)
			assert.Less(t, secs, time.Now().Add(5*time.Minute).Unix(), "%s is now-ish", k)
		}
	}
}

// CreateQueue: "If you provide the name of an existing queue along with the
// exact names and values of all the queue's attributes, CreateQueue returns
// the queue URL for the existing queue." QueueNameExists: "Amazon SQS
// returns this error only if the request includes attributes whose values
// differ from those of the existing queue."
func sqsCreateQueueIdempotent(t *testing.T, e *Env) {
	ctx := e.Context(t)
	name := e.Name("idem")
	attrs := map[string]string{"VisibilityTimeout": "40", "DelaySeconds": "2"}
	q := e.CreateQueue(t, name, attrs)

	again, err := e.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	require.NoError(t, err, "CreateQueue with identical attributes succeeds")
	assert.Equal(t, q.URL, aws.ToString(again.QueueUrl), "and returns the existing queue's URL")

	_, err = e.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": "41", "DelaySeconds": "2"},
	})
	RequireAPIError[*sqstypes.QueueNameExists](t, err, "QueueAlreadyExists")

	assert.Equal(t, "40", e.QueueAttributes(t, q.URL, "VisibilityTimeout")["VisibilityTimeout"],
		"the failed CreateQueue left the queue unchanged")
}

// SendMessage with every attribute data type, ReceiveMessage returning the
// system attributes and matching MD5 digests, DeleteMessage.
func sqsSendReceiveDelete(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("srd"), nil)
	body := `{"hello":"wörld ✓"}` + "\n\ttab"
	msgAttrs := map[string]sqstypes.MessageAttributeValue{
		"str":       {DataType: aws.String("String"), StringValue: aws.String("value ✓")},
		"num":       {DataType: aws.String("Number"), StringValue: aws.String("-12.5e3")},
		"bin":       {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xff}},
		"custom":    {DataType: aws.String("String.custom"), StringValue: aws.String("c")},
		"binCustom": {DataType: aws.String("Binary.gz"), BinaryValue: []byte("zz")},
	}
	sent, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.URL),
		MessageBody:       aws.String(body),
		MessageAttributes: msgAttrs,
	})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(sent.MessageId))
	assert.Equal(t, MD5Hex(body), aws.ToString(sent.MD5OfMessageBody), "SendMessage MD5OfMessageBody")
	assert.Equal(t, MessageAttributesMD5(msgAttrs), aws.ToString(sent.MD5OfMessageAttributes), "SendMessage MD5OfMessageAttributes")
	assert.Nil(t, sent.SequenceNumber, "standard queues return no SequenceNumber")

	before := time.Now()
	msgs := e.ReceiveN(ctx, t, q.URL, 1, false)
	m := msgs[0]
	assert.Equal(t, aws.ToString(sent.MessageId), aws.ToString(m.MessageId))
	assert.Equal(t, body, aws.ToString(m.Body))
	assert.Equal(t, MD5Hex(body), aws.ToString(m.MD5OfBody))
	assert.Equal(t, MessageAttributesMD5(msgAttrs), aws.ToString(m.MD5OfMessageAttributes), "ReceiveMessage MD5OfMessageAttributes")
	require.NotEmpty(t, aws.ToString(m.ReceiptHandle))
	assert.Equal(t, msgAttrs, m.MessageAttributes, "message attributes round-trip with their data types")

	assert.Equal(t, "1", SystemAttribute(m, sqstypes.MessageSystemAttributeNameApproximateReceiveCount))
	assert.NotEmpty(t, SystemAttribute(m, sqstypes.MessageSystemAttributeNameSenderId))
	sentTS := SystemAttribute(m, sqstypes.MessageSystemAttributeNameSentTimestamp)
	assert.Regexp(t, `^\d{13}$`, sentTS, "SentTimestamp is epoch milliseconds")
	assert.Regexp(t, `^\d{13}$`, SystemAttribute(m, sqstypes.MessageSystemAttributeNameApproximateFirstReceiveTimestamp),
		"ApproximateFirstReceiveTimestamp is epoch milliseconds")
	if ts, ok := parseEpochMillis(sentTS); ok {
		assert.WithinDuration(t, before, ts, 5*time.Minute, "SentTimestamp is now-ish")
	}

	e.Delete(ctx, t, q.URL, m)
	e.Eventually(t, "deleted message no longer counted", func() bool {
		a := e.QueueAttributes(t, q.URL, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
		return a["ApproximateNumberOfMessages"] == "0" && a["ApproximateNumberOfMessagesNotVisible"] == "0"
	})
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "a deleted message is not received again")
}

// ApproximateNumberOfMessages / NotVisible / Delayed.
func sqsQueueAttributeCounts(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("counts"), nil)
	for _, b := range []string{"a", "b", "c"} {
		e.Send(ctx, t, q.URL, b)
	}
	_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("later"), DelaySeconds: 900})
	require.NoError(t, err)
	out, err := e.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 1, WaitTimeSeconds: 5, VisibilityTimeout: 120})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1, "MaxNumberOfMessages=1 returns at most one message")
	assert.NotEqual(t, "later", aws.ToString(out.Messages[0].Body), "a delayed message is not received")

	want := map[string]string{
		"ApproximateNumberOfMessages":           "2",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"ApproximateNumberOfMessagesDelayed":    "1",
	}
	var got map[string]string
	e.Eventually(t, "queue counters", func() bool {
		got = e.QueueAttributes(t, q.URL, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
		return assert.ObjectsAreEqual(want, got)
	})
	assert.Equal(t, want, got)
}

// PurgeQueue deletes every message; "Only one PurgeQueue operation on a queue
// is allowed every 60 seconds" (PurgeQueueInProgress).
func sqsPurgeQueue(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("purge"), nil)
	for _, b := range []string{"a", "b", "c"} {
		e.Send(ctx, t, q.URL, b)
	}
	// One in flight too: purge deletes messages whatever their state.
	require.Len(t, e.receiveWithVisibility(t, q.URL, 1, 5, 300), 1)

	_, err := e.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)})
	require.NoError(t, err)
	e.Eventually(t, "purged queue counts no messages", func() bool {
		a := e.QueueAttributes(t, q.URL, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
		return a["ApproximateNumberOfMessages"] == "0" && a["ApproximateNumberOfMessagesNotVisible"] == "0"
	})
	marker := e.Send(ctx, t, q.URL, "after-purge")
	got := e.ReceiveThroughMarker(ctx, t, q.URL, func(m sqstypes.Message) bool { return aws.ToString(m.MessageId) == marker })
	assert.Equal(t, []string{"after-purge"}, Bodies(got), "only the message sent after the purge remains")
}

// PurgeQueue: "Only one PurgeQueue operation on a queue is allowed every 60
// seconds" (PurgeQueueInProgress).
func sqsPurgeQueueInProgress(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "PurgeQueue reference: 'Only one PurgeQueue operation on a queue is allowed every 60 seconds' (PurgeQueueInProgress); moto accepts a second purge immediately")
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("purge2"), nil)
	_, err := e.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)})
	require.NoError(t, err)
	_, err = e.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)})
	RequireAPIError[*sqstypes.PurgeQueueInProgress](t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")
}

// SendMessage DelaySeconds: "Messages with a positive DelaySeconds value
// become available for processing after the delay period is finished."
func sqsDelaySeconds(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("delay"), nil)
	start := time.Now()
	_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("delayed"), DelaySeconds: 2})
	require.NoError(t, err)
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "a delayed message is not receivable before its delay")

	got := e.ReceiveN(ctx, t, q.URL, 1, true)
	elapsed := time.Since(start)
	assert.Equal(t, "delayed", aws.ToString(got[0].Body))
	assert.GreaterOrEqual(t, elapsed, 2*time.Second, "received only after DelaySeconds")
	assert.Less(t, elapsed, 15*time.Second, "received soon after DelaySeconds")
}

// ReceiveMessage WaitTimeSeconds: "The duration (in seconds) for which the
// call waits for a message to arrive in the queue before returning. If a
// message is available, the call returns sooner than WaitTimeSeconds."
func sqsLongPollReturnsEarly(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("longpoll"), nil)

	wrote := make(chan struct{})
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		select {
		case <-wrote:
		default:
			close(wrote)
		}
	}}
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.SQS.ReceiveMessage(httptrace.WithClientTrace(ctx, trace), &sqs.ReceiveMessageInput{
			QueueUrl:        aws.String(q.URL),
			WaitTimeSeconds: 20,
		})
		done <- result{out, err, time.Now()}
	}()
	select {
	case <-wrote:
	case r := <-done:
		require.FailNow(t, "long poll returned before any message was sent", "err=%v", r.err)
	case <-ctx.Done():
		require.FailNow(t, "long poll request never written")
	}
	sentAt := time.Now()
	id := e.Send(ctx, t, q.URL, "wake up")
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		require.FailNow(t, "long poll never returned")
	}
	require.NoError(t, r.err)
	require.Len(t, r.out.Messages, 1, "the long poll returns the message sent while it waited")
	assert.Equal(t, id, aws.ToString(r.out.Messages[0].MessageId))
	assert.Less(t, r.at.Sub(sentAt), 10*time.Second, "the long poll returned well before WaitTimeSeconds=20")
}

// SetQueueAttributes Policy round-trips through GetQueueAttributes.
func sqsQueuePolicyRoundTrip(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("policy"), nil)
	topicARN := "arn:aws:sns:" + e.Config.Region + ":" + accountOf(q.ARN) + ":" + e.Name("t")
	policy := AllowTopicPolicy(q.ARN, topicARN)
	_, err := e.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q.URL), Attributes: map[string]string{"Policy": policy}})
	require.NoError(t, err)
	assert.JSONEq(t, policy, e.QueueAttributes(t, q.URL, "Policy")["Policy"])
}

// STS GetCallerIdentity returns the account the other ARNs live in.
func stsGetCallerIdentity(t *testing.T, e *Env) {
	out, err := e.STS.GetCallerIdentity(e.Context(t), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Regexp(t, `^\d{12}$`, aws.ToString(out.Account), "Account is a 12-digit account id")
	assert.True(t, strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:"), "Arn %q", aws.ToString(out.Arn))
	assert.NotEmpty(t, aws.ToString(out.UserId))

	q := e.CreateQueue(t, e.Name("sts"), nil)
	assert.Equal(t, aws.ToString(out.Account), accountOf(q.ARN), "queue ARNs carry the caller's account")
}

// accountOf returns the account field of an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// parseEpochMillis parses a SentTimestamp-style attribute.
func parseEpochMillis(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// Queue attribute DelaySeconds: "The length of time, in seconds, for which
// the delivery of all messages in the queue is delayed."
func sqsQueueDelaySeconds(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("qdelay"), map[string]string{"DelaySeconds": "2"})
	start := time.Now()
	e.Send(ctx, t, q.URL, "queue-delayed")
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "not receivable during the queue's delay")
	got := e.ReceiveN(ctx, t, q.URL, 1, true)
	assert.Equal(t, "queue-delayed", aws.ToString(got[0].Body))
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "received only after the queue's DelaySeconds")
}

// ListQueues: "MaxResults – Maximum number of results to include in the
// response ... NextToken – Pagination token to request the next set of
// results."
func sqsListQueuesPagination(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "ListQueues reference: MaxResults is the 'Maximum number of results to include in the response' with NextToken for the rest; moto ignores MaxResults and returns every queue in one page")
	ctx := e.Context(t)
	prefix := e.Name("page")
	want := []string{e.CreateQueue(t, prefix+"-a", nil).URL, e.CreateQueue(t, prefix+"-b", nil).URL, e.CreateQueue(t, prefix+"-c", nil).URL}
	var got []string
	p := sqs.NewListQueuesPaginator(e.SQS, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(page.QueueUrls), 2, "a page holds at most MaxResults queues")
		got = append(got, page.QueueUrls...)
		pages++
		require.Less(t, pages, 10, "pagination does not terminate")
	}
	assert.ElementsMatch(t, want, got, "the pages together list every queue once")
	assert.GreaterOrEqual(t, pages, 2, "three queues with MaxResults=2 need two pages")
}
