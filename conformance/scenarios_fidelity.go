package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Behaviour the API references of today document and a new user trips over
// first: defaults and validation order.
func fidelityScenarios() []Scenario {
	return []Scenario{
		{Name: "SQS/MaximumMessageSizeDefaultsTo1MiB", Run: sqsMaximumMessageSize1MiB},
		{Name: "SQS/FIFODelaySecondsZeroAccepted", Run: sqsFIFODelaySecondsZero},
		{Name: "SQS/TagQueueOver50ChangesNothing", Run: sqsTagQueueOver50},
		{Name: "SNS/PublishGroupIDToStandardTopic", Run: snsPublishGroupIDStandard},
		{Name: "SNS/SubscribeToMissingTopicIsNotFound", Run: snsSubscribeMissingTopic},
	}
}

// "MaximumMessageSize – ... from 1,024 bytes (1 KiB) up to 1,048,576 bytes
// (1 MiB). Default: 1,048,576 bytes (1 MiB)." (SetQueueAttributes, since
// August 2025.) A message over 256 KiB is sent and received whole.
func sqsMaximumMessageSize1MiB(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("big"), nil)
	assert.Equal(t, "1048576", e.QueueAttributes(t, q.URL, sqstypes.QueueAttributeNameMaximumMessageSize)["MaximumMessageSize"])
	body := strings.Repeat("b", 300_000)
	e.Send(ctx, t, q.URL, body)
	got := e.ReceiveN(ctx, t, q.URL, 1, true)
	assert.Equal(t, len(body), len(aws.ToString(got[0].Body)), "a 300,000-byte message arrives whole")
}

// SendMessage on a FIFO queue: a per-message delay is not supported, but
// DelaySeconds 0, no delay of its own, is accepted; any other value is
// InvalidParameterValue.
func sqsFIFODelaySecondsZero(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("delay")+".fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("zero"),
		MessageGroupId: aws.String("g"), DelaySeconds: 0})
	require.NoError(t, err, "DelaySeconds 0 on a FIFO queue")
	_, err = e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("five"),
		MessageGroupId: aws.String("g"), DelaySeconds: 5})
	assertAPIError(t, err, "InvalidParameterValue")
}

// TagQueue: "You can associate up to 50 tags with a queue." A request that
// would pass 50 fails and stores none of its tags.
func sqsTagQueueOver50(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("tags"), nil)
	tags := map[string]string{}
	for i := range 51 {
		tags[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err := e.SQS.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(q.URL), Tags: tags})
	assertAPIError(t, err, "InvalidParameterValue")
	out, err := e.SQS.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(q.URL)})
	require.NoError(t, err)
	assert.Empty(t, out.Tags, "a refused TagQueue stores no tag")
}

// Publish: MessageGroupId on a standard topic is valid; it feeds SQS fair
// queues ("applies to standard and FIFO topics").
func snsPublishGroupIDStandard(t *testing.T, e *Env) {
	topic := e.CreateTopic(t, e.Name("fair"), nil)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("tenant message"), MessageGroupId: aws.String("tenant-1")})
}

// Subscribe to a topic that does not exist is NotFound ("Topic does not
// exist") whatever the endpoint: the topic is looked up first.
func snsSubscribeMissingTopic(t *testing.T, e *Env) {
	existing := e.CreateTopic(t, e.Name("there"), nil)
	missing := existing[:strings.LastIndex(existing, ":")+1] + e.Name("missing") // same account and region
	_, err := e.SNS.Subscribe(e.Context(t), &sns.SubscribeInput{TopicArn: aws.String(missing), Protocol: aws.String("sqs"), Endpoint: aws.String("not-an-arn")})
	var nf *snstypes.NotFoundException
	require.ErrorAs(t, err, &nf, "got %v", err)
}

// assertAPIError checks that err is an AWS error with code.
func assertAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want an AWS error %s, got %v", code, err)
	assert.Equal(t, code, ae.ErrorCode())
}
