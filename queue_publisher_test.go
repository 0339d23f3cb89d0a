package snssqs_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

const (
	sendQueue     = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
	sendFIFOQueue = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo"
)

// fakeSQSSend records SendMessage and SendMessageBatch calls. block, when
// set, holds every call until it is closed; failBody fails the batch entries
// whose body contains it.
type fakeSQSSend struct {
	mu       sync.Mutex
	single   []*sqs.SendMessageInput
	batches  []*sqs.SendMessageBatchInput
	started  chan struct{} // receives one value per call, when set
	block    chan struct{}
	failBody string
}

func (f *fakeSQSSend) wait() {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
}

func (f *fakeSQSSend) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.single = append(f.single, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("m" + strconv.Itoa(len(f.single))), SequenceNumber: aws.String("7")}, nil
}

func (f *fakeSQSSend) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, in)
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if f.failBody != "" && strings.Contains(aws.ToString(e.MessageBody), f.failBody) {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidMessageContents"), Message: aws.String("no"), SenderFault: true})
			continue
		}
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("b-" + aws.ToString(e.Id))})
	}
	return out, nil
}

func newTestQueuePublisher(t *testing.T, f *fakeSQSSend, optFns ...func(*snssqs.PublisherOptions)) *snssqs.QueuePublisher {
	t.Helper()
	p, err := snssqs.NewQueuePublisher(f, optFns...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestQueuePublisherSendsEnvelopeWithSendMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSQSSend{}
		p := newTestQueuePublisher(t, f, func(o *snssqs.PublisherOptions) { o.Source = "billing" })
		id, err := p.Send(context.Background(), sendQueue, "invoice.due", map[string]int{"amount": 3}, snssqs.WithAttribute("tenant", snssqs.StringAttribute("acme")))
		require.NoError(t, err)
		assert.Equal(t, "m1", id)
		require.Len(t, f.single, 1, "a lone send goes out at once, alone")
		in := f.single[0]
		assert.Equal(t, sendQueue, aws.ToString(in.QueueUrl))
		assert.Equal(t, "invoice.due", aws.ToString(in.MessageAttributes[snssqs.EventTypeAttribute].StringValue))
		assert.Equal(t, "acme", aws.ToString(in.MessageAttributes["tenant"].StringValue))
		assert.Nil(t, in.MessageGroupId)
		assert.Zero(t, in.DelaySeconds, "the queue's own delay")

		// The body is the envelope a Subscriber decodes as raw delivery.
		msg, err := snssqs.DecodeSQSMessage(sendQueue, types.Message{MessageId: aws.String("m1"), Body: in.MessageBody, MessageAttributes: in.MessageAttributes})
		require.NoError(t, err)
		assert.Equal(t, "invoice.due", msg.Type)
		assert.Equal(t, "billing", msg.Source)
		assert.JSONEq(t, `{"amount":3}`, string(msg.Data))
	})
}

func TestQueuePublisherCoalescesConcurrentSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSQSSend{started: make(chan struct{}, 16), block: make(chan struct{})}
		p := newTestQueuePublisher(t, f)
		ctx := context.Background()
		var wg sync.WaitGroup
		send := func(i int) {
			defer wg.Done()
			_, err := p.Send(ctx, sendQueue, "job", i)
			assert.NoError(t, err)
		}
		wg.Add(1)
		go send(0)
		<-f.started // the first send is in flight alone
		for i := 1; i <= 10; i++ {
			wg.Add(1)
			go send(i)
		}
		<-f.started // ten more gathered into a full batch beside it
		close(f.block)
		wg.Wait()
		require.Len(t, f.single, 1)
		require.Len(t, f.batches, 1)
		assert.Len(t, f.batches[0].Entries, 10)
	})
}

func TestQueuePublisherFIFOAndDelayRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSQSSend{}
		p := newTestQueuePublisher(t, f)
		ctx := context.Background()

		_, err := p.Send(ctx, sendFIFOQueue, "job", 1)
		assert.ErrorIs(t, err, snssqs.ErrMissingGroupID)
		_, err = p.Send(ctx, sendFIFOQueue, "job", 1, snssqs.WithGroupID("g"), snssqs.WithDelay(time.Second))
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent, "FIFO queues take a delay per queue only")
		_, err = p.Send(ctx, sendFIFOQueue, "job", 1, snssqs.WithGroupID("g"), snssqs.WithEventID("e-1"))
		require.NoError(t, err)
		in := f.single[0]
		assert.Equal(t, "g", aws.ToString(in.MessageGroupId))
		assert.Equal(t, "e-1", aws.ToString(in.MessageDeduplicationId), "the deduplication id defaults to the envelope id")

		_, err = p.Send(ctx, sendQueue, "job", 1, snssqs.WithDelay(1500*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, int32(2), f.single[1].DelaySeconds, "rounded up to whole seconds")
		_, err = p.Send(ctx, sendQueue, "job", 1, snssqs.WithDelay(16*time.Minute))
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent)
		_, err = p.Send(ctx, sendQueue, "job", 1, snssqs.WithDeduplicationID("d"))
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent, "a standard queue takes no deduplication id")

		// A Publisher rejects a delay: SNS has none per message.
		pub, err := snssqs.NewPublisher(&fakeSNS{})
		require.NoError(t, err)
		defer pub.Close()
		_, err = pub.Publish(ctx, "arn:aws:sns:eu-west-1:123456789012:cards", "card.created", 1, snssqs.WithDelay(time.Second))
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent)
	})
}

func TestQueuePublisherRejectsBadQueueURLs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestQueuePublisher(t, &fakeSQSSend{})
		for _, u := range []string{
			"", "jobs", "ftp://host/1/jobs", "https:///1/jobs", "https://host/", "https://host/1/jo bs",
			"https://host/1/" + strings.Repeat("q", 81), "https://host/1/.fifo", "https://host/1/jobs?x=1",
		} {
			_, err := p.Send(context.Background(), u, "job", 1)
			assert.ErrorIs(t, err, snssqs.ErrInvalidQueueURL, "%q", u)
		}
		for _, u := range []string{sendQueue, "http://127.0.0.1:4566/000000000000/jobs", "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/jobs"} {
			_, err := p.Send(context.Background(), u, "job", 1)
			assert.NoError(t, err, "%q", u)
		}
		_, err := p.Send(context.Background(), sendFIFOQueue, "job", 1, snssqs.WithGroupID("g"))
		assert.NoError(t, err)
	})
}

func TestQueuePublisherSizeLimitIsSQSs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSQSSend{}
		p := newTestQueuePublisher(t, f)
		ctx := context.Background()
		_, err := p.Send(ctx, sendQueue, "big", strings.Repeat("x", 300<<10))
		require.NoError(t, err, "300 KiB is over SNS's limit, within SQS's")
		_, err = p.Send(ctx, sendQueue, "big", strings.Repeat("x", snssqs.MaxSQSMessageSize))
		assert.ErrorIs(t, err, snssqs.ErrMessageTooLarge)

		_, err = snssqs.NewQueuePublisher(f, func(o *snssqs.PublisherOptions) { o.MaxMessageSize = snssqs.MaxSQSMessageSize + 1 })
		assert.ErrorIs(t, err, snssqs.ErrInvalidOptions)
		_, err = snssqs.NewPublisher(&fakeSNS{}, func(o *snssqs.PublisherOptions) { o.MaxMessageSize = snssqs.MaxSNSMessageSize + 1 })
		assert.ErrorIs(t, err, snssqs.ErrInvalidOptions)
		_, err = snssqs.NewQueuePublisher(nil)
		assert.ErrorIs(t, err, snssqs.ErrInvalidOptions)
	})
}

func TestQueuePublisherSendBatchReportsEntryFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSQSSend{failBody: `"bad"`}
		p := newTestQueuePublisher(t, f)
		results, err := p.SendBatch(context.Background(), sendQueue, []snssqs.Entry{
			{EventType: "job", Event: "ok"}, {EventType: "job", Event: "bad"}, {EventType: "", Event: 1},
		})
		require.Len(t, results, 3)
		assert.Equal(t, "b-0", results[0].MessageID)
		var be *snssqs.BatchError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, snssqs.ErrBatchFailed)
		require.Len(t, be.Failed, 2)
		var apiErr smithy.APIError
		require.True(t, errors.As(results[1].Err, &apiErr), "the SQS entry error stays reachable")
		assert.Equal(t, "InvalidMessageContents", apiErr.ErrorCode())
		assert.ErrorIs(t, results[2].Err, snssqs.ErrInvalidEvent, "an invalid entry is not sent")

		require.NoError(t, p.Close())
		require.NoError(t, p.Close(), "Close is safe to call twice")
		_, err = p.Send(context.Background(), sendQueue, "job", 1)
		assert.ErrorIs(t, err, snssqs.ErrClosed)
	})
}
