package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func snsScenarios() []Scenario {
	return []Scenario{
		{Name: "SNS/TopicLifecycle", Run: snsTopicLifecycle},
		{Name: "SNS/CreateTopicIdempotent", Run: snsCreateTopicIdempotent},
		{Name: "SNS/SubscriptionLifecycle", Run: snsSubscriptionLifecycle},
		{Name: "SNS/SubscriptionsConfirmed", Run: snsSubscriptionsConfirmed},
		{Name: "SNS/DeleteTopicDeletesSubscriptions", Run: snsDeleteTopicDeletesSubscriptions},
	}
}

// listTopicARNs pages through ListTopics.
func (e *Env) listTopicARNs(t *testing.T) []string {
	t.Helper()
	var arns []string
	p := sns.NewListTopicsPaginator(e.SNS, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(e.Context(t))
		require.NoError(t, err)
		for _, tp := range page.Topics {
			arns = append(arns, aws.ToString(tp.TopicArn))
		}
	}
	return arns
}

// listSubscriptionARNs pages through ListSubscriptionsByTopic.
func (e *Env) listSubscriptions(t *testing.T, topic string) []snstypes.Subscription {
	t.Helper()
	var subs []snstypes.Subscription
	p := sns.NewListSubscriptionsByTopicPaginator(e.SNS, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.Context(t))
		require.NoError(t, err)
		subs = append(subs, page.Subscriptions...)
	}
	return subs
}

// CreateTopic, GetTopicAttributes, SetTopicAttributes, ListTopics,
// DeleteTopic ("This action is idempotent, so deleting a topic that does
// not exist does not result in an error").
func snsTopicLifecycle(t *testing.T, e *Env) {
	ctx := e.Context(t)
	name := e.Name("topic")
	arn := e.CreateTopic(t, name, nil)
	assert.Regexp(t, `^arn:aws:sns:`+e.Config.Region+`:\d{12}:`+name+`$`, arn)

	attrs, err := e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, arn, attrs.Attributes["TopicArn"])
	assert.Equal(t, accountOf(arn), attrs.Attributes["Owner"])
	assert.Equal(t, "0", attrs.Attributes["SubscriptionsConfirmed"])
	assert.Equal(t, "0", attrs.Attributes["SubscriptionsPending"])

	_, err = e.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{
		TopicArn: aws.String(arn), AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("Conformance"),
	})
	require.NoError(t, err)
	attrs, err = e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, "Conformance", attrs.Attributes["DisplayName"])

	assert.Contains(t, e.listTopicARNs(t), arn, "ListTopics lists the new topic")

	_, err = e.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	e.Eventually(t, "deleted topic is not found", func() bool {
		_, err := e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
		var nf *snstypes.NotFoundException
		return errors.As(err, &nf)
	})
	assert.NotContains(t, e.listTopicARNs(t), arn, "ListTopics no longer lists the deleted topic")
	_, err = e.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	assert.NoError(t, err, "deleting a topic that does not exist does not result in an error")
}

// CreateTopic: "This action is idempotent, so if the requester already owns
// a topic with the specified name, that topic's ARN is returned without
// creating a new topic."
func snsCreateTopicIdempotent(t *testing.T, e *Env) {
	ctx := e.Context(t)
	name := e.Name("idem")
	arn := e.CreateTopic(t, name, nil)
	again, err := e.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	require.NoError(t, err)
	assert.Equal(t, arn, aws.ToString(again.TopicArn))

	fifo := e.CreateTopic(t, e.Name("idem")+".fifo", map[string]string{"ContentBasedDeduplication": "true"})
	attrs, err := e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(fifo)})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["FifoTopic"])
	assert.Equal(t, "true", attrs.Attributes["ContentBasedDeduplication"])
}

// Subscribe (SQS subscriptions in the same account need no confirmation),
// ListSubscriptionsByTopic, Get/SetSubscriptionAttributes, Unsubscribe.
func snsSubscriptionLifecycle(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("subs"), nil)
	q := e.CreateQueue(t, e.Name("subs"), nil)
	sub := e.SubscribeQueue(t, topic, q, nil)

	again, err := e.SNS.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(q.ARN), ReturnSubscriptionArn: true,
	})
	require.NoError(t, err)
	assert.Equal(t, sub, aws.ToString(again.SubscriptionArn), "subscribing the same endpoint again returns the existing subscription")

	subs := e.listSubscriptions(t, topic)
	require.Len(t, subs, 1)
	assert.Equal(t, sub, aws.ToString(subs[0].SubscriptionArn))
	assert.Equal(t, "sqs", aws.ToString(subs[0].Protocol))
	assert.Equal(t, q.ARN, aws.ToString(subs[0].Endpoint))
	assert.Equal(t, topic, aws.ToString(subs[0].TopicArn))
	assert.Equal(t, accountOf(topic), aws.ToString(subs[0].Owner))

	attrs, err := e.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
	require.NoError(t, err)
	for k, v := range map[string]string{
		"SubscriptionArn":     sub,
		"TopicArn":            topic,
		"Protocol":            "sqs",
		"Endpoint":            q.ARN,
		"PendingConfirmation": "false",
		"RawMessageDelivery":  "false",
	} {
		assert.Equal(t, v, attrs.Attributes[k], "subscription attribute %s", k)
	}

	_, err = e.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
		SubscriptionArn: aws.String(sub), AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true"),
	})
	require.NoError(t, err)
	_, err = e.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
		SubscriptionArn: aws.String(sub), AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"k":["v"]}`),
	})
	require.NoError(t, err)
	attrs, err = e.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
	require.NoError(t, err)
	assert.Equal(t, "true", attrs.Attributes["RawMessageDelivery"])
	assert.JSONEq(t, `{"k":["v"]}`, attrs.Attributes["FilterPolicy"])

	_, err = e.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)})
	require.NoError(t, err)
	assert.Empty(t, e.listSubscriptions(t, topic), "Unsubscribe removes the subscription")
}

// GetTopicAttributes: "SubscriptionsConfirmed – The number of confirmed
// subscriptions for the topic" (SQS subscriptions in the same account are
// confirmed on Subscribe).
func snsSubscriptionsConfirmed(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "GetTopicAttributes documents SubscriptionsConfirmed as the number of confirmed subscriptions; moto reports 0 for a topic with a confirmed SQS subscription")
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("confirmed"), nil)
	for i := range 2 {
		e.SubscribeQueue(t, topic, e.CreateQueue(t, e.Name(fmt.Sprintf("confirmed%d", i)), nil), nil)
	}
	e.Eventually(t, "SubscriptionsConfirmed counts both subscriptions", func() bool {
		attrs, err := e.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
		require.NoError(t, err)
		return attrs.Attributes["SubscriptionsConfirmed"] == "2"
	})
}

// DeleteTopic: "Deletes a topic and all its subscriptions."
func snsDeleteTopicDeletesSubscriptions(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("deltopic"), nil)
	sub := e.SubscribeQueue(t, topic, e.CreateQueue(t, e.Name("deltopic"), nil), nil)
	_, err := e.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	e.Eventually(t, "the subscription went with its topic", func() bool {
		_, err := e.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
		var nf *snstypes.NotFoundException
		return errors.As(err, &nf)
	})
}
