package otelsnssqs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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
	tp        trace.TracerProvider
	mp        metric.MeterProvider
	prop      propagation.TextMapPropagator
	exemplars bool
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

// WithExemplars records measurements with the context of the message's
// span, so that an SDK with trace-based exemplars (its default) attaches
// exemplars to them. Default: off, measurements carry no span: in the
// benchmark's loopback run the exemplars cost 9% more client CPU per
// message.
func WithExemplars() Option {
	return func(c *config) { c.exemplars = true }
}

// Instrumentation holds the tracer, the instruments and the propagator; its
// Publisher and Subscriber methods wire them into snssqs options. It is
// safe for concurrent use and may serve any number of publishers and
// subscribers.
type Instrumentation struct {
	tracer trace.Tracer
	prop   snssqs.Propagator
	m      instruments

	exemplars  bool
	attrSlices attrPool

	sets  cowMap[setKey, attribute.Set]
	dests cowMap[destKey, *destination]
}

// mctx is the context a measurement is recorded with: ctx with exemplars,
// none without.
func (i *Instrumentation) mctx(ctx context.Context) context.Context {
	if i.exemplars {
		return ctx
	}
	return context.Background()
}

// destKey identifies a topic or queue.
type destKey struct {
	system attribute.KeyValue
	name   string
}

// destination is what the telemetry of one topic or queue shares, built
// once: span names and start attributes, and the metric cells and sets of
// the messages that succeed (errors look theirs up by key).
type destination struct {
	key                            setKey // system and destination name
	create, send, process          string
	createAttrs, sendAttrs, pAttrs []attribute.KeyValue

	sendOK, processOK attribute.Set

	// The metric cells of the destination's role, made on first use, so a
	// topic reports no consumed messages and a queue no sent ones.
	sent  atomic.Pointer[cell]
	queue atomic.Pointer[queueCells]
}

// queueCells are the cells of a queue messages are consumed from.
type queueCells struct{ consumed, inFlight, nacked, released, deadLetter *cell }

// sentCell is d's cell of messages sent without error.
func (i *Instrumentation) sentCell(d *destination) *cell {
	if c := d.sent.Load(); c != nil {
		return c
	}
	k := d.key
	k.op = "send"
	c := i.m.sent.cell(k) // the same cell for racing callers
	d.sent.Store(c)
	return c
}

// queueCells are d's cells as a queue consumed from.
func (i *Instrumentation) queueCells(d *destination) *queueCells {
	if q := d.queue.Load(); q != nil {
		return q
	}
	consumed := d.key
	consumed.op = "receive"
	q := &queueCells{
		consumed: i.m.consumed.cell(consumed), inFlight: i.m.inFlight.cell(d.key), nacked: i.m.nacked.cell(d.key),
		released: i.m.released.cell(d.key), deadLetter: i.m.deadLetter.cell(d.key),
	}
	d.queue.Store(q)
	return q
}

