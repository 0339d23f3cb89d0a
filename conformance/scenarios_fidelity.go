package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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
		{Name: "SQS/AddRemovePermission", Run: sqsAddRemovePermission},
		{Name: "SNS/AddRemovePermission", Run: snsAddRemovePermission},
		{Name: "SQS/ChangeVisibilityWithAnEarlierReceiptHandle", Run: sqsChangeVisibilityEarlierReceipt},
		{Name: "SNS/HTTPSubscriptionConfirmedByToken", Run: snsHTTPSubscriptionConfirmed},
		{Name: "Regions/QueuesAndTopicsPerRegion", Run: regionsSeparate},
		{Name: "Regions/CrossRegionSubscriptionDelivers", Run: regionsCrossDelivery},
		{Name: "SNS/PlatformApplicationAndEndpoint", Run: snsPlatformApplication},
		{Name: "SNS/SMSAttributesAndOptOut", Run: snsSMSAttributes},
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

// policyStatement finds the statement labelled sid in a policy document.
func policyStatement(t *testing.T, policy, sid string) (map[string]any, bool) {
	t.Helper()
	if policy == "" {
		return nil, false
	}
	var doc struct{ Statement []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(policy), &doc), "policy %s", policy)
	for _, s := range doc.Statement {
		if s["Sid"] == sid {
			return s, true
		}
	}
	return nil, false
}

// AddPermission adds a statement, labelled as asked, to the queue's Policy
// attribute granting the accounts the actions; a second one with the label
// is InvalidParameterValue. RemovePermission takes it out again; an unknown
// label is InvalidParameterValue.
func sqsAddRemovePermission(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("perm"), nil)
	in := &sqs.AddPermissionInput{QueueUrl: aws.String(q.URL), Label: aws.String("partner-send"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}}
	_, err := e.SQS.AddPermission(ctx, in)
	require.NoError(t, err)
	policy := e.QueueAttributes(t, q.URL, sqstypes.QueueAttributeNamePolicy)["Policy"]
	st, ok := policyStatement(t, policy, "partner-send")
	require.True(t, ok, "the statement is in the Policy: %s", policy)
	assert.Equal(t, "Allow", st["Effect"])
	assert.Contains(t, fmt.Sprint(st["Principal"]), "111122223333")
	assert.Contains(t, fmt.Sprint(st["Action"]), "SQS:SendMessage")
	assert.Equal(t, q.ARN, st["Resource"])
	_, err = e.SQS.AddPermission(ctx, in)
	assertAPIError(t, err, "InvalidParameterValue")

	_, err = e.SQS.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: aws.String(q.URL), Label: aws.String("partner-send")})
	require.NoError(t, err)
	_, ok = policyStatement(t, e.QueueAttributes(t, q.URL, sqstypes.QueueAttributeNamePolicy)["Policy"], "partner-send")
	assert.False(t, ok, "removed")
	_, err = e.SQS.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: aws.String(q.URL), Label: aws.String("partner-send")})
	assertAPIError(t, err, "InvalidParameterValue")
}

// AddPermission on a topic adds a statement to its Policy, next to the
// default one; RemovePermission takes it out.
func snsAddRemovePermission(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("perm"), nil)
	_, err := e.SNS.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: aws.String(topic), Label: aws.String("partner-publish"),
		AWSAccountId: []string{"111122223333"}, ActionName: []string{"Publish"}})
	require.NoError(t, err)
	policy := func() string {
		out, err := e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
		require.NoError(t, err)
		return out.Attributes["Policy"]
	}
	st, ok := policyStatement(t, policy(), "partner-publish")
	require.True(t, ok, "the statement is in the Policy: %s", policy())
	assert.Contains(t, fmt.Sprint(st["Principal"]), "111122223333")
	assert.Contains(t, fmt.Sprint(st["Action"]), "SNS:Publish")
	_, err = e.SNS.RemovePermission(ctx, &sns.RemovePermissionInput{TopicArn: aws.String(topic), Label: aws.String("partner-publish")})
	require.NoError(t, err)
	_, ok = policyStatement(t, policy(), "partner-publish")
	assert.False(t, ok, "removed")
}

