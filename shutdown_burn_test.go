package snssqs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

// TestShutdownBurnsNoReceive: a message that arrives while a subscriber
// with two receivers per queue shuts down is received by one long poll
// still in progress and released unhandled, but never received again by
// the other poll on its way out: read back afterwards, it has been received
// once by the subscriber and once by the reader.
func TestShutdownBurnsNoReceive(t *testing.T) {
	srv := snssqstest.Run(t)
	client := sqs.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("burn")})
	require.NoError(t, err)
	url := aws.ToString(q.QueueUrl)

	var handled atomic.Int32
	s, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.WaitTime = 2 * time.Second
		o.ReceiversPerQueue = 2
		o.AckFlushInterval = time.Millisecond
	})
	require.NoError(t, err)
	_, err = s.HandleFallback(url, func(context.Context, *snssqs.Message) error {
		handled.Add(1)
		return nil
	})
	require.NoError(t, err)
	done := runSubscriber(s)
	require.Eventually(t, func() bool { return srv.Requests()["sqs:ReceiveMessage"] > 0 }, 10*time.Second, time.Millisecond, "polling")

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	waitShutdownBegun(t, s)
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("late")})
	require.NoError(t, err)
	require.NoError(t, <-shut)
	require.NoError(t, <-done)

	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1, "the message is visible again")
	rc := out.Messages[0].Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
	assert.Equal(t, "2", rc, "received once by the subscriber, once by this read")
	st := s.Stats()
	assert.Equal(t, uint64(1), st.Received)
	assert.Equal(t, uint64(1), st.Released)
	assert.Zero(t, handled.Load(), "not handled after shutdown began")
}
