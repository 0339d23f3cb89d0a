package snssqs_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// traceKey holds a fake trace context: carrier key to value.
type traceKey struct{}

// fakePropagator injects the map in the context under traceKey and
// extracts every key it is asked for, as a W3C or X-Ray propagator would.
type fakePropagator struct{ fields []string }

func (p fakePropagator) Inject(ctx context.Context, c snssqs.Carrier) {
	m, _ := ctx.Value(traceKey{}).(map[string]string)
	for k, v := range m {
		c.Set(k, v)
	}
}

func (p fakePropagator) Extract(ctx context.Context, c snssqs.Carrier) context.Context {
	m := make(map[string]string)
	for _, k := range p.fields {
		if v := c.Get(k); v != "" {
			m[k] = v
		}
	}
	return context.WithValue(ctx, traceKey{}, m)
}

var testTraceFields = []string{"traceparent", "tracestate", "X-B3-TraceId", snssqs.XRayTraceHeader}

// traced is what a handler saw: its context's trace and the message.
type traced struct {
	trace map[string]string
	msg   *snssqs.Message
}

// startTracedSubscriber runs a subscriber with the fake propagator whose
// fallback handler of queueURL sends what it sees to the returned channel.
func startTracedSubscriber(t *testing.T, client *sqs.Client, queueURL string) <-chan traced {
	t.Helper()
	seen := make(chan traced, 10)
	sub, err := snssqs.NewSubscriber(client, func(o *snssqs.SubscriberOptions) {
		o.Propagator = fakePropagator{testTraceFields}
		o.WaitTime = time.Second
	})
	require.NoError(t, err)
	_, err = sub.HandleFallback(queueURL, func(ctx context.Context, m *snssqs.Message) error {
		tr, _ := ctx.Value(traceKey{}).(map[string]string)
		seen <- traced{tr, m}
		return nil
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sub.Run(t.Context()) }()
	t.Cleanup(func() {
		assert.NoError(t, sub.Close())
		assert.NoError(t, <-done)
	})
	return seen
}

func receiveTraced(t *testing.T, seen <-chan traced) traced {
	t.Helper()
	select {
	case tr := <-seen:
		return tr
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
		return traced{}
	}
}

// TestTraceContextReachesTheHandler publishes with a trace context in the
// publishing context and finds it in the handler's, across SNS to SQS, for
// notification and raw delivery and through PublishBatch, and sends straight
// to SQS.
func TestTraceContextReachesTheHandler(t *testing.T) {
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := t.Context()
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{
		TopicName: "traced",
		Queues:    []provision.QueueSpec{{Name: "traced-notification"}, {Name: "traced-raw", RawMessageDelivery: true}},
	})
	require.NoError(t, err)
	notification := startTracedSubscriber(t, sqsClient, topo.Queues["traced-notification"].URL)
	raw := startTracedSubscriber(t, sqsClient, topo.Queues["traced-raw"].URL)

	pub, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.Propagator = fakePropagator{} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	qp, err := snssqs.NewQueuePublisher(sqsClient, func(o *snssqs.PublisherOptions) { o.Propagator = fakePropagator{} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = qp.Close() })

	trace := map[string]string{
		"traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":   "vendor=x",
		"X-B3-TraceId": "80f198ee56343ba864fe8b2a57d3eff7", // not an extension name: a message attribute
	}
	tctx := context.WithValue(ctx, traceKey{}, trace)

	check := func(name string, tr traced) {
		assert.Equal(t, trace, tr.trace, name)
		assert.Equal(t, trace["traceparent"], tr.msg.Extensions["traceparent"], "%s: the CloudEvents distributed-tracing extension", name)
		assert.Equal(t, trace["tracestate"], tr.msg.Extensions["tracestate"], name)
		assert.Equal(t, trace["X-B3-TraceId"], tr.msg.Attributes["X-B3-TraceId"].StringValue, name)
	}
	_, err = pub.Publish(tctx, topo.TopicARN, "card.created", map[string]string{"card": "1"})
	require.NoError(t, err)
	check("notification", receiveTraced(t, notification))
	check("raw delivery", receiveTraced(t, raw))

	res, err := pub.PublishBatch(tctx, topo.TopicARN, []snssqs.Entry{{EventType: "a", Event: 1}, {EventType: "b", Event: 2}})
	require.NoError(t, err)
	require.Len(t, res, 2)
	for range 2 {
		check("PublishBatch, notification", receiveTraced(t, notification))
		check("PublishBatch, raw delivery", receiveTraced(t, raw))
	}

	_, err = qp.Send(tctx, topo.Queues["traced-raw"].URL, "direct", 1)
	require.NoError(t, err)
	check("QueuePublisher", receiveTraced(t, raw))

	// An explicit extension wins over the propagator's.
	_, err = qp.Send(tctx, topo.Queues["traced-raw"].URL, "direct", 1, snssqs.WithExtension("traceparent", "mine"))
	require.NoError(t, err)
	assert.Equal(t, "mine", receiveTraced(t, raw).msg.Extensions["traceparent"])
}

