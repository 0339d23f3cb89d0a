package provision

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endpointEnv names the environment variable holding the endpoint of
// a real SNS/SQS implementation (moto, LocalStack, snssqstest); the
// integration tests below are skipped without it.
const endpointEnv = "SNSSQS_TEST_ENDPOINT"

// testClients returns SNS and SQS clients for the endpoint in
// SNSSQS_TEST_ENDPOINT, or skips the test.
func testClients(t *testing.T) (*sns.Client, *sqs.Client) {
	t.Helper()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		t.Skipf("%s not set; e.g. run moto_server -H 127.0.0.1 -p 4571 and set it to http://127.0.0.1:4571", endpointEnv)
	}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	snsClient := sns.New(sns.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(endpoint)})
	sqsClient := sqs.New(sqs.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(endpoint)})
	return snsClient, sqsClient
}

// cleanup deletes the topic and queues of topo when the test ends.
func cleanup(t *testing.T, snsClient *sns.Client, sqsClient *sqs.Client, topo *Topology) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, q := range topo.Queues {
			if q.SubscriptionARN != "" {
				_, err := snsClient.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(q.SubscriptionARN)})
				assert.NoError(t, err)
			}
			for _, url := range []string{q.URL, q.DeadLetterURL} {
				if url != "" {
					_, err := sqsClient.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
					assert.NoError(t, err)
				}
			}
		}
		_, err := snsClient.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topo.TopicARN)})
		assert.NoError(t, err)
	})
}

