package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// naiveContender is the raw SDK used the way a typical hand-rolled library
// does it: one Publish per event, one receive loop asking for one message at
// a time (long polling), handling it inline and deleting it with
// DeleteMessage.
type naiveContender struct{}

func (naiveContender) name() string { return "naive" }
func (naiveContender) description() string {
	return "raw aws-sdk-go-v2: sns.Publish per event; one loop of sqs.ReceiveMessage(MaxNumberOfMessages=1, WaitTimeSeconds=20), handle inline, sqs.DeleteMessage"
}
func (naiveContender) batchSize() int            { return 1 }
func (naiveContender) supportsConcurrency() bool { return false }

func (naiveContender) openPublisher(_ context.Context, cl awsClients, ref queueRef) (publisher, error) {
	topicARN := ref.topicARN
	return &naivePublisher{rawTopic{sns: cl.sns, topicARN: topicARN}}, nil
}

type naivePublisher struct{ rawTopic }

func (p *naivePublisher) publish(ctx context.Context, events []benchEvent) error {
	for _, ev := range events {
		body, err := encodeEvent(ev)
		if err != nil {
			return err
		}
		if _, err := p.sns.Publish(ctx, &sns.PublishInput{
			TopicArn:          aws.String(p.topicARN),
			Message:           body,
			MessageAttributes: eventTypeAttributes(),
		}); err != nil {
			return fmt.Errorf("sns.Publish: %w", err)
		}
	}
	return nil
}

func (naiveContender) startConsumer(ctx context.Context, cl awsClients, spec consumerSpec, h handlerFunc) (consumer, error) {
	ctx, c := newLoopConsumer(ctx)
	c.wg.Go(func() {
		for ctx.Err() == nil {
			out, err := c.receive(ctx, cl, spec.queueURL, 1)
			if err != nil {
				continue
			}
			for _, m := range out.Messages {
				if !c.handle(ctx, h, m) {
					continue
				}
				// The delete outlives the receive context: stopping must
				// not lose the acknowledgement of a handled message.
				dctx := context.WithoutCancel(ctx)
				if _, err := cl.sqs.DeleteMessage(dctx, &sqs.DeleteMessageInput{
					QueueUrl: aws.String(spec.queueURL), ReceiptHandle: m.ReceiptHandle,
				}); err != nil {
					c.recordErr(dctx, fmt.Errorf("sqs.DeleteMessage: %w", err))
				}
			}
		}
	})
	return c, nil
}

// rawTopic is the topic a raw-SDK publisher sends to; it holds nothing to
// close.
type rawTopic struct {
	sns      *sns.Client
	topicARN string
}

func (rawTopic) close(context.Context) error { return nil }

// encodeEvent returns the JSON message body of ev for a raw-SDK publish.
func encodeEvent(ev benchEvent) (*string, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return aws.String(string(body)), nil
}

// eventTypeAttributes returns the message attributes of a raw-SDK publish:
// the event type, which subscription filter policies match on.
func eventTypeAttributes() map[string]snstypes.MessageAttributeValue {
	return map[string]snstypes.MessageAttributeValue{
		eventTypeAttribute: {DataType: aws.String("String"), StringValue: aws.String(eventType)},
	}
}

// loopConsumer is a set of receive goroutines stopped by cancelling their
// context. It keeps the first error that was not caused by stopping.
type loopConsumer struct {
	cancel context.CancelFunc
	decode func(body string) (benchEvent, error)
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

// newLoopConsumer returns a loopConsumer and the context its receive loops
// run on, which stop cancels.
func newLoopConsumer(ctx context.Context) (context.Context, *loopConsumer) {
	ctx, cancel := context.WithCancel(ctx)
	return ctx, &loopConsumer{cancel: cancel, decode: decodeNotification}
}

// receive long-polls queueURL for up to maxMessages messages with their
// attributes and receive count; an error is recorded as well as returned.
func (c *loopConsumer) receive(ctx context.Context, cl awsClients, queueURL string, maxMessages int32) (*sqs.ReceiveMessageOutput, error) {
	out, err := cl.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(queueURL),
		MaxNumberOfMessages:   maxMessages,
		WaitTimeSeconds:       20,
		MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
			sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
		},
	})
	if err != nil {
		err = fmt.Errorf("sqs.ReceiveMessage: %w", err)
		c.recordErr(ctx, err)
		return nil, err
	}
	return out, nil
}

// handle decodes m and runs h on it, reporting whether it was handled and
// may be deleted; a message that does not decode is recorded as an error.
func (c *loopConsumer) handle(ctx context.Context, h handlerFunc, m sqstypes.Message) bool {
	ev, err := c.decode(aws.ToString(m.Body))
	if err != nil {
		c.recordErr(ctx, err)
		return false
	}
	return h(ctx, ev, receiveCount(m.Attributes)) == nil
}

func (c *loopConsumer) recordErr(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // stopping: errors from cancelled calls are expected
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *loopConsumer) stop(ctx context.Context) error {
	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("receive loops did not stop: %w", ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && !errors.Is(c.err, context.Canceled) {
		return c.err
	}
	return nil
}
