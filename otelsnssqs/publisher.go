package otelsnssqs

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/snssqs/snssqs"
)

// CloudEvents attributes of spans, as the CloudEvents semantic conventions
// name them.
const (
	eventIDKey   = attribute.Key("cloudevents.event_id")
	eventTypeKey = attribute.Key("cloudevents.event_type")
)

// publish starts a message's producer span; its context is the one the
// Publisher injects into the message.
func (i *Instrumentation) publish(ctx context.Context, m snssqs.PublishInfo) (context.Context, func(snssqs.PublishDone)) {
	sys := system(m.Service)
	dest := i.dest(sys, m.DestinationName)
	// One attribute slice for all of them (the SDK copies it, so it is
	// reused).
	attrs := i.attrSlices.get()
	*attrs = append(append(*attrs, dest.createAttrs...), eventIDKey.String(m.EventID), eventTypeKey.String(m.EventType))
	ctx, span := i.tracer.Start(ctx, dest.create, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(*attrs...))
	i.attrSlices.put(attrs)
	return ctx, func(d snssqs.PublishDone) {
		if d.MessageID != "" {
			span.SetAttributes(semconv.MessagingMessageID(d.MessageID))
		}
		et := errorType(d.Err)
		if d.Err != nil {
			span.RecordError(d.Err)
			span.SetStatus(codes.Error, d.Err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String(et))
		}
		span.End()
		switch {
		case d.Rejected: // a message no request carried was never sent
		case et == "":
			i.sentCell(dest).n.Add(1)
		default:
			k := dest.key
			k.op, k.errorType = "send", et
			i.m.sent.add(k, 1)
		}
	}
}

// request starts a request's client span: a child of the message's span for
// a request of one, a new trace linked to every message's span for a batch.
func (i *Instrumentation) request(ctx context.Context, r snssqs.PublishRequest) (context.Context, func(snssqs.PublishRequestDone)) {
	sys := system(r.Service)
	dest := i.dest(sys, r.DestinationName)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(dest.sendAttrs...)}
	if r.Batch {
		links := make([]trace.Link, len(r.Messages))
		for j, mctx := range r.Messages {
			links[j] = trace.Link{SpanContext: trace.SpanContextFromContext(mctx)}
		}
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(links...),
			trace.WithAttributes(semconv.MessagingBatchMessageCount(len(r.Messages))))
	}
	ctx, span := i.tracer.Start(ctx, dest.send, opts...)
	return ctx, func(d snssqs.PublishRequestDone) {
		et := errorType(d.Err)
		switch {
		case d.Err != nil:
			span.RecordError(d.Err)
			span.SetStatus(codes.Error, d.Err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String(et))
		case d.Failed > 0:
			span.SetStatus(codes.Error, "batch entries failed")
			span.SetAttributes(failedEntriesKey.Int(d.Failed))
		}
		span.End()
		set := dest.sendOK
		if et != "" {
			set = i.attrs(setKey{system: sys, dest: r.DestinationName, op: "send", opType: semconv.MessagingOperationTypeSend, errorType: et})
		}
		i.m.opDuration.RecordSet(i.mctx(ctx), d.Duration.Seconds(), set)
	}
}

// failedEntriesKey counts the failed entries of a batch request.
const failedEntriesKey = attribute.Key("snssqs.failed_entries")
