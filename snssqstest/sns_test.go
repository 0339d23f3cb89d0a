package snssqstest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/clock"
)

var snsTestStart = time.Date(2024, 5, 6, 7, 8, 9, 120_000_000, time.UTC)

type snsEnv struct {
	srv *Server
	clk *clock.Fake
	sns *sns.Client
	sqs *sqs.Client
	ctx context.Context
	t   *testing.T
}

func newSNSEnv(t *testing.T) *snsEnv {
	t.Helper()
	clk := clock.NewFake(snsTestStart)
	srv := Run(t, WithClock(clk))
	cfg := srv.AWSConfig()
	return &snsEnv{srv: srv, clk: clk, sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), ctx: context.Background(), t: t}
}

func (e *snsEnv) topic(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	require.NoError(e.t, err)
	return aws.ToString(out.TopicArn)
}

// queue creates a queue and returns its URL and ARN.
func (e *snsEnv) queue(name string) (string, string) {
	e.t.Helper()
	in := &sqs.CreateQueueInput{QueueName: aws.String(name)}
	if strings.HasSuffix(name, ".fifo") {
		in.Attributes = map[string]string{"FifoQueue": "true"}
	}
	out, err := e.sqs.CreateQueue(e.ctx, in)
	require.NoError(e.t, err)
	return aws.ToString(out.QueueUrl), fmt.Sprintf("arn:aws:sqs:%s:%s:%s", e.srv.Region(), e.srv.AccountID(), name)
}

func (e *snsEnv) subscribe(topicARN, queueARN string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN), Attributes: attrs})
	require.NoError(e.t, err)
	return aws.ToString(out.SubscriptionArn)
}

// receive drains up to 10 visible messages, deleting them.
func (e *snsEnv) receive(queueURL string) []sqstypes.Message {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         10,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	require.NoError(e.t, err)
	for _, m := range out.Messages {
		_, err := e.sqs.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
		require.NoError(e.t, err)
	}
	return out.Messages
}

func bodies(msgs []sqstypes.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	sort.Strings(out)
	return out
}

// notificationMessages returns the Message field of each notification body.
func notificationMessages(t *testing.T, msgs []sqstypes.Message) []string {
	t.Helper()
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		var n struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &n))
		out = append(out, n.Message)
	}
	sort.Strings(out)
	return out
}

func requireAPIErrorCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "not an API error: %v", err)
	assert.Equal(t, code, apiErr.ErrorCode(), apiErr.ErrorMessage())
}

func TestSNSTopicLifecycle(t *testing.T) {
	e := newSNSEnv(t)
	arn := e.topic("orders", map[string]string{"DisplayName": "Orders"})
	assert.Equal(t, "arn:aws:sns:us-east-1:000000000000:orders", arn)

	again := e.topic("orders", map[string]string{"DisplayName": "Orders"})
	assert.Equal(t, arn, again, "CreateTopic is idempotent")
	assert.Equal(t, arn, e.topic("orders", nil), "no attributes is not a difference")

	_, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String("orders"), Attributes: map[string]string{"DisplayName": "Other"}})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "%v", err)
	assert.Contains(t, aws.ToString(ip.Message), "already exists with different attributes")

	attrs, err := e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	a := attrs.Attributes
	assert.Equal(t, arn, a["TopicArn"])
	assert.Equal(t, "000000000000", a["Owner"])
	assert.Equal(t, "Orders", a["DisplayName"])
	assert.Equal(t, "0", a["SubscriptionsConfirmed"])
	assert.Equal(t, "0", a["SubscriptionsPending"])
	assert.Equal(t, "0", a["SubscriptionsDeleted"])
	assert.True(t, json.Valid([]byte(a["Policy"])))
	assert.Contains(t, a["Policy"], arn)
	assert.True(t, json.Valid([]byte(a["EffectiveDeliveryPolicy"])))
	assert.NotContains(t, a, "FifoTopic", "standard topics do not report FifoTopic")

	_, err = e.sns.SetTopicAttributes(e.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("Renamed")})
	require.NoError(t, err)
	_, err = e.sns.SetTopicAttributes(e.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("Policy"), AttributeValue: aws.String(`{"Version":"2012-10-17"}`)})
	require.NoError(t, err)
	attrs, err = e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, "Renamed", attrs.Attributes["DisplayName"])
	assert.Equal(t, `{"Version":"2012-10-17"}`, attrs.Attributes["Policy"])

	for _, bad := range []struct{ name, value string }{
		{"NoSuchAttribute", "x"},
		{"FifoTopic", "true"},
		{"ContentBasedDeduplication", "true"}, // only for FIFO topics
		{"Policy", "{not json"},
		{"SignatureVersion", "3"},
	} {
		_, err = e.sns.SetTopicAttributes(e.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String(bad.name), AttributeValue: aws.String(bad.value)})
		require.True(t, errors.As(err, &ip), "%s: %v", bad.name, err)
	}

	list, err := e.sns.ListTopics(e.ctx, &sns.ListTopicsInput{})
	require.NoError(t, err)
	require.Len(t, list.Topics, 1)
	assert.Equal(t, arn, aws.ToString(list.Topics[0].TopicArn))
	assert.Nil(t, list.NextToken)

	_, err = e.sns.DeleteTopic(e.ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	_, err = e.sns.DeleteTopic(e.ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	require.NoError(t, err, "deleting a missing topic is not an error")

	_, err = e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	var nf *snstypes.NotFoundException
	require.True(t, errors.As(err, &nf), "%v", err)
	assert.Equal(t, "Topic does not exist", aws.ToString(nf.Message))
	_, err = e.sns.SetTopicAttributes(e.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("x")})
	require.True(t, errors.As(err, &nf), "%v", err)

	_, err = e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("not-an-arn")})
	require.True(t, errors.As(err, &ip), "%v", err)
}