// receive long-polls url until want messages arrived (deleting
// them) or ctx ends, and returns them.
func receive(ctx context.Context, t *testing.T, sqsClient *sqs.Client, url string, want int) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	for len(got) < want {
		out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             2,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		require.NoError(t, err, "receive from %s (got %d of %d messages)", url, len(got), want)
		for _, m := range out.Messages {
			got = append(got, m)
			_, err := sqsClient.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	return got
}

// assertEmpty checks that url has no message within one short poll.
func assertEmpty(ctx context.Context, t *testing.T, sqsClient *sqs.Client, url string) {
	t.Helper()
	out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	require.NoError(t, err)
	for _, m := range out.Messages {
		assert.Fail(t, "unexpected message", "queue %s: %s", url, aws.ToString(m.Body))
	}
}

// notification is the part of an SNS notification the test checks.
type notification struct {
	Type              string
	TopicArn          string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

func TestProvisionAgainstEndpoint(t *testing.T) {
	snsClient, sqsClient := testClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	id := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	rawName, wrappedName := "prov-raw-"+id, "prov-wrapped-"+id
	spec := TopologySpec{
		TopicName:       "prov-topic-" + id,
		TopicAttributes: map[string]string{"DisplayName": "provision test"},
		Queues: []QueueSpec{
			{Name: rawName, RawMessageDelivery: true, FilterPolicy: `{"kind":["order"]}`},
			{Name: wrappedName, DeadLetterQueue: true, MaxReceiveCount: 2, VisibilityTimeout: 45 * time.Second},
		},
	}

	first, err := Apply(ctx, snsClient, sqsClient, spec)
	require.NoError(t, err)
	cleanup(t, snsClient, sqsClient, first)
	second, err := Apply(ctx, snsClient, sqsClient, spec)
	require.NoError(t, err)
	require.Equal(t, first, second, "a second run returns the same topology")
	subs, err := snsClient.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(first.TopicARN)})
	require.NoError(t, err)
	assert.Len(t, subs.Subscriptions, 2, "no duplicate subscriptions")

	raw, wrapped := first.Queues[rawName], first.Queues[wrappedName]
	require.NotEmpty(t, wrapped.DeadLetterARN)
	assert.True(t, strings.HasSuffix(wrapped.DeadLetterARN, ":"+wrappedName+"-dlq"), wrapped.DeadLetterARN)
	assert.Empty(t, raw.DeadLetterURL)

	t.Run("queue attributes", func(t *testing.T) {
		attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(wrapped.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		require.NoError(t, err)
		var redrive struct {
			DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
			MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
		}
		require.NoError(t, json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive))
		assert.Equal(t, wrapped.DeadLetterARN, redrive.DeadLetterTargetArn)
		assert.Equal(t, "2", strings.Trim(string(redrive.MaxReceiveCount), `"`))
		assert.Equal(t, "45", attrs.Attributes["VisibilityTimeout"])
		assert.Equal(t, wrapped.ARN, attrs.Attributes["QueueArn"])
		assert.JSONEq(t, QueuePolicy(wrapped.ARN, first.TopicARN), attrs.Attributes["Policy"])

		dlq, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(wrapped.DeadLetterURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameMessageRetentionPeriod},
		})
		require.NoError(t, err)
		assert.Equal(t, "1209600", dlq.Attributes["MessageRetentionPeriod"])

		sub, err := snsClient.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(raw.SubscriptionARN)})
		require.NoError(t, err)
		assert.Equal(t, "true", sub.Attributes["RawMessageDelivery"])
		assert.JSONEq(t, `{"kind":["order"]}`, sub.Attributes["FilterPolicy"])
		assert.Equal(t, "MessageAttributes", sub.Attributes["FilterPolicyScope"])
	})

	t.Run("publish and receive raw and wrapped", func(t *testing.T) {
		publish := func(body, kind string) {
			_, err := snsClient.Publish(ctx, &sns.PublishInput{
				TopicArn: aws.String(first.TopicARN),
				Message:  aws.String(body),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{
					"kind": {DataType: aws.String("String"), StringValue: aws.String(kind)},
				},
			})
			require.NoError(t, err)
		}
		publish("filtered-out-"+id, "other")
		publish("hello-"+id, "order")

		got := receive(ctx, t, sqsClient, raw.URL, 1)
		require.Len(t, got, 1)
		assert.Equal(t, "hello-"+id, aws.ToString(got[0].Body), "raw delivery: the body is the message")
		assert.Equal(t, "order", aws.ToString(got[0].MessageAttributes["kind"].StringValue), "raw delivery: SNS attributes become SQS attributes")
		assertEmpty(ctx, t, sqsClient, raw.URL)

		got = receive(ctx, t, sqsClient, wrapped.URL, 2)
		require.Len(t, got, 2)
		bodies := make(map[string]notification)
		for _, m := range got {
			var n notification
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &n), "wrapped delivery: the body is an SNS notification")
			assert.Equal(t, "Notification", n.Type)
			assert.Equal(t, first.TopicARN, n.TopicArn)
			bodies[n.Message] = n
		}
		require.Contains(t, bodies, "hello-"+id)
		require.Contains(t, bodies, "filtered-out-"+id, "the unfiltered queue gets every message")
		assert.Equal(t, "order", bodies["hello-"+id].MessageAttributes["kind"].Value)
	})

	t.Run("existing policy statements are kept", func(t *testing.T) {
		other := `{"Sid":"KeepMe","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:GetQueueAttributes","Resource":"` + raw.ARN + `"}`
		doc := `{"Version":"2012-10-17","Statement":[` + other + `]}`
		_, err := sqsClient.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(raw.URL), Attributes: map[string]string{"Policy": doc}})
		require.NoError(t, err)
		_, err = Apply(ctx, snsClient, sqsClient, spec)
		require.NoError(t, err)
		attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(raw.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy},
		})
		require.NoError(t, err)
		var policy struct{ Statement []struct{ Sid string } }
		require.NoError(t, json.Unmarshal([]byte(attrs.Attributes["Policy"]), &policy))
		assert.Equal(t, []struct{ Sid string }{{"KeepMe"}, {"snssqs-" + first.TopicARN}}, policy.Statement)
	})

	t.Run("changed spec updates in place", func(t *testing.T) {
		changed := spec
		changed.TopicAttributes = map[string]string{"DisplayName": "renamed"}
		changed.Queues = []QueueSpec{
			{Name: rawName, RawMessageDelivery: true, FilterPolicy: `{"kind":["order"]}`, FilterPolicyScope: FilterPolicyScopeMessageBody},
			{Name: wrappedName, DeadLetterQueue: true, MaxReceiveCount: 7, VisibilityTimeout: time.Minute},
		}
		topo, err := Apply(ctx, snsClient, sqsClient, changed)
		require.NoError(t, err)
		assert.Equal(t, first, topo)

		topic, err := snsClient.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(first.TopicARN)})
		require.NoError(t, err)
		assert.Equal(t, "renamed", topic.Attributes["DisplayName"])
		attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(wrapped.URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout, sqstypes.QueueAttributeNameRedrivePolicy},
		})
		require.NoError(t, err)
		assert.Equal(t, "60", attrs.Attributes["VisibilityTimeout"])
		assert.True(t, attrEqual("RedrivePolicy", attrs.Attributes["RedrivePolicy"], redrivePolicy(wrapped.DeadLetterARN, 7)),
			attrs.Attributes["RedrivePolicy"])
		sub, err := snsClient.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(raw.SubscriptionARN)})
		require.NoError(t, err)
		assert.Equal(t, "MessageBody", sub.Attributes["FilterPolicyScope"])

		// The filter now applies to the body.
		for _, body := range []string{`{"kind":"other","id":"` + id + `"}`, `{"kind":"order","id":"` + id + `"}`} {
			_, err := snsClient.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(first.TopicARN), Message: aws.String(body)})
			require.NoError(t, err)
		}
		got := receive(ctx, t, sqsClient, raw.URL, 1)
		require.Len(t, got, 1)
		assert.JSONEq(t, `{"kind":"order","id":"`+id+`"}`, aws.ToString(got[0].Body))
		assertEmpty(ctx, t, sqsClient, raw.URL)
		assert.Len(t, receive(ctx, t, sqsClient, wrapped.URL, 2), 2)

		// And it is idempotent again.
		again, err := Apply(ctx, snsClient, sqsClient, changed)
		require.NoError(t, err)
		assert.Equal(t, first, again)
	})
}

