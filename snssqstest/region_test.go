package snssqstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientsIn returns SNS and SQS clients of srv signing for region with
// access key id key.
func clientsIn(srv *Server, region, key string) (*sns.Client, *sqs.Client, *sts.Client) {
	cfg := srv.AWSConfig()
	cfg.Region = region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "secret", "")
	return sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

// One server serves several regions and accounts: the region comes from
// the request's signature, the account from a 12-digit access key id.
// Queues and topics of one region are not seen from another; ARNs and
// queue URLs carry their region; a topic delivers to a subscribed queue of
// another region.
func TestRegionsAndAccountsInOneServer(t *testing.T) {
	srv := Run(t)
	ctx := t.Context()
	snsE, sqsE, _ := clientsIn(srv, "us-east-1", "test")
	snsW, sqsW, _ := clientsIn(srv, "eu-west-1", "test")

	qe, err := sqsE.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	require.NoError(t, err)
	qw, err := sqsW.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	require.NoError(t, err)
	assert.NotEqual(t, aws.ToString(qe.QueueUrl), aws.ToString(qw.QueueUrl), "one queue per region")
	assert.Contains(t, aws.ToString(qw.QueueUrl), "/queue/eu-west-1/000000000000/orders")
	attrs, err := sqsW.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qw.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	require.NoError(t, err)
	westARN := attrs.Attributes["QueueArn"]
	assert.Equal(t, "arn:aws:sqs:eu-west-1:000000000000:orders", westARN)

	_, err = sqsW.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qe.QueueUrl, MessageBody: aws.String("x")})
	var dne *sqstypes.QueueDoesNotExist
	assert.ErrorAs(t, err, &dne, "a us-east-1 queue URL is not found from eu-west-1")
	list, err := sqsW.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.NoError(t, err)
	assert.Equal(t, []string{aws.ToString(qw.QueueUrl)}, list.QueueUrls, "ListQueues lists the region's queues")

	topic, err := snsE.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("cards")})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:sns:us-east-1:000000000000:cards", aws.ToString(topic.TopicArn))
	topics, err := snsW.ListTopics(ctx, &sns.ListTopicsInput{})
	require.NoError(t, err)
	assert.Empty(t, topics.Topics, "no us-east-1 topic in eu-west-1")

	// Cross-region: the us-east-1 topic delivers to the eu-west-1 queue.
	_, err = snsE.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(westARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	_, err = snsE.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("across the ocean")})
	require.NoError(t, err)
	got, err := sqsW.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qw.QueueUrl, WaitTimeSeconds: 1})
	require.NoError(t, err)
	require.Len(t, got.Messages, 1)
	assert.Equal(t, "across the ocean", aws.ToString(got.Messages[0].Body))

	// Another account, named by its access key id.
	_, sqsA, stsA := clientsIn(srv, "us-east-1", "111122223333")
	id, err := stsA.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "111122223333", aws.ToString(id.Account))
	qa, err := sqsA.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	require.NoError(t, err)
	assert.Contains(t, aws.ToString(qa.QueueUrl), "/111122223333/orders")
	assert.NotEqual(t, aws.ToString(qe.QueueUrl), aws.ToString(qa.QueueUrl))
}