func TestSNSCreateTopicValidation(t *testing.T) {
	e := newSNSEnv(t)
	for _, tc := range []struct {
		name  string
		attrs map[string]string
	}{
		{"", nil},
		{"has space", nil},
		{strings.Repeat("a", 257), nil},
		{"plain.fifo", nil}, // .fifo needs FifoTopic=true
		{"nofifosuffix", map[string]string{"FifoTopic": "true"}}, // FifoTopic needs .fifo
		{"badbool", map[string]string{"FifoTopic": "yes"}},
		{"cbd", map[string]string{"ContentBasedDeduplication": "true"}},
		{"unknown", map[string]string{"Colour": "blue"}},
	} {
		_, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String(tc.name), Attributes: tc.attrs})
		var ip *snstypes.InvalidParameterException
		assert.True(t, errors.As(err, &ip), "%q %v: %v", tc.name, tc.attrs, err)
	}
	e.topic(strings.Repeat("a", 256), nil)
	e.topic(strings.Repeat("b", 251)+".fifo", map[string]string{"FifoTopic": "true"})
	e.topic("Valid_name-1", nil)
}

func TestSNSFIFOTopicAttributes(t *testing.T) {
	e := newSNSEnv(t)
	arn := e.topic("prices.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	attrs, err := e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["FifoTopic"])
	assert.Equal(t, "true", attrs.Attributes["ContentBasedDeduplication"])
	assert.Equal(t, "Topic", attrs.Attributes["FifoThroughputScope"])

	_, err = e.sns.SetTopicAttributes(e.ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("ContentBasedDeduplication"), AttributeValue: aws.String("false")})
	require.NoError(t, err)
	attrs, err = e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, "false", attrs.Attributes["ContentBasedDeduplication"])

	_, err = e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String("prices.fifo"), Attributes: map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"}})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "re-creating with a different ContentBasedDeduplication: %v", err)
}

func TestSNSListTopicsPaging(t *testing.T) {
	e := newSNSEnv(t)
	want := map[string]bool{}
	for i := 0; i < 205; i++ {
		want[e.topic(fmt.Sprintf("t%03d", i), nil)] = true
	}
	got := map[string]bool{}
	pages := 0
	p := sns.NewListTopicsPaginator(e.sns, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		require.NoError(t, err)
		pages++
		if pages < 3 {
			assert.Len(t, page.Topics, 100)
		}
		for _, tp := range page.Topics {
			assert.False(t, got[aws.ToString(tp.TopicArn)], "duplicate across pages")
			got[aws.ToString(tp.TopicArn)] = true
		}
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, want, got)

	_, err := e.sns.ListTopics(e.ctx, &sns.ListTopicsInput{NextToken: aws.String("%%%")})
	var ip *snstypes.InvalidParameterException
	assert.True(t, errors.As(err, &ip), "%v", err)
}

func TestSNSSubscriptionLifecycle(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	_, qARN := e.queue("orders-q")

	out, err := e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(qARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	subARN := aws.ToString(out.SubscriptionArn)
	assert.True(t, strings.HasPrefix(subARN, topic+":"), subARN)

	again, err := e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(qARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	assert.Equal(t, subARN, aws.ToString(again.SubscriptionArn), "same endpoint and attributes returns the existing subscription")
	again, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(qARN)})
	require.NoError(t, err)
	assert.Equal(t, subARN, aws.ToString(again.SubscriptionArn))

	_, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(qARN),
		Attributes: map[string]string{"RawMessageDelivery": "false"}})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "%v", err)
	assert.Contains(t, aws.ToString(ip.Message), "different attributes")

	attrs, err := e.sns.GetSubscriptionAttributes(e.ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})
	require.NoError(t, err)
	a := attrs.Attributes
	assert.Equal(t, subARN, a["SubscriptionArn"])
	assert.Equal(t, topic, a["TopicArn"])
	assert.Equal(t, "sqs", a["Protocol"])
	assert.Equal(t, qARN, a["Endpoint"])
	assert.Equal(t, "000000000000", a["Owner"])
	assert.Equal(t, "false", a["PendingConfirmation"])
	assert.Equal(t, "true", a["ConfirmationWasAuthenticated"])
	assert.Equal(t, "true", a["RawMessageDelivery"])
	assert.NotContains(t, a, "FilterPolicy")
	assert.NotContains(t, a, "FilterPolicyScope", "no scope without a policy")

	policy := `{"store":["example_corp"]}`
	for name, value := range map[string]string{"FilterPolicy": policy, "RawMessageDelivery": "false",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}`} {
		_, err = e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN), AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		require.NoError(t, err, name)
	}
	attrs, err = e.sns.GetSubscriptionAttributes(e.ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})
	require.NoError(t, err)
	assert.Equal(t, policy, attrs.Attributes["FilterPolicy"])
	assert.Equal(t, "MessageAttributes", attrs.Attributes["FilterPolicyScope"], "the default scope is reported once a policy is set")
	assert.Equal(t, "false", attrs.Attributes["RawMessageDelivery"])
	assert.Contains(t, attrs.Attributes["RedrivePolicy"], "dlq")

	_, err = e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN), AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String("")})
	require.NoError(t, err)
	attrs, err = e.sns.GetSubscriptionAttributes(e.ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})
	require.NoError(t, err)
	assert.NotContains(t, attrs.Attributes, "FilterPolicy", "an empty policy removes it")

	// Counts on the topic.
	topicAttrs, err := e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	assert.Equal(t, "1", topicAttrs.Attributes["SubscriptionsConfirmed"])

	subs, err := e.sns.ListSubscriptions(e.ctx, &sns.ListSubscriptionsInput{})
	require.NoError(t, err)
	require.Len(t, subs.Subscriptions, 1)
	s := subs.Subscriptions[0]
	assert.Equal(t, subARN, aws.ToString(s.SubscriptionArn))
	assert.Equal(t, topic, aws.ToString(s.TopicArn))
	assert.Equal(t, "sqs", aws.ToString(s.Protocol))
	assert.Equal(t, qARN, aws.ToString(s.Endpoint))
	assert.Equal(t, "000000000000", aws.ToString(s.Owner))

	byTopic, err := e.sns.ListSubscriptionsByTopic(e.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	require.Len(t, byTopic.Subscriptions, 1)
	_, err = e.sns.ListSubscriptionsByTopic(e.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic + "-missing")})
	var nf *snstypes.NotFoundException
	require.True(t, errors.As(err, &nf), "%v", err)

	_, err = e.sns.Unsubscribe(e.ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(subARN)})
	require.NoError(t, err)
	_, err = e.sns.Unsubscribe(e.ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(subARN)})
	require.True(t, errors.As(err, &nf), "%v", err)
	_, err = e.sns.GetSubscriptionAttributes(e.ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})
	require.True(t, errors.As(err, &nf), "%v", err)
	assert.Equal(t, "Subscription does not exist", aws.ToString(nf.Message))
	_, err = e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN), AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")})
	require.True(t, errors.As(err, &nf), "%v", err)

	topicAttrs, err = e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	assert.Equal(t, "0", topicAttrs.Attributes["SubscriptionsConfirmed"])
	assert.Equal(t, "1", topicAttrs.Attributes["SubscriptionsDeleted"])
}

func TestSNSSubscribeValidation(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	_, fifoQ := e.queue("orders.fifo")
	cases := []struct {
		name               string
		protocol, endpoint string
		attrs              map[string]string
	}{
		{"unknown protocol", "carrier-pigeon", "x", nil},
		{"sqs endpoint not an ARN", "sqs", "https://sqs.us-east-1.amazonaws.com/000000000000/q", nil},
		{"sqs endpoint is an SNS ARN", "sqs", topic, nil},
		{"FIFO queue on a standard topic", "sqs", fifoQ, nil},
		{"raw delivery not a boolean", "sqs", "arn:aws:sqs:us-east-1:000000000000:q1", map[string]string{"RawMessageDelivery": "yes"}},
		{"invalid filter policy", "sqs", "arn:aws:sqs:us-east-1:000000000000:q2", map[string]string{"FilterPolicy": `{"a":"b"}`}},
		{"nested policy in attribute scope", "sqs", "arn:aws:sqs:us-east-1:000000000000:q3", map[string]string{"FilterPolicy": `{"a":{"b":["c"]}}`}},
		{"bad scope", "sqs", "arn:aws:sqs:us-east-1:000000000000:q4", map[string]string{"FilterPolicyScope": "Headers"}},
		{"bad redrive ARN", "sqs", "arn:aws:sqs:us-east-1:000000000000:q5", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"nope"}`}},
		{"unknown attribute", "sqs", "arn:aws:sqs:us-east-1:000000000000:q6", map[string]string{"Colour": "blue"}},
	}
	for _, tc := range cases {
		_, err := e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String(tc.protocol), Endpoint: aws.String(tc.endpoint), Attributes: tc.attrs})
		var ip *snstypes.InvalidParameterException
		assert.True(t, errors.As(err, &ip), "%s: %v", tc.name, err)
	}
	// A nested policy is fine with MessageBody scope, whatever the attribute order.
	sub := e.subscribe(topic, "arn:aws:sqs:us-east-1:000000000000:q7", map[string]string{"FilterPolicy": `{"a":{"b":["c"]}}`, "FilterPolicyScope": "MessageBody"})
	// ...but the scope cannot then be switched back.
	_, err := e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String("FilterPolicyScope"), AttributeValue: aws.String("MessageAttributes")})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "%v", err)
	_, err = e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String("Endpoint"), AttributeValue: aws.String("x")})
	require.True(t, errors.As(err, &ip), "read-only attribute: %v", err)

	_, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic + "-missing"), Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
	var nf *snstypes.NotFoundException
	require.True(t, errors.As(err, &nf), "%v", err)

	// A subscription to a queue that does not exist yet is accepted, as in AWS.
	e.subscribe(topic, "arn:aws:sqs:us-east-1:000000000000:later", nil)
}

