package otelsnssqs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

// handled is one handler run: the span in its context and the message.
type handled struct {
	span trace.SpanContext
	msg  *snssqs.Message
}

// spanBy finds the recorded span with the given id.
func spanBy(t *testing.T, spans []sdktrace.ReadOnlySpan, id trace.SpanID) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.SpanContext().SpanID() == id {
			return s
		}
	}
	require.Failf(t, "span not recorded", "span %s", id)
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestOneTraceFromPublishToHandler publishes through SNS to a queue with
// notification delivery and one with raw delivery, with Publish and
// PublishBatch, and sends straight to a queue, and finds each handler's
// process span a child of its message's producer span, in one trace.
func TestOneTraceFromPublishToHandler(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	topo, err := provision.Apply(ctx, r.sns, r.sqs, provision.TopologySpec{
		TopicName: "traced",
		Queues:    []provision.QueueSpec{{Name: "notified"}, {Name: "raw", RawMessageDelivery: true}},
	})
	require.NoError(t, err)
	seen := make(chan handled, 16)
	sub := r.subscriber(t)
	for _, q := range topo.Queues {
		_, err := sub.HandleFallback(q.URL, func(ctx context.Context, m *snssqs.Message) error {
			seen <- handled{trace.SpanContextFromContext(ctx), m}
			return nil
		})
		require.NoError(t, err)
	}
	stop := run(t, sub)
	pub := r.publisher(t)
	qp, err := snssqs.NewQueuePublisher(r.sqs, r.inst.Publisher)
	require.NoError(t, err)
	t.Cleanup(func() { _ = qp.Close() })

	_, err = pub.Publish(ctx, topo.TopicARN, "single", 1)
	require.NoError(t, err)
	_, err = pub.PublishBatch(ctx, topo.TopicARN, []snssqs.Entry{{EventType: "batch", Event: 1}, {EventType: "batch", Event: 2}})
	require.NoError(t, err)
	_, err = qp.Send(ctx, topo.Queues["raw"].URL, "direct", 1)
	require.NoError(t, err)
	const want = 3*2 + 1
	var runs []handled
	for len(runs) < want {
		select {
		case h := <-seen:
			runs = append(runs, h)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	stop()

	spans := r.spans.Ended()
	queues := map[string]int{}
	for _, h := range runs {
		require.True(t, h.span.IsValid(), "the handler's context carries a span")
		process := spanBy(t, spans, h.span.SpanID())
		assert.Equal(t, "process "+queueOf(h.msg.QueueURL), process.Name())
		assert.Equal(t, trace.SpanKindConsumer, process.SpanKind())
		assert.Equal(t, semconv.MessagingSystemAWSSQS.Value, attr(process, semconv.MessagingSystemKey))
		assert.Equal(t, "process", attr(process, semconv.MessagingOperationTypeKey).AsString())
		assert.Equal(t, h.msg.SQSMessageID, attr(process, semconv.MessagingMessageIDKey).AsString())
		assert.Equal(t, h.msg.ID, attr(process, "cloudevents.event_id").AsString())

		require.True(t, process.Parent().IsValid(), "%s: process span has a parent", h.msg.Type)
		assert.True(t, process.Parent().IsRemote())
		create := spanBy(t, spans, process.Parent().SpanID())
		assert.Equal(t, create.SpanContext().TraceID(), process.SpanContext().TraceID(), "one trace")
		assert.Equal(t, trace.SpanKindProducer, create.SpanKind())
		assert.Equal(t, "create", attr(create, semconv.MessagingOperationTypeKey).AsString())
		assert.Equal(t, h.msg.ID, attr(create, "cloudevents.event_id").AsString())
		assert.Equal(t, h.msg.Type, attr(create, "cloudevents.event_type").AsString())
		if h.msg.Type == "direct" {
			assert.Equal(t, "create raw", create.Name())
			assert.Equal(t, semconv.MessagingSystemAWSSQS.Value, attr(create, semconv.MessagingSystemKey))
			assert.Equal(t, h.msg.SQSMessageID, attr(create, semconv.MessagingMessageIDKey).AsString())
		} else {
			assert.Equal(t, "create traced", create.Name())
			assert.Equal(t, semconv.MessagingSystemAWSSNS.Value, attr(create, semconv.MessagingSystemKey))
			assert.Equal(t, "traced", attr(create, semconv.MessagingDestinationNameKey).AsString())
			assert.NotEmpty(t, attr(create, semconv.MessagingMessageIDKey).AsString(), "the SNS message id")
			if h.msg.SNSMessageID != "" { // notifications carry it; raw delivery does not
				assert.Equal(t, h.msg.SNSMessageID, attr(create, semconv.MessagingMessageIDKey).AsString())
			}
		}
		queues[queueOf(h.msg.QueueURL)]++
	}
	assert.Equal(t, map[string]int{"notified": 3, "raw": 4}, queues)

	// Requests: a single message's is a child of its span; the batch's is a
	// trace of its own, linked to both messages' spans.
	var sends []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindClient {
			sends = append(sends, s)
		}
	}
	require.Len(t, sends, 3)
	var batch sdktrace.ReadOnlySpan
	for _, s := range sends {
		assert.Equal(t, "send", attr(s, semconv.MessagingOperationTypeKey).AsString())
		if len(s.Links()) > 0 {
			batch = s
			continue
		}
		parent := spanBy(t, spans, s.Parent().SpanID())
		assert.Equal(t, trace.SpanKindProducer, parent.SpanKind())
	}
	require.NotNil(t, batch, "the PublishBatch request")
	assert.Equal(t, int64(2), attr(batch, semconv.MessagingBatchMessageCountKey).AsInt64())
	assert.False(t, batch.Parent().IsValid(), "a new trace")
	for _, l := range batch.Links() {
		linked := spanBy(t, spans, l.SpanContext.SpanID())
		assert.Equal(t, "batch", attr(linked, "cloudevents.event_type").AsString())
	}
}

func queueOf(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' {
			return url[i+1:]
		}
	}
	return url
}

