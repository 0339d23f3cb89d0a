package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

func libraryProvisionScenarios() []Scenario {
	return []Scenario{
		{Name: "Library/ProvisionIdempotent", Run: libraryProvisionIdempotent},
	}
}

// Provision run twice with the same spec returns the same Topology and
// creates nothing more (one subscription per queue); every queue's policy
// lets exactly the topic (aws:SourceArn) send to it; the dead-letter queue,
// redrive policy, visibility timeout and subscription attributes are as
// specified. A third run with a changed spec updates the subscription in
// place.
func libraryProvisionIdempotent(t *testing.T, e *Env) {
	ctx := e.Context(t)
	workName, rawName := e.Name("lib-prov-work"), e.Name("lib-prov-raw")
	filter := `{"` + snssqs.EventTypeAttribute + `":["` + typeCardCreated + `"]}`
	spec := provision.TopologySpec{
		TopicName: e.Name("lib-prov"),
		Queues: []provision.QueueSpec{
			{Name: workName, DeadLetterQueue: true, MaxReceiveCount: 3, VisibilityTimeout: 45 * time.Second},
			{Name: rawName, RawMessageDelivery: true, FilterPolicy: filter},
		},
	}
	first := e.Provision(t, spec)
	second, err := provision.Apply(ctx, e.SNS, e.SQS, spec)
	require.NoError(t, err, "second Provision")
	require.Equal(t, *first, *second, "Provision is idempotent")

	subs, err := e.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(first.TopicARN)})
	require.NoError(t, err)
	assert.Len(t, subs.Subscriptions, len(spec.Queues), "one subscription per queue after two runs")

	for name, q := range first.Queues {
		assert.Equal(t, e.QueueARN(t, q.URL), q.ARN, "queue %s ARN", name)
		attrs := e.QueueAttributes(t, q.URL, sqstypes.QueueAttributeNamePolicy)
		requireTopicMaySend(t, attrs[string(sqstypes.QueueAttributeNamePolicy)], q.ARN, first.TopicARN)
	}

	work := first.Queues[workName]
	require.NotEmpty(t, work.DeadLetterURL)
	assert.True(t, strings.HasSuffix(work.DeadLetterURL, "/"+provision.DeadLetterQueueName(workName)), "dead-letter queue %s named after its queue", work.DeadLetterURL)
	assert.Equal(t, e.QueueARN(t, work.DeadLetterURL), work.DeadLetterARN)
	attrs := e.QueueAttributes(t, work.URL, sqstypes.QueueAttributeNameRedrivePolicy, sqstypes.QueueAttributeNameVisibilityTimeout)
	assert.Equal(t, "45", attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	var redrive struct {
		DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.Number `json:"maxReceiveCount"` // a string on AWS, a number on some emulators
	}
	require.NoError(t, json.Unmarshal([]byte(attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)]), &redrive))
	assert.Equal(t, work.DeadLetterARN, redrive.DeadLetterTargetArn)
	assert.Equal(t, "3", redrive.MaxReceiveCount.String())
	assert.Empty(t, first.Queues[rawName].DeadLetterURL, "no dead-letter queue unless asked")

	raw := first.Queues[rawName]
	sa := e.subscriptionAttributes(t, raw.SubscriptionARN)
	assert.Equal(t, "true", sa["RawMessageDelivery"])
	assert.JSONEq(t, filter, sa["FilterPolicy"])
	assert.Equal(t, "false", e.subscriptionAttributes(t, work.SubscriptionARN)["RawMessageDelivery"])

	// A changed spec updates the subscription in place.
	spec.Queues[1].RawMessageDelivery = false
	spec.Queues[1].FilterPolicy = ""
	third, err := provision.Apply(ctx, e.SNS, e.SQS, spec)
	require.NoError(t, err, "Provision with a changed spec")
	assert.Equal(t, *first, *third, "same resources after an update")
	sa = e.subscriptionAttributes(t, raw.SubscriptionARN)
	assert.Equal(t, "false", sa["RawMessageDelivery"], "RawMessageDelivery turned off")
	assert.Empty(t, sa["FilterPolicy"], "filter policy removed")
}

// subscriptionAttributes returns the attributes of the subscription arn.
func (e *Env) subscriptionAttributes(t *testing.T, arn string) map[string]string {
	t.Helper()
	out, err := e.SNS.GetSubscriptionAttributes(e.Context(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
	require.NoError(t, err, "GetSubscriptionAttributes %s", arn)
	return out.Attributes
}

// requireTopicMaySend asserts that policy has a statement allowing the SNS
// service to sqs:SendMessage to queueARN, conditioned on aws:SourceArn being
// topicARN (the policy the SNS developer guide prescribes for SQS
// subscriptions).
func requireTopicMaySend(t *testing.T, policy, queueARN, topicARN string) {
	t.Helper()
	require.NotEmpty(t, policy, "queue %s has a policy", queueARN)
	var doc struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Principal json.RawMessage
			Action    json.RawMessage
			Resource  json.RawMessage
			Condition map[string]map[string]json.RawMessage
		}
	}
	require.NoError(t, json.Unmarshal([]byte(policy), &doc), "queue policy is JSON: %s", policy)
	assert.Equal(t, "2012-10-17", doc.Version)
	oneOrMany := func(raw json.RawMessage) []string {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}
		}
		var many []string
		_ = json.Unmarshal(raw, &many)
		return many
	}
	for _, st := range doc.Statement {
		var sources []string
		for _, cond := range st.Condition {
			sources = append(sources, oneOrMany(cond["aws:SourceArn"])...)
		}
		if len(sources) != 1 || sources[0] != topicARN {
			continue
		}
		var principal struct{ Service json.RawMessage }
		require.NoError(t, json.Unmarshal(st.Principal, &principal), "principal of %s", st.Sid)
		assert.Equal(t, "Allow", st.Effect, "statement %s", st.Sid)
		assert.Equal(t, []string{"sns.amazonaws.com"}, oneOrMany(principal.Service), "statement %s principal", st.Sid)
		assert.Equal(t, []string{"sqs:SendMessage"}, oneOrMany(st.Action), "statement %s action", st.Sid)
		assert.Equal(t, []string{queueARN}, oneOrMany(st.Resource), "statement %s resource", st.Sid)
		_, arnEquals := st.Condition["ArnEquals"]
		assert.True(t, arnEquals, "statement %s conditions on ArnEquals aws:SourceArn", st.Sid)
		return
	}
	require.Fail(t, fmt.Sprintf("no statement of the policy of %s allows only %s (aws:SourceArn)", queueARN, topicARN), policy)
}