func TestSNSPendingProtocols(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("alerts", nil)
	out, err := e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")})
	require.NoError(t, err)
	assert.Equal(t, "pending confirmation", aws.ToString(out.SubscriptionArn))

	out, err = e.sns.Subscribe(e.ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("https"), Endpoint: aws.String("https://example.com/hook"), ReturnSubscriptionArn: true})
	require.NoError(t, err)
	httpsARN := aws.ToString(out.SubscriptionArn)
	assert.True(t, strings.HasPrefix(httpsARN, topic+":"), httpsARN)

	attrs, err := e.sns.GetSubscriptionAttributes(e.ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(httpsARN)})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["PendingConfirmation"])
	assert.Contains(t, attrs.Attributes, "EffectiveDeliveryPolicy")

	topicAttrs, err := e.sns.GetTopicAttributes(e.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	assert.Equal(t, "2", topicAttrs.Attributes["SubscriptionsPending"])
	assert.Equal(t, "0", topicAttrs.Attributes["SubscriptionsConfirmed"])

	list, err := e.sns.ListSubscriptionsByTopic(e.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	require.Len(t, list.Subscriptions, 2)
	for _, s := range list.Subscriptions {
		assert.Equal(t, "PendingConfirmation", aws.ToString(s.SubscriptionArn))
	}

	// Pending subscriptions never receive anything and do not fail Publish.
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("hi")})
	require.NoError(t, err)
	assert.Zero(t, e.srv.sns.deliveryFailures.Load())
}

func TestSNSListSubscriptionsPaging(t *testing.T) {
	e := newSNSEnv(t)
	a := e.topic("a", nil)
	b := e.topic("b", nil)
	for i := 0; i < 120; i++ {
		e.subscribe(a, fmt.Sprintf("arn:aws:sqs:us-east-1:000000000000:qa%d", i), nil)
		e.subscribe(b, fmt.Sprintf("arn:aws:sqs:us-east-1:000000000000:qb%d", i), nil)
	}
	count := func(pager interface {
		HasMorePages() bool
	}, next func() ([]snstypes.Subscription, error)) (int, int) {
		n, pages := 0, 0
		seen := map[string]bool{}
		for pager.HasMorePages() {
			subs, err := next()
			require.NoError(t, err)
			pages++
			for _, s := range subs {
				require.False(t, seen[aws.ToString(s.SubscriptionArn)], "duplicate across pages")
				seen[aws.ToString(s.SubscriptionArn)] = true
			}
			n += len(subs)
		}
		return n, pages
	}
	all := sns.NewListSubscriptionsPaginator(e.sns, &sns.ListSubscriptionsInput{})
	n, pages := count(all, func() ([]snstypes.Subscription, error) {
		p, err := all.NextPage(e.ctx)
		if err != nil {
			return nil, err
		}
		return p.Subscriptions, nil
	})
	assert.Equal(t, 240, n)
	assert.Equal(t, 3, pages)

	byTopic := sns.NewListSubscriptionsByTopicPaginator(e.sns, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(a)})
	n, pages = count(byTopic, func() ([]snstypes.Subscription, error) {
		p, err := byTopic.NextPage(e.ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range p.Subscriptions {
			if aws.ToString(s.TopicArn) != a {
				return nil, fmt.Errorf("subscription of another topic: %s", aws.ToString(s.TopicArn))
			}
		}
		return p.Subscriptions, nil
	})
	assert.Equal(t, 120, n)
	assert.Equal(t, 2, pages)

	// DeleteTopic removes the topic's subscriptions.
	_, err := e.sns.DeleteTopic(e.ctx, &sns.DeleteTopicInput{TopicArn: aws.String(a)})
	require.NoError(t, err)
	all = sns.NewListSubscriptionsPaginator(e.sns, &sns.ListSubscriptionsInput{})
	n, _ = count(all, func() ([]snstypes.Subscription, error) {
		p, err := all.NextPage(e.ctx)
		if err != nil {
			return nil, err
		}
		return p.Subscriptions, nil
	})
	assert.Equal(t, 120, n)
}