// A standard queue's message received twice has two receipt handles; while
// it is in flight under the second, ChangeMessageVisibility with the first
// still applies to it, as DeleteMessage with any of its handles does ("the
// request succeeds"). Visibility 0 makes it visible at once.
func sqsChangeVisibilityEarlierReceipt(t *testing.T, e *Env) {
	ctx := e.Context(t)
	q := e.CreateQueue(t, e.Name("oldrh"), nil)
	e.Send(ctx, t, q.URL, "twice")
	first := e.receiveWithVisibility(t, q.URL, 1, 0, 1)
	require.Len(t, first, 1)
	var second []sqstypes.Message
	e.Eventually(t, "the second receive", func() bool {
		second = e.receiveWithVisibility(t, q.URL, 1, 1, 60)
		return len(second) == 1
	})
	require.NotEqual(t, aws.ToString(first[0].ReceiptHandle), aws.ToString(second[0].ReceiptHandle), "a new handle per receive")
	_, err := e.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q.URL),
		ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0})
	require.NoError(t, err, "the earlier handle of a message in flight")
	assert.Len(t, e.receiveWithVisibility(t, q.URL, 1, 2, 60), 1, "visible again at once")
}

// An http subscription is "pending confirmation" until confirmed: SNS POSTs
// a SubscriptionConfirmation carrying a Token to the endpoint, and
// ConfirmSubscription with that token confirms it ("PendingConfirmation"
// false). The endpoint is served here, on loopback.
func snsHTTPSubscriptionConfirmed(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "moto 5.2.1 confirms an http subscription at once and POSTs no SubscriptionConfirmation (Subscribe: for http/https the endpoint owner must confirm with ConfirmSubscription)")
	ctx := e.Context(t)
	docs := make(chan map[string]string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]string
		if json.NewDecoder(r.Body).Decode(&doc) == nil {
			docs <- doc
		}
	}))
	defer srv.Close()
	topic := e.CreateTopic(t, e.Name("web"), nil)
	out, err := e.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("http"), Endpoint: aws.String(srv.URL + "/sns")})
	require.NoError(t, err)
	assert.Equal(t, "pending confirmation", aws.ToString(out.SubscriptionArn))
	var conf map[string]string
	select {
	case conf = <-docs:
	case <-ctx.Done():
		t.Fatal("no SubscriptionConfirmation reached the endpoint")
	}
	assert.Equal(t, "SubscriptionConfirmation", conf["Type"])
	assert.Equal(t, topic, conf["TopicArn"])
	require.NotEmpty(t, conf["Token"])
	confirmed, err := e.SNS.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String(conf["Token"])})
	require.NoError(t, err)
	attrs, err := e.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: confirmed.SubscriptionArn})
	require.NoError(t, err)
	assert.Equal(t, "false", attrs.Attributes["PendingConfirmation"])
}

// otherRegion returns SNS and SQS clients for a second region of the
// target, and its name.
func (e *Env) otherRegion() (*sns.Client, *sqs.Client, string) {
	cfg := e.Config.Copy()
	cfg.Region = "eu-west-1"
	if e.Config.Region == cfg.Region {
		cfg.Region = "us-west-2"
	}
	return sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), cfg.Region
}

// Queues and topics belong to a region: their ARNs name it, and a region's
// ListQueues and GetQueueUrl do not see another region's.
func regionsSeparate(t *testing.T, e *Env) {
	ctx := e.Context(t)
	_, sqsO, region := e.otherRegion()
	name := e.Name("regional")
	e.CreateQueue(t, name, nil) // in the target's own region
	_, err := sqsO.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	var dne *sqstypes.QueueDoesNotExist
	require.ErrorAs(t, err, &dne, "the queue of %s is not in %s", e.Config.Region, region)
	other, err := sqsO.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = sqsO.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: other.QueueUrl}) })
	attrs, err := sqsO.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: other.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(attrs.Attributes["QueueArn"], "arn:aws:sqs:"+region+":"), "%s", attrs.Attributes["QueueArn"])
	list, err := sqsO.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)})
	require.NoError(t, err)
	assert.Equal(t, []string{aws.ToString(other.QueueUrl)}, list.QueueUrls)
}

