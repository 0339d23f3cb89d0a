package otelsnssqs

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/snssqs/snssqs"
)

// receiveCountKey is the message's ApproximateReceiveCount on process spans.
const receiveCountKey = attribute.Key("snssqs.receive_count")

// queueName is the queue name of a queue URL: its last path segment.
func queueName(queueURL string) string {
	return queueURL[strings.LastIndexByte(queueURL, '/')+1:]
}

// queueAttrs is the attribute set of a queue's own metrics.
func (i *Instrumentation) queueAttrs(queueURL string) metric.MeasurementOption {
	return metric.WithAttributeSet(i.attrs(setKey{system: semconv.MessagingSystemAWSSQS, dest: queueName(queueURL)}))
}

func (i *Instrumentation) received(m snssqs.ReceivedMessage) {
	ctx := context.Background()
	dest := queueName(m.QueueURL)
	i.m.consumed.AddSet(ctx, 1, i.attrs(setKey{system: semconv.MessagingSystemAWSSQS, dest: dest, op: "receive"}))
	i.m.inFlight.Add(ctx, 1, i.queueAttrs(m.QueueURL))
}

// handle starts a message's consumer span, a child of the trace context
// extracted from the message; the handler runs in its context.
func (i *Instrumentation) handle(ctx context.Context, m *snssqs.Message) (context.Context, func(snssqs.HandleDone)) {
	dest := queueName(m.QueueURL)
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemAWSSQS, semconv.MessagingDestinationName(dest),
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingMessageID(m.SQSMessageID), receiveCountKey.Int(m.ReceiveCount),
	}
	if m.IsEnvelope {
		attrs = append(attrs, eventIDKey.String(m.ID), eventTypeKey.String(m.Type))
	}
	ctx, span := i.tracer.Start(ctx, "process "+dest, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return ctx, func(d snssqs.HandleDone) {
		et := ""
		if d.Outcome != snssqs.OutcomeDeleted {
			et = d.Outcome.String()
			if d.Err != nil {
				span.RecordError(d.Err)
			}
			span.SetStatus(codes.Error, et)
			span.SetAttributes(semconv.ErrorTypeKey.String(et))
		}
		span.End()
		bg := context.WithoutCancel(ctx)
		i.m.process.RecordSet(bg, d.Duration.Seconds(),
			i.attrs(setKey{system: semconv.MessagingSystemAWSSQS, dest: dest, op: "process", opType: semconv.MessagingOperationTypeProcess, errorType: et}))
		queue := i.queueAttrs(m.QueueURL)
		if !d.Deleted && d.Outcome != snssqs.OutcomeAbandoned && d.Outcome != snssqs.OutcomeReleased {
			i.m.nacked.Add(bg, 1, queue)
		}
		if d.DeadLetterBound {
			i.m.deadLetter.Add(bg, 1, queue)
		}
		i.m.inFlight.Add(bg, -1, queue)
	}
}

func (i *Instrumentation) released(m snssqs.ReleasedMessage) {
	ctx := context.Background()
	queue := i.queueAttrs(m.QueueURL)
	i.m.released.Add(ctx, 1, queue)
	i.m.inFlight.Add(ctx, -1, queue)
}

// sqsOperations are the operation names and types of a Subscriber's
// requests.
var sqsOperations = map[string]struct {
	name string
	typ  attribute.KeyValue
}{
	snssqs.OpReceive:          {"receive", semconv.MessagingOperationTypeReceive},
	snssqs.OpDelete:           {"delete", semconv.MessagingOperationTypeSettle},
	snssqs.OpChangeVisibility: {"change_visibility", semconv.MessagingOperationTypeSettle},
	snssqs.OpExtendVisibility: {"extend_visibility", attribute.KeyValue{}},
}

func (i *Instrumentation) sqsRequest(r snssqs.SQSRequest) {
	ctx := context.Background()
	dest := queueName(r.QueueURL)
	op := sqsOperations[r.Op]
	et := errorType(r.Err)
	i.m.opDuration.RecordSet(ctx, r.Duration.Seconds(),
		i.attrs(setKey{system: semconv.MessagingSystemAWSSQS, dest: dest, op: op.name, opType: op.typ, errorType: et}))
	if r.Op != snssqs.OpExtendVisibility {
		return
	}
	if r.Messages > 0 {
		i.m.extensions.Add(ctx, int64(r.Messages), i.queueAttrs(r.QueueURL))
	}
	if r.Failed > 0 {
		if et == "" {
			et = "entry_failed"
		}
		i.m.extensions.Add(ctx, int64(r.Failed),
			metric.WithAttributeSet(i.attrs(setKey{system: semconv.MessagingSystemAWSSQS, dest: dest, errorType: et})))
	}
}