func TestSNSNotificationJSONExact(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	qURL, qARN := e.queue("orders-q")
	subARN := e.subscribe(topic, qARN, nil)

	out, err := e.sns.Publish(e.ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String("Greetings"),
		Message:  aws.String(`hello "world" <&> é`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"store": {DataType: aws.String("String"), StringValue: aws.String("example_corp")},
			"price": {DataType: aws.String("Number"), StringValue: aws.String("42.5")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xff}},
			"tags":  {DataType: aws.String("String.Array"), StringValue: aws.String(`["a","b"]`)},
		},
	})
	require.NoError(t, err)
	msgID := aws.ToString(out.MessageId)
	assert.Nil(t, out.SequenceNumber, "standard topics have no sequence number")

	msgs := e.receive(qURL)
	require.Len(t, msgs, 1)
	body := aws.ToString(msgs[0].Body)

	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	sig, _ := doc["Signature"].(string)
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	assert.Len(t, raw, 20)

	want := "{\n" +
		`  "Type" : "Notification",` + "\n" +
		`  "MessageId" : "` + msgID + `",` + "\n" +
		`  "TopicArn" : "` + topic + `",` + "\n" +
		`  "Subject" : "Greetings",` + "\n" +
		`  "Message" : "hello \"world\" <&> é",` + "\n" +
		`  "Timestamp" : "2024-05-06T07:08:09.120Z",` + "\n" +
		`  "SignatureVersion" : "1",` + "\n" +
		`  "Signature" : "` + sig + `",` + "\n" +
		`  "SigningCertURL" : "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem",` + "\n" +
		`  "UnsubscribeURL" : "` + e.srv.URL() + `/?Action=Unsubscribe&SubscriptionArn=` + subARN + `",` + "\n" +
		`  "MessageAttributes" : {` + "\n" +
		`    "blob" : {"Type":"Binary","Value":"AAEC/w=="},` + "\n" +
		`    "price" : {"Type":"Number","Value":"42.5"},` + "\n" +
		`    "store" : {"Type":"String","Value":"example_corp"},` + "\n" +
		`    "tags" : {"Type":"String.Array","Value":"[\"a\",\"b\"]"}` + "\n" +
		"  }\n" +
		"}"
	assert.Equal(t, want, body)
	assert.Empty(t, msgs[0].MessageAttributes, "attributes travel inside the notification, not as SQS attributes")
	assert.Equal(t, snsSenderID, msgs[0].Attributes["SenderId"])

	// Without subject and attributes, those keys are absent.
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("plain")})
	require.NoError(t, err)
	msgs = e.receive(qURL)
	require.Len(t, msgs, 1)
	body = aws.ToString(msgs[0].Body)
	assert.NotContains(t, body, `"Subject"`)
	assert.NotContains(t, body, `"MessageAttributes"`)
	assert.True(t, strings.HasSuffix(body, `",`+"\n"+`  "UnsubscribeURL" : "`+e.srv.URL()+`/?Action=Unsubscribe&SubscriptionArn=`+subARN+"\"\n}"), body)
}

func TestSNSUnsubscribeURLWorks(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	qURL, qARN := e.queue("orders-q")
	e.subscribe(topic, qARN, nil)
	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")})
	require.NoError(t, err)
	msgs := e.receive(qURL)
	require.Len(t, msgs, 1)
	var n struct{ UnsubscribeURL string }
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n))

	resp, err := testHTTPClient(t).Get(n.UnsubscribeURL)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	subs, err := e.sns.ListSubscriptionsByTopic(e.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	assert.Empty(t, subs.Subscriptions)
}

