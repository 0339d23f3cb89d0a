package otelsnssqs_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/otelsnssqs"
)

// discardSpans drops exported spans.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// mapCarrier is a Carrier over a map.
type mapCarrier map[string]string

func (c mapCarrier) Get(k string) string   { return c[k] }
func (c mapCarrier) Set(k, v string)       { c[k] = v }
func (c mapCarrier) Keys() (keys []string) { return nil }

// BenchmarkHooks measures the instrumentation's own cost per message: what
// the Publisher's and Subscriber's hooks do for one message published in a
// batch of 10 (publish: per 10 messages) and handled (consume: per message), with a production SDK setup (batch span
// processor, every span sampled, metrics aggregated).
func BenchmarkHooks(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	inst, err := otelsnssqs.New(otelsnssqs.WithTracerProvider(tp), otelsnssqs.WithMeterProvider(mp), otelsnssqs.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		b.Fatal(err)
	}
	var po snssqs.PublisherOptions
	inst.Publisher(&po)
	var so snssqs.SubscriberOptions
	inst.Subscriber(&so)
	ctx := context.Background()
	info := snssqs.PublishInfo{Service: snssqs.ServiceSNS, Destination: "arn:aws:sns:us-east-1:123456789012:cards", DestinationName: "cards", EventType: "card.created", EventID: "9b2f1c3e-0000-4000-8000-000000000000"}
	const queue = "https://sqs.us-east-1.amazonaws.com/123456789012/cards"
	b.Run("publish", func(b *testing.B) {
		b.ReportAllocs()
		ctxs := make([]context.Context, 10)
		dones := make([]func(snssqs.PublishDone), 10)
		for b.Loop() {
			for j := range ctxs {
				ctxs[j], dones[j] = po.Hooks.Publish(ctx, info)
				po.Propagator.Inject(ctxs[j], mapCarrier{})
			}
			_, rdone := po.Hooks.Request(ctxs[0], snssqs.PublishRequest{Service: snssqs.ServiceSNS, DestinationName: "cards", Batch: true, Messages: ctxs})
			rdone(snssqs.PublishRequestDone{Duration: time.Millisecond})
			for _, done := range dones {
				done(snssqs.PublishDone{MessageID: "m"})
			}
		}
	})
	b.Run("consume", func(b *testing.B) {
		b.ReportAllocs()
		c := mapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		m := &snssqs.Message{QueueURL: queue, SQSMessageID: "s", ReceiveCount: 1, IsEnvelope: true, ID: "e", Type: "card.created"}
		for b.Loop() {
			so.Hooks.Received(snssqs.ReceivedMessage{QueueURL: queue, ReceiveCount: 1})
			hctx := so.Propagator.Extract(ctx, c)
			_, done := so.Hooks.Handle(hctx, m)
			done(snssqs.HandleDone{Outcome: snssqs.OutcomeDeleted, Deleted: true, Duration: time.Millisecond})
		}
	})
}