// TestMetricsMatchWhatHappened publishes 100 events, fails 10 of them once
// and one always (maxReceiveCount 3), and finds exactly those counts.
func TestMetricsMatchWhatHappened(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	topo, err := provision.Apply(ctx, r.sns, r.sqs, provision.TopologySpec{
		TopicName: "counted", Queues: []provision.QueueSpec{{Name: "counted-q", DeadLetterQueue: true, MaxReceiveCount: 3}},
	})
	require.NoError(t, err)
	q := topo.Queues["counted-q"]
	sub := r.subscriber(t, func(o *snssqs.SubscriberOptions) { o.BackoffMin = -1 })
	const total, failOnce, poison = 100, 10, 99
	handledOK := make(chan int, total)
	var mu sync.Mutex
	attempts := make(map[int]int)
	_, err = snssqs.HandleFunc(sub, q.URL, "n", func(_ context.Context, n int, _ *snssqs.Message) error {
		mu.Lock()
		attempts[n]++
		a := attempts[n]
		mu.Unlock()
		if n == poison || (n < failOnce && a == 1) {
			return errors.New("failed")
		}
		handledOK <- n
		return nil
	})
	require.NoError(t, err)
	stop := run(t, sub)
	pub := r.publisher(t)
	entries := make([]snssqs.Entry, 0, total/2)
	for n := range total / 2 {
		entries = append(entries, snssqs.Entry{EventType: "n", Event: n})
	}
	_, err = pub.PublishBatch(ctx, topo.TopicARN, entries)
	require.NoError(t, err)
	for n := total / 2; n < total; n++ {
		_, err := pub.Publish(ctx, topo.TopicARN, "n", n)
		require.NoError(t, err)
	}
	for range total - 1 {
		select {
		case <-handledOK:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &q.DeadLetterURL, WaitTimeSeconds: 20})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1, "the poison message is in the dead-letter queue")
	stop()

	ms := r.metrics(t)
	queue := semconv.MessagingDestinationName("counted-q")
	topic := semconv.MessagingDestinationName("counted")
	const received = total + failOnce + 2
	assert.Equal(t, int64(total), sum(t, ms, "messaging.client.sent.messages", semconv.MessagingSystemAWSSNS, topic))
	assert.Equal(t, int64(total), withoutKey(t, ms, "messaging.client.sent.messages", semconv.ErrorTypeKey), "none failed")
	assert.Equal(t, int64(received), sum(t, ms, "messaging.client.consumed.messages", semconv.MessagingSystemAWSSQS, queue))
	assert.Equal(t, []string{"counted"}, destinations(ms, "messaging.client.sent.messages"), "the queue sent nothing")
	assert.Equal(t, []string{"counted-q"}, destinations(ms, "messaging.client.consumed.messages"), "nothing was consumed from the topic")
	assert.Equal(t, uint64(received), count(t, ms, "messaging.process.duration", queue))
	assert.Equal(t, uint64(failOnce+3), count(t, ms, "messaging.process.duration", queue, semconv.ErrorTypeKey.String("nacked")))
	assert.Equal(t, int64(failOnce+3), sum(t, ms, "snssqs.messages.nacked", queue))
	assert.Equal(t, int64(1), sum(t, ms, "snssqs.messages.dead_letter_bound", queue))
	assert.Equal(t, int64(0), sum(t, ms, "snssqs.messages.released", queue))
	assert.Equal(t, int64(0), sum(t, ms, "snssqs.messages.in_flight", queue))
	requests := pub.Stats().Requests
	assert.Equal(t, requests, count(t, ms, "messaging.client.operation.duration", topic, semconv.MessagingOperationTypeSend))
	assert.Equal(t, sub.Stats().Received, uint64(received))
	assert.Positive(t, count(t, ms, "messaging.client.operation.duration", queue, semconv.MessagingOperationName("receive")))
	assert.Positive(t, count(t, ms, "messaging.client.operation.duration", queue, semconv.MessagingOperationName("delete")))

	// Each failed delivery's process span has the outcome as its error.
	failed := 0
	for _, s := range r.spans.Ended() {
		if s.SpanKind() == trace.SpanKindConsumer && s.Status().Code == codes.Error {
			failed++
			assert.Equal(t, "nacked", attr(s, semconv.ErrorTypeKey).AsString())
		}
	}
	assert.Equal(t, failOnce+3, failed)
}

