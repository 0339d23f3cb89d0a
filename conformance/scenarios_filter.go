package conformance

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
)

func filterScenarios() []Scenario {
	return []Scenario{
		{Name: "Filter/AttributeExactMatch", Run: filterAttributeExact},
		{Name: "Filter/AttributeOperators", Run: filterAttributeOperators},
		{Name: "Filter/MessageBodyScope", Run: filterMessageBody},
	}
}

// filterCase is one message published in a filter scenario.
type filterCase struct {
	body  string
	attrs map[string]snstypes.MessageAttributeValue
}

func str(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func num(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
}

// runFilter subscribes a raw queue with subAttrs and an unfiltered control
// queue to a new topic, publishes rejected then the matching marker, and
// asserts the filtered queue got the marker alone while the control queue
// got everything (so the rejected messages were really published).
func (e *Env) runFilter(t *testing.T, subAttrs map[string]string, rejected []filterCase, marker filterCase) {
	t.Helper()
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("filter"), nil)
	filtered := e.CreateQueue(t, e.Name("filtered"), nil)
	control := e.CreateQueue(t, e.Name("control"), nil)
	attrs := map[string]string{"RawMessageDelivery": "true"}
	for k, v := range subAttrs {
		attrs[k] = v
	}
	e.SubscribeQueue(t, topic, filtered, attrs)
	e.SubscribeQueue(t, topic, control, map[string]string{"RawMessageDelivery": "true"})

	all := append(append([]filterCase{}, rejected...), marker)
	var want []string
	for _, c := range all {
		e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(c.body), MessageAttributes: c.attrs})
		want = append(want, c.body)
	}
	isMarker := func(m sqstypes.Message) bool { return aws.ToString(m.Body) == marker.body }
	got := e.ReceiveThroughMarker(ctx, t, filtered.URL, isMarker)
	assert.Equal(t, []string{marker.body}, Bodies(got), "only the matching message passes the filter policy")
	assert.ElementsMatch(t, want, Bodies(e.ReceiveN(ctx, t, control.URL, len(all), true)), "the unfiltered subscription got every message")
}

// "By default, a subscription receives every message published to the
// topic. To receive a subset of the messages, a subscriber must assign a
// filter policy": exact string values, OR within a key.
func filterAttributeExact(t *testing.T, e *Env) {
	e.runFilter(t,
		map[string]string{"FilterPolicy": `{"color":["red","green"]}`},
		[]filterCase{
			{body: "blue", attrs: map[string]snstypes.MessageAttributeValue{"color": str("blue")}},
			{body: "no attributes"},
			{body: "other key", attrs: map[string]snstypes.MessageAttributeValue{"shade": str("red")}},
		},
		filterCase{body: "green", attrs: map[string]snstypes.MessageAttributeValue{"color": str("green")}},
	)
}

// Prefix, numeric range and anything-but matching, AND across keys.
func filterAttributeOperators(t *testing.T, e *Env) {
	policy := `{"store":[{"prefix":"eu-"}],"price":[{"numeric":[">=",10,"<",20]}],"kind":[{"anything-but":["test"]}]}`
	ok := func(store, price, kind string) map[string]snstypes.MessageAttributeValue {
		return map[string]snstypes.MessageAttributeValue{"store": str(store), "price": num(price), "kind": str(kind)}
	}
	e.runFilter(t,
		map[string]string{"FilterPolicy": policy},
		[]filterCase{
			{body: "wrong prefix", attrs: ok("us-east", "15", "prod")},
			{body: "too expensive", attrs: ok("eu-west", "20", "prod")},
			{body: "too cheap", attrs: ok("eu-west", "9.99", "prod")},
			{body: "excluded kind", attrs: ok("eu-west", "15", "test")},
			{body: "missing price", attrs: map[string]snstypes.MessageAttributeValue{"store": str("eu-west"), "kind": str("prod")}},
		},
		filterCase{body: "match", attrs: ok("eu-central", "10", "prod")},
	)
}

// FilterPolicyScope MessageBody: "the filter policy is applied to the
// message body"; messages whose body is not JSON do not match.
func filterMessageBody(t *testing.T, e *Env) {
	e.runFilter(t,
		map[string]string{"FilterPolicyScope": "MessageBody", "FilterPolicy": `{"order":{"status":["paid"]}}`},
		[]filterCase{
			{body: `{"order":{"status":"pending"}}`},
			{body: `{"status":"paid"}`},
			{body: `not json`, attrs: map[string]snstypes.MessageAttributeValue{"status": str("paid")}},
		},
		filterCase{body: `{"order":{"status":"paid","id":1}}`},
	)
}
