package conformance

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func errorScenarios() []Scenario {
	return []Scenario{
		{Name: "Errors/QueueDoesNotExist", Run: errorsQueueDoesNotExist},
		{Name: "Errors/TopicNotFound", Run: errorsTopicNotFound},
		{Name: "Errors/ReceiptHandleIsInvalid", Run: errorsReceiptHandleIsInvalid},
		{Name: "Errors/InvalidAttributeName", Run: errorsInvalidAttributeName},
		{Name: "Errors/SNSFIFOMissingMessageGroupId", Run: errorsSNSFIFOMissingGroup},
		{Name: "Errors/InvalidMessageContents", Run: errorsInvalidMessageContents},
		{Name: "Errors/FIFOPerMessageDelay", Run: errorsFIFOPerMessageDelay},
	}
}

// QueueDoesNotExist ("Ensure that the QueueUrl is correct and that the
// queue has not been deleted"), whose query error code is
// AWS.SimpleQueueService.NonExistentQueue, from every operation naming a
// missing queue.
func errorsQueueDoesNotExist(t *testing.T, e *Env) {
	ctx := e.Context(t)
	const code = "AWS.SimpleQueueService.NonExistentQueue"
	name := e.Name("missing")
	_, err := e.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)

	// A well-formed URL of this account and endpoint, naming no queue.
	real := e.CreateQueue(t, e.Name("real"), nil)
	missing := strings.TrimSuffix(real.URL, real.Name) + name
	require.NotEqual(t, real.URL, missing)

	_, err = e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(missing), MessageBody: aws.String("x")})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)
	_, err = e.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(missing)})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)
	_, err = e.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(missing), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)
	_, err = e.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(missing)})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)
	_, err = e.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(missing)})
	RequireAPIError[*sqstypes.QueueDoesNotExist](t, err, code)
}

// NotFoundException ("Indicates that the requested resource does not
// exist", query code NotFound) for a topic ARN naming no topic.
func errorsTopicNotFound(t *testing.T, e *Env) {
	ctx := e.Context(t)
	real := e.CreateTopic(t, e.Name("real"), nil)
	missing := real[:strings.LastIndex(real, ":")+1] + e.Name("missing")

	_, err := e.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(missing), Message: aws.String("x")})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")
	_, err = e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(missing)})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")
	_, err = e.SNS.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(missing), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("x")},
	}})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")
	_, err = e.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(missing)})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")

	q := e.CreateQueue(t, e.Name("nf"), nil)
	_, err = e.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(missing), Protocol: aws.String("sqs"), Endpoint: aws.String(q.ARN)})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")
	_, err = e.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(missing + ":00000000-0000-0000-0000-000000000000")})
	RequireAPIError[*snstypes.NotFoundException](t, err, "NotFound")
}

// DeleteMessage / ChangeMessageVisibility with a malformed receipt handle:
// ReceiptHandleIsInvalid ("The specified receipt handle isn't valid").
func errorsReceiptHandleIsInvalid(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("rh"), nil)
	_, err := e.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String("not-a-receipt-handle")})
	RequireAPIError[*sqstypes.ReceiptHandleIsInvalid](t, err, "ReceiptHandleIsInvalid")
	_, err = e.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String("not-a-receipt-handle"), VisibilityTimeout: 10})
	RequireAPIError[*sqstypes.ReceiptHandleIsInvalid](t, err, "ReceiptHandleIsInvalid")
}

// InvalidAttributeName: "The specified attribute doesn't exist."
func errorsInvalidAttributeName(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("attr"), nil)
	_, err := e.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL), AttributeNames: []sqstypes.QueueAttributeName{"NoSuchAttribute"}})
	RequireAPIError[*sqstypes.InvalidAttributeName](t, err, "InvalidAttributeName")

	e.SkipOnMoto(t, "SetQueueAttributes reference lists InvalidAttributeName ('The specified attribute doesn't exist'); moto accepts unknown attribute names")
	_, err = e.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q.URL), Attributes: map[string]string{"NoSuchAttribute": "1"}})
	RequireAPIError[*sqstypes.InvalidAttributeName](t, err, "InvalidAttributeName")
}

// Publish MessageGroupId: "This parameter applies only to FIFO topics, and
// it's required."
func errorsSNSFIFOMissingGroup(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "Publish reference: MessageGroupId is required for FIFO topics and a request that does not comply with the constraints fails with InvalidParameter (AWS answers 'InvalidParameter: Invalid parameter: The MessageGroupId parameter is required for FIFO topics'); moto answers the SQS-style code MissingParameter")
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("nogroup")+".fifo", map[string]string{"ContentBasedDeduplication": "true"})
	_, err := e.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("x")})
	RequireAPIError[*snstypes.InvalidParameterException](t, err, "InvalidParameter")
}

// SendMessage: "The following Unicode characters are allowed: #x9 | #xA |
// #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. Any
// characters not included in this list will be rejected"
// (InvalidMessageContents).
func errorsInvalidMessageContents(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "SendMessage reference: characters outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF 'will be rejected' (InvalidMessageContents); moto accepts a body containing U+0000")
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("badchars"), nil)
	_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("nul \x00 inside")})
	RequireAPIError[*sqstypes.InvalidMessageContents](t, err, "InvalidMessageContents")
	assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "the rejected message was not enqueued")
}

// SendMessage DelaySeconds: "When you set FifoQueue, you can't set
// DelaySeconds per message. You can set this parameter only on a queue
// level." (InvalidParameterValue).
func errorsFIFOPerMessageDelay(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("fifodelay")+".fifo", map[string]string{"ContentBasedDeduplication": "true"})
	_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5,
	})
	RequireErrorCode(t, err, "InvalidParameterValue")
}