func TestProvisionFIFOAgainstEndpoint(t *testing.T) {
	snsClient, sqsClient := testClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	queueName := "prov-q-" + id + ".fifo"
	spec := TopologySpec{
		TopicName:                 "prov-topic-" + id + ".fifo",
		ContentBasedDeduplication: true,
		Queues:                    []QueueSpec{{Name: queueName, RawMessageDelivery: true, DeadLetterQueue: true}},
	}
	first, err := Apply(ctx, snsClient, sqsClient, spec)
	require.NoError(t, err)
	cleanup(t, snsClient, sqsClient, first)
	second, err := Apply(ctx, snsClient, sqsClient, spec)
	require.NoError(t, err)
	require.Equal(t, first, second)
	q := first.Queues[queueName]
	assert.True(t, strings.HasSuffix(q.DeadLetterARN, ":prov-q-"+id+"-dlq.fifo"), q.DeadLetterARN)

	topic, err := snsClient.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(first.TopicARN)})
	require.NoError(t, err)
	assert.Equal(t, "true", topic.Attributes["FifoTopic"])
	assert.Equal(t, "true", topic.Attributes["ContentBasedDeduplication"])
	attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["FifoQueue"])
	assert.Equal(t, "true", attrs.Attributes["ContentBasedDeduplication"])
	assert.True(t, attrEqual("RedrivePolicy", attrs.Attributes["RedrivePolicy"], redrivePolicy(q.DeadLetterARN, DefaultMaxReceiveCount)),
		attrs.Attributes["RedrivePolicy"])

	for _, body := range []string{"first-" + id, "second-" + id} {
		_, err := snsClient.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(first.TopicARN), Message: aws.String(body), MessageGroupId: aws.String("g")})
		require.NoError(t, err)
	}
	got := receive(ctx, t, sqsClient, q.URL, 2)
	require.Len(t, got, 2)
	assert.Equal(t, "first-"+id, aws.ToString(got[0].Body), "FIFO order kept")
	assert.Equal(t, "second-"+id, aws.ToString(got[1].Body))
}
