package snssqs

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The test helpers of package snssqs (internal tests and benchmarks): a
// counting SNS client, a discarding SQS client and an event type.

// benchPubTopic is the topic the benchmarks publish to.
const benchPubTopic = "arn:aws:sns:eu-west-1:123456789012:cards"

// countingSNS is a minimal SNSPublishAPI for benchmarks: it answers at once
// (after yielding the processor, as a network call would) and only counts.
type countingSNS struct {
	requests atomic.Int64
	messages atomic.Int64
}

func (c *countingSNS) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	c.requests.Add(1)
	c.messages.Add(1)
	runtime.Gosched()
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

func (c *countingSNS) PublishBatch(_ context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	c.requests.Add(1)
	c.messages.Add(int64(len(in.PublishBatchRequestEntries)))
	runtime.Gosched()
	out := &sns.PublishBatchOutput{Successful: make([]types.PublishBatchResultEntry, len(in.PublishBatchRequestEntries))}
	for i, e := range in.PublishBatchRequestEntries {
		out.Successful[i] = types.PublishBatchResultEntry{Id: e.Id, MessageId: aws.String("m")}
	}
	return out, nil
}

// cardCreated is an event type with a JSON shape.
type cardCreated struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

// discardSQS accepts every ack and never returns messages.
type discardSQS struct{}

func (discardSQS) ReceiveMessage(ctx context.Context, _ *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (discardSQS) DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (discardSQS) ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}