func TestSNSRawDeliveryCarriesAttributes(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	qURL, qARN := e.queue("raw-q")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})

	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String("ignored for raw"),
		Message:  aws.String(`{"id":1}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"store": {DataType: aws.String("String"), StringValue: aws.String("example_corp")},
			"price": {DataType: aws.String("Number"), StringValue: aws.String("42.5")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xff}},
			"tags":  {DataType: aws.String("String.Array"), StringValue: aws.String(`["a","b"]`)},
		},
	})
	require.NoError(t, err)
	msgs := e.receive(qURL)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, `{"id":1}`, aws.ToString(m.Body))
	require.Len(t, m.MessageAttributes, 4)
	assert.Equal(t, "String", aws.ToString(m.MessageAttributes["store"].DataType))
	assert.Equal(t, "example_corp", aws.ToString(m.MessageAttributes["store"].StringValue))
	assert.Equal(t, "Number", aws.ToString(m.MessageAttributes["price"].DataType))
	assert.Equal(t, "42.5", aws.ToString(m.MessageAttributes["price"].StringValue))
	assert.Equal(t, "Binary", aws.ToString(m.MessageAttributes["blob"].DataType))
	assert.Equal(t, []byte{0, 1, 2, 0xff}, m.MessageAttributes["blob"].BinaryValue)
	assert.Equal(t, "String.Array", aws.ToString(m.MessageAttributes["tags"].DataType))
	assert.Equal(t, `["a","b"]`, aws.ToString(m.MessageAttributes["tags"].StringValue))
	assert.Equal(t, snsSenderID, m.Attributes["SenderId"])
}

func TestSNSMessageStructureJSON(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("orders", nil)
	qURL, qARN := e.queue("q")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})
	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), MessageStructure: aws.String("json"),
		Message: aws.String(`{"default":"for everyone","sqs":"for queues","email":"for people"}`)})
	require.NoError(t, err)
	assert.Equal(t, []string{"for queues"}, bodies(e.receive(qURL)))

	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), MessageStructure: aws.String("json"), Message: aws.String(`{"default":"fallback"}`)})
	require.NoError(t, err)
	assert.Equal(t, []string{"fallback"}, bodies(e.receive(qURL)))

	for _, bad := range []string{`{"sqs":"no default"}`, `not json`} {
		_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), MessageStructure: aws.String("json"), Message: aws.String(bad)})
		var ip *snstypes.InvalidParameterException
		assert.True(t, errors.As(err, &ip), "%s: %v", bad, err)
	}
}

func TestSNSFilterPolicyDelivery(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("events", nil)
	allURL, allARN := e.queue("all")
	attrURL, attrARN := e.queue("by-attribute")
	bodyURL, bodyARN := e.queue("by-body")
	e.subscribe(topic, allARN, map[string]string{"RawMessageDelivery": "true"})
	e.subscribe(topic, attrARN, map[string]string{"RawMessageDelivery": "true",
		"FilterPolicy": `{"store":["example_corp"],"price_usd":[{"numeric":[">=",100]}]}`})
	e.subscribe(topic, bodyARN, map[string]string{"RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
		"FilterPolicy": `{"order":{"status":["placed"]}}`})

	publish := func(msg string, attrs map[string]snstypes.MessageAttributeValue) {
		t.Helper()
		_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(msg), MessageAttributes: attrs})
		require.NoError(t, err)
	}
	str := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	num := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
	}
	publish("m1-attr-match", map[string]snstypes.MessageAttributeValue{"store": str("example_corp"), "price_usd": num("210.75")})
	publish("m2-attr-cheap", map[string]snstypes.MessageAttributeValue{"store": str("example_corp"), "price_usd": num("99")})
	publish("m3-no-attrs", nil)
	publish(`{"order":{"status":"placed","id":3}}`, nil)
	publish(`{"order":{"status":"cancelled"}}`, map[string]snstypes.MessageAttributeValue{"store": str("example_corp"), "price_usd": num("100")})

	assert.Len(t, e.receive(allURL), 5)
	assert.Equal(t, []string{"m1-attr-match", `{"order":{"status":"cancelled"}}`}, bodies(e.receive(attrURL)))
	assert.Equal(t, []string{`{"order":{"status":"placed","id":3}}`}, bodies(e.receive(bodyURL)))

	// Changing the policy applies to the next publish.
	subs, err := e.sns.ListSubscriptionsByTopic(e.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	for _, s := range subs.Subscriptions {
		if aws.ToString(s.Endpoint) == attrARN {
			_, err = e.sns.SetSubscriptionAttributes(e.ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn,
				AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"store":[{"prefix":"other"}]}`)})
			require.NoError(t, err)
		}
	}
	publish("m6", map[string]snstypes.MessageAttributeValue{"store": str("example_corp")})
	publish("m7", map[string]snstypes.MessageAttributeValue{"store": str("other_corp")})
	assert.Equal(t, []string{"m7"}, bodies(e.receive(attrURL)))
}

func TestSNSFIFOTopicToFIFOQueue(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("prices.fifo", map[string]string{"FifoTopic": "true"})
	qURL, qARN := e.queue("prices.fifo")
	rawURL, rawARN := e.queue("prices-raw.fifo")
	stdURL, stdARN := e.queue("prices-standard")
	subARN := e.subscribe(topic, qARN, nil)
	e.subscribe(topic, rawARN, map[string]string{"RawMessageDelivery": "true"})
	e.subscribe(topic, stdARN, map[string]string{"RawMessageDelivery": "true"})

	pub := func(msg, group, dedup string) *sns.PublishOutput {
		t.Helper()
		out, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(msg),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)})
		require.NoError(t, err)
		return out
	}
	first := pub("p1", "g1", "d1")
	second := pub("p2", "g1", "d2")
	require.NotNil(t, first.SequenceNumber)
	require.NotNil(t, second.SequenceNumber)
	assert.Len(t, aws.ToString(first.SequenceNumber), 20)
	assert.Less(t, aws.ToString(first.SequenceNumber), aws.ToString(second.SequenceNumber))

	msgs := e.receive(qURL)
	require.Len(t, msgs, 2)
	assert.Equal(t, "g1", msgs[0].Attributes["MessageGroupId"])
	assert.Equal(t, "d1", msgs[0].Attributes["MessageDeduplicationId"])
	assert.Equal(t, "d2", msgs[1].Attributes["MessageDeduplicationId"])
	body := aws.ToString(msgs[0].Body)
	want := "{\n" +
		`  "Type" : "Notification",` + "\n" +
		`  "MessageId" : "` + aws.ToString(first.MessageId) + `",` + "\n" +
		`  "SequenceNumber" : "` + aws.ToString(first.SequenceNumber) + `",` + "\n" +
		`  "TopicArn" : "` + topic + `",` + "\n" +
		`  "Message" : "p1",` + "\n" +
		`  "Timestamp" : "2024-05-06T07:08:09.120Z",` + "\n" +
		`  "UnsubscribeURL" : "` + e.srv.URL() + `/?Action=Unsubscribe&SubscriptionArn=` + subARN + `"` + "\n" +
		"}"
	assert.Equal(t, want, body, "FIFO notifications carry SequenceNumber and no signature, as in AWS")

	raw := e.receive(rawURL)
	require.Len(t, raw, 2)
	assert.Equal(t, "p1", aws.ToString(raw[0].Body))
	assert.Equal(t, "g1", raw[0].Attributes["MessageGroupId"])
	assert.Equal(t, "d1", raw[0].Attributes["MessageDeduplicationId"])
	std := e.receive(stdURL)
	require.Len(t, std, 2, "a FIFO topic also delivers to standard queues")
	assert.NotContains(t, std[0].Attributes, "MessageGroupId")

	// A duplicate inside the window is accepted, answered with the original
	// ids, and not delivered.
	dup := pub("p1 again", "g1", "d1")
	assert.Equal(t, aws.ToString(first.MessageId), aws.ToString(dup.MessageId))
	assert.Equal(t, aws.ToString(first.SequenceNumber), aws.ToString(dup.SequenceNumber))
	e.clk.Advance(snsDedupWindow - time.Second)
	pub("p1 still a duplicate", "g1", "d1")
	assert.Empty(t, e.receive(qURL))
	assert.Empty(t, e.receive(rawURL))

	// Past the window the same id is a new message.
	e.clk.Advance(2 * time.Second)
	third := pub("p1 after window", "g1", "d1")
	assert.NotEqual(t, aws.ToString(first.MessageId), aws.ToString(third.MessageId))
	assert.Greater(t, aws.ToString(third.SequenceNumber), aws.ToString(second.SequenceNumber))
	assert.Equal(t, []string{"p1 after window"}, bodies(e.receive(rawURL)))
	assert.Equal(t, []string{"p1 after window"}, notificationMessages(t, e.receive(qURL)))
}

