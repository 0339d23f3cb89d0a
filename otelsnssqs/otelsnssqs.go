package otelsnssqs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/semconv/v1.40.0/messagingconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/snssqs/snssqs"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/snssqs/snssqs/otelsnssqs"

// Option configures New.
type Option func(*config)

type config struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// WithTracerProvider sets the TracerProvider. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets the MeterProvider. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagator sets the propagator that carries trace context in
// messages, e.g. propagation.TraceContext{}, or a composite with an X-Ray
// propagator to read AWSTraceHeader. Default: otel.GetTextMapPropagator().
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// Instrumentation holds the tracer, the instruments and the propagator; its
// Publisher and Subscriber methods wire them into snssqs options. It is
// safe for concurrent use and may serve any number of publishers and
// subscribers.
type Instrumentation struct {
	tracer trace.Tracer
	prop   snssqs.Propagator
	m      instruments
	sets   sync.Map // setKey → attribute.Set
}

// New returns an Instrumentation, creating its instruments with the
// MeterProvider; an error creating one is returned (wrapped).
func New(opts ...Option) (*Instrumentation, error) {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider(), prop: otel.GetTextMapPropagator()}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	m, err := newInstruments(c.mp.Meter(ScopeName))
	if err != nil {
		return nil, fmt.Errorf("otelsnssqs: creating instruments: %w", err)
	}
	return &Instrumentation{
		tracer: c.tp.Tracer(ScopeName),
		prop:   propagator{c.prop},
		m:      m,
	}, nil
}

// Publisher sets o's Hooks and Propagator: pass it to snssqs.NewPublisher
// or snssqs.NewQueuePublisher as an option function.
func (i *Instrumentation) Publisher(o *snssqs.PublisherOptions) {
	o.Propagator = i.prop
	o.Hooks = snssqs.PublisherHooks{Publish: i.publish, Request: i.request}
}

// Subscriber sets o's Hooks and Propagator: pass it to
// snssqs.NewSubscriber as an option function.
func (i *Instrumentation) Subscriber(o *snssqs.SubscriberOptions) {
	o.Propagator = i.prop
	o.Hooks = snssqs.SubscriberHooks{
		Received: i.received, Handle: i.handle, Released: i.released, Request: i.sqsRequest,
	}
}

// propagator adapts an OpenTelemetry propagator: snssqs.Carrier has the
// methods of propagation.TextMapCarrier.
type propagator struct{ p propagation.TextMapPropagator }

func (a propagator) Inject(ctx context.Context, c snssqs.Carrier) { a.p.Inject(ctx, c) }

func (a propagator) Extract(ctx context.Context, c snssqs.Carrier) context.Context {
	return a.p.Extract(ctx, c)
}

// system is the messaging.system of a service.
func system(s snssqs.Service) attribute.KeyValue {
	if s == snssqs.ServiceSNS {
		return semconv.MessagingSystemAWSSNS
	}
	return semconv.MessagingSystemAWSSQS
}

// setKey identifies a metric attribute set.
type setKey struct {
	system    attribute.KeyValue
	dest      string
	op        string
	opType    attribute.KeyValue
	errorType string
}

// attrs returns the attribute set of k, built once.
func (i *Instrumentation) attrs(k setKey) attribute.Set {
	if s, ok := i.sets.Load(k); ok {
		return s.(attribute.Set)
	}
	kvs := make([]attribute.KeyValue, 0, 5)
	kvs = append(kvs, k.system, semconv.MessagingDestinationName(k.dest))
	if k.op != "" {
		kvs = append(kvs, semconv.MessagingOperationName(k.op))
	}
	if k.opType.Valid() {
		kvs = append(kvs, k.opType)
	}
	if k.errorType != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(k.errorType))
	}
	s := attribute.NewSet(kvs...)
	i.sets.Store(k, s)
	return s
}

// errorType is the error.type of err: the AWS error code when there is
// one, "_OTHER" otherwise; "" for nil.
func errorType(err error) string {
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// instruments are the metrics of New.
type instruments struct {
	opDuration messagingconv.ClientOperationDuration
	sent       messagingconv.ClientSentMessages
	consumed   messagingconv.ClientConsumedMessages
	process    messagingconv.ProcessDuration
	nacked     metric.Int64Counter
	released   metric.Int64Counter
	deadLetter metric.Int64Counter
	inFlight   metric.Int64UpDownCounter
	extensions metric.Int64Counter
}

// durationBuckets are the histogram bounds, in seconds, the semantic
// conventions advise for messaging durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newInstruments(m metric.Meter) (instruments, error) {
	var in instruments
	buckets := metric.WithExplicitBucketBoundaries(durationBuckets...)
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	in.opDuration, err = messagingconv.NewClientOperationDuration(m, buckets)
	collect(err)
	in.sent, err = messagingconv.NewClientSentMessages(m)
	collect(err)
	in.consumed, err = messagingconv.NewClientConsumedMessages(m)
	collect(err)
	in.process, err = messagingconv.NewProcessDuration(m, buckets)
	collect(err)
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{message}"))
		collect(err)
		return c
	}
	in.nacked = counter("snssqs.messages.nacked", "Messages made visible again after a backoff because their handling failed.")
	in.released = counter("snssqs.messages.released", "Messages made visible again unhandled: at shutdown, or behind a failed message of their FIFO group.")
	in.deadLetter = counter("snssqs.messages.dead_letter_bound", "Messages not deleted on the delivery at their queue's maxReceiveCount: the redrive policy moves them to the dead-letter queue.")
	in.extensions = counter("snssqs.heartbeat.extensions", "Visibility extensions of messages held while they wait for or run their handler.")
	in.inFlight, err = m.Int64UpDownCounter("snssqs.messages.in_flight",
		metric.WithDescription("Messages received and not yet finished (handled, nacked or released)."), metric.WithUnit("{message}"))
	collect(err)
	return in, errors.Join(errs...)
}