// TestTraceContextOfForeignMessages extracts trace context from a body that
// is not CloudEvents (message attributes) and from AWSTraceHeader.
func TestTraceContextOfForeignMessages(t *testing.T) {
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	sqsClient := sqs.NewFromConfig(srv.AWSConfig())
	ctx := t.Context()
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("foreign")})
	require.NoError(t, err)
	seen := startTracedSubscriber(t, sqsClient, *q.QueueUrl)

	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	_, err = sqsClient.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: q.QueueUrl, MessageBody: aws.String("plain text"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"traceparent": {DataType: aws.String("String"), StringValue: aws.String(tp)},
		},
		MessageSystemAttributes: map[string]sqstypes.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(xray)},
		},
	})
	require.NoError(t, err)
	tr := receiveTraced(t, seen)
	assert.False(t, tr.msg.IsEnvelope)
	assert.Equal(t, xray, tr.msg.AWSTraceHeader)
	assert.Equal(t, map[string]string{"traceparent": tp, snssqs.XRayTraceHeader: xray}, tr.trace)
}

// keysPropagator records the carrier's keys.
type keysPropagator struct{ keys chan []string }

func (keysPropagator) Inject(context.Context, snssqs.Carrier) {}

func (p keysPropagator) Extract(ctx context.Context, c snssqs.Carrier) context.Context {
	k := c.Keys()
	sort.Strings(k)
	p.keys <- k
	return ctx
}

// TestCarrierKeys lists the string extensions and attributes of a received
// envelope, and AWSTraceHeader, as a propagator that iterates sees them.
func TestCarrierKeys(t *testing.T) {
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	sqsClient := sqs.NewFromConfig(srv.AWSConfig())
	ctx := t.Context()
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("keys")})
	require.NoError(t, err)
	keys := make(chan []string, 1)
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Propagator = keysPropagator{keys}
		o.WaitTime = time.Second
	})
	require.NoError(t, err)
	_, err = sub.HandleFallback(*q.QueueUrl, func(context.Context, *snssqs.Message) error { return nil })
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		assert.NoError(t, sub.Close())
		assert.NoError(t, <-done)
	})
	qp, err := snssqs.NewQueuePublisher(sqsClient)
	require.NoError(t, err)
	t.Cleanup(func() { _ = qp.Close() })
	_, err = qp.Send(ctx, *q.QueueUrl, "k", 1, snssqs.WithExtension("traceparent", "tp"), snssqs.WithExtension("count", 3),
		snssqs.WithAttribute("tenant", snssqs.StringAttribute("t1")), snssqs.WithAttribute("blob", snssqs.BinaryAttribute([]byte{1})))
	require.NoError(t, err)
	select {
	case k := <-keys:
		assert.Equal(t, []string{"ce_type", "tenant", "traceparent"}, k, "string values only")
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}