func TestSNSFIFOContentBasedDeduplication(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("cbd.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	qURL, qARN := e.queue("cbd.fifo")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})
	for _, m := range []string{"same", "same", "different"} {
		_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(m), MessageGroupId: aws.String("g")})
		require.NoError(t, err)
	}
	msgs := e.receive(qURL)
	assert.Equal(t, []string{"different", "same"}, bodies(msgs))
	for _, m := range msgs {
		assert.Len(t, m.Attributes["MessageDeduplicationId"], 64, "the SHA-256 of the body is passed on")
	}
}

func TestSNSFIFOPublishErrors(t *testing.T) {
	e := newSNSEnv(t)
	fifo := e.topic("t.fifo", map[string]string{"FifoTopic": "true"})
	std := e.topic("t", nil)
	cases := []struct {
		name string
		in   *sns.PublishInput
		want string
	}{
		{"FIFO without group", &sns.PublishInput{TopicArn: aws.String(fifo), Message: aws.String("m"), MessageDeduplicationId: aws.String("d")}, "MessageGroupId parameter is required"},
		{"FIFO without dedup id", &sns.PublishInput{TopicArn: aws.String(fifo), Message: aws.String("m"), MessageGroupId: aws.String("g")}, "ContentBasedDeduplication"},
		{"standard with a bad group", &sns.PublishInput{TopicArn: aws.String(std), Message: aws.String("m"), MessageGroupId: aws.String(strings.Repeat("g", 129))}, "MessageGroupId"},
		{"standard with dedup id", &sns.PublishInput{TopicArn: aws.String(std), Message: aws.String("m"), MessageDeduplicationId: aws.String("d")}, "MessageDeduplicationId"},
		{"group id too long", &sns.PublishInput{TopicArn: aws.String(fifo), Message: aws.String("m"), MessageGroupId: aws.String(strings.Repeat("g", 129)), MessageDeduplicationId: aws.String("d")}, "MessageGroupId"},
	}
	for _, tc := range cases {
		_, err := e.sns.Publish(e.ctx, tc.in)
		var ip *snstypes.InvalidParameterException
		if assert.True(t, errors.As(err, &ip), "%s: %v", tc.name, err) {
			assert.Contains(t, aws.ToString(ip.Message), tc.want, tc.name)
		}
	}
}

func TestSNSPublishValidation(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("t", nil)
	str := snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}

	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic + "-missing"), Message: aws.String("m")})
	var nf *snstypes.NotFoundException
	require.True(t, errors.As(err, &nf), "%v", err)
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TargetArn: aws.String(topic), Message: aws.String("via TargetArn")})
	require.NoError(t, err)

	invalidParameter := []struct {
		name string
		in   *sns.PublishInput
	}{
		{"empty message", &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("")}},
		{"subject too long", &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 101))}},
		{"subject with newline", &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String("a\nb")}},
		{"bad topic ARN", &sns.PublishInput{TopicArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), Message: aws.String("m")}},
		{"no target", &sns.PublishInput{Message: aws.String("m")}},
		{"too many attributes", &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"a1": str, "a2": str, "a3": str, "a4": str, "a5": str, "a6": str, "a7": str, "a8": str, "a9": str, "a10": str, "a11": str}}},
	}
	for _, tc := range invalidParameter {
		_, err := e.sns.Publish(e.ctx, tc.in)
		var ip *snstypes.InvalidParameterException
		assert.True(t, errors.As(err, &ip), "%s: %v", tc.name, err)
	}
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 100))})
	require.NoError(t, err, "a 100-character subject is allowed")

	invalidValue := []struct {
		name string
		attr snstypes.MessageAttributeValue
		key  string
	}{
		{"bad data type", snstypes.MessageAttributeValue{DataType: aws.String("Integer"), StringValue: aws.String("1")}, "n"},
		{"number not numeric", snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String("abc")}, "n"},
		{"empty string value", snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("")}, "n"},
		{"reserved name", str, "AWS.Trace"},
		{"name with space", str, "has space"},
		{"String.Array not an array", snstypes.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(`"x"`)}, "n"},
	}
	for _, tc := range invalidValue {
		_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{tc.key: tc.attr}})
		var iv *snstypes.InvalidParameterValueException
		assert.True(t, errors.As(err, &iv), "%s: %v", tc.name, err)
	}
	// Custom type suffixes are allowed.
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"n": {DataType: aws.String("Number.float"), StringValue: aws.String("1.5")}}})
	require.NoError(t, err)
}

func TestSNSPublishSizeLimit(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("big", nil)

	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(strings.Repeat("x", 262144))})
	require.NoError(t, err, "exactly 256 KiB is allowed")
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(strings.Repeat("x", 262145))})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "%v", err)
	assert.Equal(t, "Invalid parameter: Message too long", aws.ToString(ip.Message))

	// Attributes count: name + data type + value.
	attrs := map[string]snstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("vv")}} // 1+6+2 = 9 bytes
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(strings.Repeat("x", 262144-9)), MessageAttributes: attrs})
	require.NoError(t, err)
	_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(strings.Repeat("x", 262144-8)), MessageAttributes: attrs})
	require.True(t, errors.As(err, &ip), "%v", err)
}