// dest returns the destination name of system, built once.
func (i *Instrumentation) dest(system attribute.KeyValue, name string) *destination {
	return i.dests.get(destKey{system, name}, func() *destination {
		dn := semconv.MessagingDestinationName(name)
		k := setKey{system: system, dest: name}
		op := func(name string, typ attribute.KeyValue) setKey {
			x := k
			x.op, x.opType = name, typ
			return x
		}
		return &destination{
			key:    k,
			create: "create " + name, send: "send " + name, process: "process " + name,
			createAttrs: []attribute.KeyValue{system, dn, semconv.MessagingOperationTypeCreate, semconv.MessagingOperationName("create")},
			sendAttrs:   []attribute.KeyValue{system, dn, semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("send")},
			pAttrs:      []attribute.KeyValue{system, dn, semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process")},
			sendOK:      i.attrs(op("send", semconv.MessagingOperationTypeSend)),
			processOK:   i.attrs(op("process", semconv.MessagingOperationTypeProcess)),
		}
	})
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
	i := &Instrumentation{
		tracer:    c.tp.Tracer(ScopeName),
		prop:      propagator{c.prop},
		exemplars: c.exemplars,
	}
	var err error
	if i.m, err = newInstruments(c.mp.Meter(ScopeName), i.attrs); err != nil {
		return nil, fmt.Errorf("otelsnssqs: creating instruments: %w", err)
	}
	return i, nil
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
	return i.sets.get(k, func() attribute.Set { return newSet(k) })
}

// newSet builds the attribute set of k.
func newSet(k setKey) attribute.Set {
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
	return attribute.NewSet(kvs...)
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

// instruments are the metrics of New. Counts are kept in atomics and
// reported by observable instruments when metrics are collected (see
// counter); durations are histograms, recorded per measurement.
type instruments struct {
	opDuration                                                         messagingconv.ClientOperationDuration
	process                                                            messagingconv.ProcessDuration
	sent, consumed, nacked, released, deadLetter, extensions, inFlight *counter
}

// durationBuckets are the histogram bounds, in seconds, the semantic
// conventions advise for messaging durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newInstruments(m metric.Meter, attrs func(setKey) attribute.Set) (instruments, error) {
	var in instruments
	buckets := metric.WithExplicitBucketBoundaries(durationBuckets...)
	var errs []error
	var err error
	in.opDuration, err = messagingconv.NewClientOperationDuration(m, buckets)
	errs = append(errs, err)
	in.process, err = messagingconv.NewProcessDuration(m, buckets)
	errs = append(errs, err)
	count := func(name, desc string, upDown bool) *counter {
		c := newCounter(attrs)
		opts := []metric.Int64ObservableOption{metric.WithDescription(desc), metric.WithUnit("{message}"), metric.WithInt64Callback(c.observe)}
		if upDown {
			_, err = m.Int64ObservableUpDownCounter(name, upDownOptions(opts)...)
		} else {
			_, err = m.Int64ObservableCounter(name, counterOptions(opts)...)
		}
		errs = append(errs, err)
		return c
	}
	in.sent = count(messagingconv.ClientSentMessages{}.Name(), messagingconv.ClientSentMessages{}.Description(), false)
	in.consumed = count(messagingconv.ClientConsumedMessages{}.Name(), messagingconv.ClientConsumedMessages{}.Description(), false)
	in.nacked = count("snssqs.messages.nacked", "Messages made visible again after a backoff because their handling failed.", false)
	in.released = count("snssqs.messages.released", "Messages made visible again unhandled: at shutdown, or behind a failed message of their FIFO group.", false)
	in.deadLetter = count("snssqs.messages.dead_letter_bound", "Messages not deleted on the delivery at their queue's maxReceiveCount: the redrive policy moves them to the dead-letter queue.", false)
	in.extensions = count("snssqs.heartbeat.extensions", "Visibility extensions of messages held while they wait for or run their handler.", false)
	in.inFlight = count("snssqs.messages.in_flight", "Messages received and not yet finished (handled, nacked or released).", true)
	return in, errors.Join(errs...)
}

func counterOptions(opts []metric.Int64ObservableOption) []metric.Int64ObservableCounterOption {
	out := make([]metric.Int64ObservableCounterOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}

func upDownOptions(opts []metric.Int64ObservableOption) []metric.Int64ObservableUpDownCounterOption {
	out := make([]metric.Int64ObservableUpDownCounterOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}

// attrPool reuses the attribute slices spans are started with: the SDK
// copies a span's start attributes, so the slice is free once Start returned.
type attrPool struct{ p sync.Pool }

func (a *attrPool) get() *[]attribute.KeyValue {
	if s, ok := a.p.Get().(*[]attribute.KeyValue); ok {
		return s
	}
	s := make([]attribute.KeyValue, 0, 8)
	return &s
}

func (a *attrPool) put(s *[]attribute.KeyValue) {
	clear(*s) // drop the strings the attributes hold
	*s = (*s)[:0]
	a.p.Put(s)
}