// A topic delivers to a subscribed queue of another region ("Sending Amazon
// SNS messages to an Amazon SQS queue in a different Region").
func regionsCrossDelivery(t *testing.T, e *Env) {
	ctx := e.Context(t)
	_, sqsO, _ := e.otherRegion()
	topic := e.CreateTopic(t, e.Name("xr"), nil)
	q, err := sqsO.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.Name("xrq"))})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = sqsO.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	attrs, err := sqsO.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	_, err = e.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("cross-region")})
	var got []sqstypes.Message
	e.Eventually(t, "the message in the other region's queue", func() bool {
		out, err := sqsO.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
		require.NoError(t, err)
		got = append(got, out.Messages...)
		return len(got) > 0
	})
	assert.Equal(t, "cross-region", aws.ToString(got[0].Body))
}

// CreatePlatformApplication and CreatePlatformEndpoint store what mobile
// push needs; the same token makes the same endpoint; both delete.
func snsPlatformApplication(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "moto 5.2.1 leaves CustomUserData out of GetEndpointAttributes (AWS: \"CustomUserData – arbitrary user data to associate with the endpoint\")")
	ctx := e.Context(t)
	app, err := e.SNS.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{Name: aws.String(e.Name("app")), Platform: aws.String("GCM"),
		Attributes: map[string]string{"PlatformCredential": "server-key"}})
	require.NoError(t, err)
	arn := aws.ToString(app.PlatformApplicationArn)
	assert.Contains(t, arn, ":app/GCM/")
	defer func() {
		_, err := e.SNS.DeletePlatformApplication(context.Background(), &sns.DeletePlatformApplicationInput{PlatformApplicationArn: app.PlatformApplicationArn})
		assert.NoError(t, err)
	}()
	ep, err := e.SNS.CreatePlatformEndpoint(ctx, &sns.CreatePlatformEndpointInput{PlatformApplicationArn: app.PlatformApplicationArn,
		Token: aws.String("token-" + e.Name("t")), CustomUserData: aws.String("user-1")})
	require.NoError(t, err)
	attrs, err := e.SNS.GetEndpointAttributes(ctx, &sns.GetEndpointAttributesInput{EndpointArn: ep.EndpointArn})
	require.NoError(t, err)
	assert.Equal(t, "user-1", attrs.Attributes["CustomUserData"])
	assert.Equal(t, "true", attrs.Attributes["Enabled"])
	list, err := e.SNS.ListEndpointsByPlatformApplication(ctx, &sns.ListEndpointsByPlatformApplicationInput{PlatformApplicationArn: app.PlatformApplicationArn})
	require.NoError(t, err)
	require.Len(t, list.Endpoints, 1)
	assert.Equal(t, aws.ToString(ep.EndpointArn), aws.ToString(list.Endpoints[0].EndpointArn))
	_, err = e.SNS.DeleteEndpoint(ctx, &sns.DeleteEndpointInput{EndpointArn: ep.EndpointArn})
	require.NoError(t, err)
}

// SetSMSAttributes stores the account's SMS settings, GetSMSAttributes
// returns those asked for, and a number nobody opted out is not opted out.
func snsSMSAttributes(t *testing.T, e *Env) {
	ctx := e.Context(t)
	_, err := e.SNS.SetSMSAttributes(ctx, &sns.SetSMSAttributesInput{Attributes: map[string]string{"DefaultSMSType": "Transactional"}})
	require.NoError(t, err)
	got, err := e.SNS.GetSMSAttributes(ctx, &sns.GetSMSAttributesInput{Attributes: []string{"DefaultSMSType"}})
	require.NoError(t, err)
	assert.Equal(t, "Transactional", got.Attributes["DefaultSMSType"])
	out, err := e.SNS.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("+15555550123")})
	require.NoError(t, err)
	assert.False(t, out.IsOptedOut)
}