func TestSNSPublishBatch(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("batch", nil)
	qURL, qARN := e.queue("batch-q")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})

	out, err := e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("ok1"), Message: aws.String("one"), MessageAttributes: map[string]snstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
		{Id: aws.String("bad"), Message: aws.String("")},
		{Id: aws.String("ok2"), Message: aws.String("two"), Subject: aws.String("s")},
		{Id: aws.String("badattr"), Message: aws.String("x"), MessageAttributes: map[string]snstypes.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("NaN-ish")}}},
	}})
	require.NoError(t, err)
	require.Len(t, out.Successful, 2)
	assert.Equal(t, "ok1", aws.ToString(out.Successful[0].Id))
	assert.Equal(t, "ok2", aws.ToString(out.Successful[1].Id))
	assert.NotEmpty(t, aws.ToString(out.Successful[0].MessageId))
	assert.Nil(t, out.Successful[0].SequenceNumber)
	require.Len(t, out.Failed, 2)
	assert.Equal(t, "bad", aws.ToString(out.Failed[0].Id))
	assert.Equal(t, "InvalidParameter", aws.ToString(out.Failed[0].Code))
	assert.Equal(t, "Invalid parameter: Empty message", aws.ToString(out.Failed[0].Message))
	assert.True(t, out.Failed[0].SenderFault)
	assert.Equal(t, "badattr", aws.ToString(out.Failed[1].Id))
	assert.Equal(t, "ParameterValueInvalid", aws.ToString(out.Failed[1].Code))

	msgs := e.receive(qURL)
	assert.Equal(t, []string{"one", "two"}, bodies(msgs))
	for _, m := range msgs {
		if aws.ToString(m.Body) == "one" {
			assert.Equal(t, "v", aws.ToString(m.MessageAttributes["k"].StringValue))
		}
	}

	entries := func(n int, size int) []snstypes.PublishBatchRequestEntry {
		var out []snstypes.PublishBatchRequestEntry
		for i := 0; i < n; i++ {
			out = append(out, snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprintf("e%d", i)), Message: aws.String(strings.Repeat("x", size))})
		}
		return out
	}

	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{}})
	var empty *snstypes.EmptyBatchRequestException
	require.True(t, errors.As(err, &empty), "%v", err)

	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries(11, 1)})
	var tooMany *snstypes.TooManyEntriesInBatchRequestException
	require.True(t, errors.As(err, &tooMany), "%v", err)

	dup := entries(2, 1)
	dup[1].Id = dup[0].Id
	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: dup})
	var notDistinct *snstypes.BatchEntryIdsNotDistinctException
	require.True(t, errors.As(err, &notDistinct), "%v", err)

	badID := entries(1, 1)
	badID[0].Id = aws.String("has space")
	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: badID})
	var invalidID *snstypes.InvalidBatchEntryIdException
	require.True(t, errors.As(err, &invalidID), "%v", err)

	// 4 x 65536 = 262144 is the limit; one more byte is too long.
	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries(4, 65536)})
	require.NoError(t, err)
	over := entries(4, 65536)
	over[3].Message = aws.String(strings.Repeat("x", 65537))
	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: over})
	var tooLong *snstypes.BatchRequestTooLongException
	require.True(t, errors.As(err, &tooLong), "%v", err)
	assert.Len(t, e.receive(qURL), 4, "only the successful batch was delivered")

	_, err = e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic + "-missing"), PublishBatchRequestEntries: entries(1, 1)})
	var nf *snstypes.NotFoundException
	require.True(t, errors.As(err, &nf), "%v", err)
}

func TestSNSPublishBatchFIFO(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("b.fifo", map[string]string{"FifoTopic": "true"})
	qURL, qARN := e.queue("b.fifo")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})
	out, err := e.sns.PublishBatch(e.ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("1"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d1")},
		{Id: aws.String("b"), Message: aws.String("2"), MessageDeduplicationId: aws.String("d2")},
		{Id: aws.String("c"), Message: aws.String("3"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d3")},
		{Id: aws.String("d"), Message: aws.String("1 again"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d1")},
	}})
	require.NoError(t, err)
	require.Len(t, out.Successful, 3)
	require.Len(t, out.Failed, 1)
	assert.Equal(t, "b", aws.ToString(out.Failed[0].Id))
	assert.Less(t, aws.ToString(out.Successful[0].SequenceNumber), aws.ToString(out.Successful[1].SequenceNumber))
	assert.Equal(t, aws.ToString(out.Successful[0].MessageId), aws.ToString(out.Successful[2].MessageId), "duplicate in the same batch")
	msgs := e.receive(qURL)
	require.Len(t, msgs, 2)
	assert.Equal(t, "1", aws.ToString(msgs[0].Body))
	assert.Equal(t, "3", aws.ToString(msgs[1].Body))
}

func TestSNSRedriveToDeadLetterQueue(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("t", nil)
	dlqURL, dlqARN := e.queue("sns-dlq")
	e.subscribe(topic, "arn:aws:sqs:us-east-1:000000000000:does-not-exist", map[string]string{
		"RawMessageDelivery": "true",
		"RedrivePolicy":      `{"deadLetterTargetArn":"` + dlqARN + `"}`,
	})
	e.subscribe(topic, "arn:aws:sqs:us-east-1:000000000000:also-missing", nil)
	_, err := e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("undeliverable")})
	require.NoError(t, err, "delivery failures do not fail Publish")
	assert.Equal(t, []string{"undeliverable"}, bodies(e.receive(dlqURL)))
	assert.Equal(t, int64(1), e.srv.sns.deliveryFailures.Load(), "the subscription without a DLQ lost its message")
}

