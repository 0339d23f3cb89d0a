package provision_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

func TestProvisionQueueWithoutTopic(t *testing.T) {
	srv := snssqstest.Run(t)
	client := sqs.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	spec := provision.QueueSpec{Name: "jobs", DeadLetterQueue: true, MaxReceiveCount: 3, VisibilityTimeout: 45 * time.Second}
	pq, err := provision.ApplyQueue(ctx, client, spec)
	require.NoError(t, err)
	assert.NotEmpty(t, pq.URL)
	assert.NotEmpty(t, pq.DeadLetterURL)
	assert.Empty(t, pq.SubscriptionARN, "no topic, no subscription")
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(pq.URL), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	require.NoError(t, err)
	assert.Equal(t, "45", attrs.Attributes["VisibilityTimeout"])
	assert.JSONEq(t, `{"deadLetterTargetArn":"`+pq.DeadLetterARN+`","maxReceiveCount":3}`, attrs.Attributes["RedrivePolicy"])
	assert.Empty(t, attrs.Attributes["Policy"], "no topic is allowed to send")

	again, err := provision.ApplyQueue(ctx, client, spec)
	require.NoError(t, err, "provisioning again finds the queue")
	assert.Equal(t, pq, again)

	fifo, err := provision.ApplyQueue(ctx, client, provision.QueueSpec{Name: "jobs.fifo", DeadLetterQueue: true})
	require.NoError(t, err)
	attrs, err = client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(fifo.DeadLetterURL), AttributeNames: []sqstypes.QueueAttributeName{"FifoQueue"}})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["FifoQueue"], "a FIFO queue's DLQ is FIFO")

	for _, bad := range []provision.QueueSpec{{Name: "raw", RawMessageDelivery: true}, {Name: "f", FilterPolicy: `{"a":["b"]}`}, {Name: "bad name"}, {Name: "x", MaxReceiveCount: 2}} {
		_, err := provision.ApplyQueue(ctx, client, bad)
		assert.ErrorIs(t, err, snssqs.ErrInvalidOptions, "%+v", bad)
	}
}
