package otelsnssqs

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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

// queue is the destination of a queue URL.
func (i *Instrumentation) queue(queueURL string) *destination {
	return i.dest(semconv.MessagingSystemAWSSQS, queueName(queueURL))
}

func (i *Instrumentation) received(m snssqs.ReceivedMessage) {
	q := i.queueCells(i.queue(m.QueueURL))
	q.inFlight.n.Add(1)
	q.consumed.n.Add(1)
}

// handle starts a message's consumer span, a child of the trace context
// extracted from the message; the handler runs in its context.
func (i *Instrumentation) handle(ctx context.Context, m *snssqs.Message) (context.Context, func(snssqs.HandleDone)) {
	qd := i.queue(m.QueueURL)
	attrs := i.attrSlices.get()
	*attrs = append(append(*attrs, qd.pAttrs...), semconv.MessagingMessageID(m.SQSMessageID), receiveCountKey.Int(m.ReceiveCount))
	if m.IsEnvelope {
		*attrs = append(*attrs, eventIDKey.String(m.ID), eventTypeKey.String(m.Type))
	}
	ctx, span := i.tracer.Start(ctx, qd.process, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(*attrs...))
	i.attrSlices.put(attrs)
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
		q := i.queueCells(qd)
		q.inFlight.n.Add(-1)
		set := qd.processOK
		if et != "" {
			k := qd.key
			k.op, k.opType, k.errorType = "process", semconv.MessagingOperationTypeProcess, et
			set = i.attrs(k)
		}
		i.m.process.RecordSet(i.mctx(ctx), d.Duration.Seconds(), set)
		if !d.Deleted && d.Outcome != snssqs.OutcomeAbandoned && d.Outcome != snssqs.OutcomeReleased {
			q.nacked.n.Add(1)
		}
		if d.DeadLetterBound {
			q.deadLetter.n.Add(1)
		}
	}
}

func (i *Instrumentation) released(m snssqs.ReleasedMessage) {
	q := i.queueCells(i.queue(m.QueueURL))
	q.inFlight.n.Add(-1)
	q.released.n.Add(1)
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
	queue := i.queue(r.QueueURL).key
	op := sqsOperations[r.Op]
	et := errorType(r.Err)
	i.m.opDuration.RecordSet(context.Background(), r.Duration.Seconds(),
		i.attrs(setKey{system: queue.system, dest: queue.dest, op: op.name, opType: op.typ, errorType: et}))
	if r.Op != snssqs.OpExtendVisibility {
		return
	}
	if r.Messages > 0 {
		i.m.extensions.add(queue, int64(r.Messages))
	}
	if r.Failed > 0 {
		if et == "" {
			et = "entry_failed"
		}
		failed := queue
		failed.errorType = et
		i.m.extensions.add(failed, int64(r.Failed))
	}
}