func TestSNSTags(t *testing.T) {
	e := newSNSEnv(t)
	out, err := e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String("tagged"), Tags: []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	require.NoError(t, err)
	arn := out.TopicArn
	_, err = e.sns.TagResource(e.ctx, &sns.TagResourceInput{ResourceArn: arn, Tags: []snstypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})
	require.NoError(t, err)
	list, err := e.sns.ListTagsForResource(e.ctx, &sns.ListTagsForResourceInput{ResourceArn: arn})
	require.NoError(t, err)
	require.Len(t, list.Tags, 2)
	assert.Equal(t, "env", aws.ToString(list.Tags[0].Key))
	assert.Equal(t, "team", aws.ToString(list.Tags[1].Key))
	_, err = e.sns.UntagResource(e.ctx, &sns.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team"}})
	require.NoError(t, err)
	list, err = e.sns.ListTagsForResource(e.ctx, &sns.ListTagsForResourceInput{ResourceArn: arn})
	require.NoError(t, err)
	require.Len(t, list.Tags, 1)

	_, err = e.sns.CreateTopic(e.ctx, &sns.CreateTopicInput{Name: aws.String("tagged"), Tags: []snstypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	var ip *snstypes.InvalidParameterException
	require.True(t, errors.As(err, &ip), "re-creating with different tags: %v", err)

	_, err = e.sns.ListTagsForResource(e.ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(aws.ToString(arn) + "-missing")})
	var rnf *snstypes.ResourceNotFoundException
	require.True(t, errors.As(err, &rnf), "%v", err)
}

// testHTTPClient is a plain HTTP client whose idle connections are closed
// when the test ends, so no transport goroutines outlive it.
func testHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// postForm sends an unsigned query-protocol request, as old SDKs and curl do.
func postForm(t *testing.T, srv *Server, form url.Values) (int, string) {
	t.Helper()
	resp, err := testHTTPClient(t).PostForm(srv.URL()+"/", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "text/xml", resp.Header.Get("Content-Type"))
	return resp.StatusCode, string(b)
}

func TestSNSQueryProtocolByHand(t *testing.T) {
	srv := Run(t)

	status, body := postForm(t, srv, url.Values{"Action": {"CreateTopic"}, "Version": {"2010-03-31"}, "Name": {"hand"},
		"Attributes.entry.1.key": {"DisplayName"}, "Attributes.entry.1.value": {"By hand"}})
	require.Equal(t, http.StatusOK, status, body)
	var created struct {
		XMLName  xml.Name
		TopicArn string `xml:"CreateTopicResult>TopicArn"`
		ReqID    string `xml:"ResponseMetadata>RequestId"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &created))
	assert.Equal(t, xml.Name{Space: snsXMLNamespace, Local: "CreateTopicResponse"}, created.XMLName)
	assert.Equal(t, "arn:aws:sns:us-east-1:000000000000:hand", created.TopicArn)
	assert.NotEmpty(t, created.ReqID)

	status, body = postForm(t, srv, url.Values{"Action": {"GetTopicAttributes"}, "TopicArn": {created.TopicArn}})
	require.Equal(t, http.StatusOK, status, body)
	var attrs struct {
		Entries []struct {
			Key   string `xml:"key"`
			Value string `xml:"value"`
		} `xml:"GetTopicAttributesResult>Attributes>entry"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &attrs))
	got := map[string]string{}
	for _, en := range attrs.Entries {
		got[en.Key] = en.Value
	}
	assert.Equal(t, "By hand", got["DisplayName"])

	status, body = postForm(t, srv, url.Values{"Action": {"Publish"}, "TopicArn": {created.TopicArn}, "Message": {"hi"},
		"MessageAttributes.entry.1.Name": {"b"}, "MessageAttributes.entry.1.Value.DataType": {"Binary"},
		"MessageAttributes.entry.1.Value.BinaryValue": {base64.StdEncoding.EncodeToString([]byte("bin"))}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Regexp(t, `^<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>[0-9a-f-]{36}</MessageId></PublishResult><ResponseMetadata><RequestId>[0-9a-f-]{36}</RequestId></ResponseMetadata></PublishResponse>$`, body)

	status, body = postForm(t, srv, url.Values{"Action": {"DeleteTopic"}, "TopicArn": {created.TopicArn}})
	require.Equal(t, http.StatusOK, status, body)
	assert.NotContains(t, body, "DeleteTopicResult", "actions without output have no result element")
	assert.Contains(t, body, "<DeleteTopicResponse")

	status, body = postForm(t, srv, url.Values{"Action": {"GetTopicAttributes"}, "TopicArn": {created.TopicArn}})
	assert.Equal(t, http.StatusNotFound, status)
	var errResp struct {
		XMLName xml.Name
		Type    string `xml:"Error>Type"`
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
		ReqID   string `xml:"RequestId"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &errResp), body)
	assert.Equal(t, xml.Name{Space: snsXMLNamespace, Local: "ErrorResponse"}, errResp.XMLName)
	assert.Equal(t, "Sender", errResp.Type)
	assert.Equal(t, "NotFound", errResp.Code)
	assert.Equal(t, "Topic does not exist", errResp.Message)
	assert.NotEmpty(t, errResp.ReqID)

	status, body = postForm(t, srv, url.Values{"Action": {"CreateTopic"}, "Name": {"bad name"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidParameter</Code>")

	status, body = postForm(t, srv, url.Values{"Action": {"NoSuchAction"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidAction</Code>", "an action SNS does not have")
	status, body = postForm(t, srv, url.Values{"Action": {"CreatePlatformApplication"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidParameter</Code>", "a platform application needs a name")

	status, body = postForm(t, srv, url.Values{"Action": {"PublishBatch"}, "TopicArn": {"arn:aws:sns:us-east-1:000000000000:x"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>EmptyBatchRequest</Code>")

	assert.Equal(t, int64(1), srv.Requests()["sns:Publish"])
}

func TestSNSConcurrentPublishIsRaceFree(t *testing.T) {
	e := newSNSEnv(t)
	topic := e.topic("c.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	qURL, qARN := e.queue("c.fifo")
	e.subscribe(topic, qARN, map[string]string{"RawMessageDelivery": "true"})
	done := make(chan error)
	for w := 0; w < 4; w++ {
		go func(w int) {
			var err error
			for i := 0; i < 5 && err == nil; i++ {
				_, err = e.sns.Publish(e.ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(fmt.Sprintf("w%d-%d", w, i)), MessageGroupId: aws.String(fmt.Sprintf("g%d", w))})
			}
			done <- err
		}(w)
	}
	for w := 0; w < 4; w++ {
		require.NoError(t, <-done)
	}
	// Each group's messages arrive in publish order.
	last := map[string]string{}
	total := 0
	for {
		msgs := e.receive(qURL)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			g := m.Attributes["MessageGroupId"]
			assert.Less(t, last[g], aws.ToString(m.Body), "group %s out of order", g)
			last[g] = aws.ToString(m.Body)
			total++
		}
	}
	assert.Equal(t, 20, total)
}