// TestHeartbeatAndReleaseMetrics holds a message past its heartbeat
// interval and stops the subscriber with others waiting, and counts the
// extensions and releases.
func TestHeartbeatAndReleaseMetrics(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	qout, err := r.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("held")})
	require.NoError(t, err)
	queueURL := *qout.QueueUrl
	for range 3 {
		_, err := r.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(`"x"`)})
		require.NoError(t, err)
	}
	extended, released := make(chan struct{}, 16), make(chan struct{}, 3)
	sub := r.subscriber(t, func(o *snssqs.SubscriberOptions) {
		o.Concurrency = 1
		o.VisibilityTimeout = time.Second // a heartbeat every 500 ms
		otelRequest, otelReleased := o.Hooks.Request, o.Hooks.Released
		o.Hooks.Request = func(req snssqs.SQSRequest) {
			otelRequest(req)
			if req.Op == snssqs.OpExtendVisibility {
				select {
				case extended <- struct{}{}:
				default:
				}
			}
		}
		o.Hooks.Released = func(m snssqs.ReleasedMessage) {
			otelReleased(m)
			released <- struct{}{}
		}
	})
	started, unblock := make(chan struct{}, 3), make(chan struct{})
	_, err = sub.HandleFallback(queueURL, func(context.Context, *snssqs.Message) error {
		started <- struct{}{}
		<-unblock
		return nil
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	<-started
	<-extended // the running message and the two waiting for the worker
	shut := make(chan error, 1)
	go func() { shut <- sub.Shutdown(ctx) }()
	<-released // the two waiting are released while the handler still runs
	<-released
	close(unblock)
	require.NoError(t, <-shut)
	require.NoError(t, <-done)

	ms := r.metrics(t)
	queue := semconv.MessagingDestinationName("held")
	assert.GreaterOrEqual(t, sum(t, ms, "snssqs.heartbeat.extensions", queue), int64(3), "the first heartbeat extends all three")
	assert.Equal(t, int64(0), sum(t, ms, "snssqs.heartbeat.extensions", semconv.ErrorTypeKey.String("entry_failed")))
	assert.Equal(t, int64(2), sum(t, ms, "snssqs.messages.released", queue))
	assert.Equal(t, int64(0), sum(t, ms, "snssqs.messages.in_flight", queue))
	assert.Equal(t, uint64(1), count(t, ms, "messaging.process.duration", queue))
}
