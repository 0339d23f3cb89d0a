package otelsnssqs_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/otelsnssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

// rig is an emulator with clients, and an Instrumentation recording to an
// in-memory span recorder and a manual metric reader.
type rig struct {
	sns    *sns.Client
	sqs    *sqs.Client
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	inst   *otelsnssqs.Instrumentation
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig()
	r := &rig{sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	r.inst, err = otelsnssqs.New(otelsnssqs.WithTracerProvider(tp), otelsnssqs.WithMeterProvider(mp),
		otelsnssqs.WithPropagator(propagation.TraceContext{}))
	require.NoError(t, err)
	return r
}

// publisher returns an instrumented Publisher, closed with the test.
func (r *rig) publisher(t *testing.T) *snssqs.Publisher {
	t.Helper()
	p, err := snssqs.NewPublisher(r.sns, r.inst.Publisher)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// subscriber returns an instrumented Subscriber with a short long poll (so
// Close is quick), then opts.
func (r *rig) subscriber(t *testing.T, opts ...func(*snssqs.SubscriberOptions)) *snssqs.Subscriber {
	t.Helper()
	all := append([]func(*snssqs.SubscriberOptions){r.inst.Subscriber, func(o *snssqs.SubscriberOptions) { o.WaitTime = time.Second }}, opts...)
	s, err := snssqs.NewSubscriber(r.sqs, all...)
	require.NoError(t, err)
	return s
}

// run runs s until the returned function is called, which closes it and
// checks Run's result.
func run(t *testing.T, s *snssqs.Subscriber) (stop func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context()) }()
	return func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	}
}

// metrics collects the metrics, by name.
func (r *rig) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	out := make(map[string]metricdata.Metrics)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sum adds the values of a counter's data points whose attributes include
// every one of match.
func sum(t *testing.T, ms map[string]metricdata.Metrics, name string, match ...attribute.KeyValue) int64 {
	t.Helper()
	return total(t, ms, name, sumPoint, func(a attribute.Set) bool { return hasAll(a, match) })
}

// count adds the counts of a histogram's data points whose attributes
// include every one of match.
func count(t *testing.T, ms map[string]metricdata.Metrics, name string, match ...attribute.KeyValue) uint64 {
	t.Helper()
	return total(t, ms, name, func(dp metricdata.HistogramDataPoint[float64]) (attribute.Set, uint64) {
		return dp.Attributes, dp.Count
	},
		func(a attribute.Set) bool { return hasAll(a, match) })
}

// withoutKey adds the values of a counter's data points that lack key.
func withoutKey(t *testing.T, ms map[string]metricdata.Metrics, name string, key attribute.Key) int64 {
	t.Helper()
	return total(t, ms, name, sumPoint, func(a attribute.Set) bool { _, has := a.Value(key); return !has })
}

func sumPoint(dp metricdata.DataPoint[int64]) (attribute.Set, int64) { return dp.Attributes, dp.Value }

// total adds what value gives of the data points of metric name, of
// type D, whose attributes keep accepts; 0 when the metric was not
// recorded.
func total[D any, V int64 | uint64](t *testing.T, ms map[string]metricdata.Metrics, name string, value func(D) (attribute.Set, V), keep func(attribute.Set) bool) V {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		return 0
	}
	var points []D
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		points, ok = any(data.DataPoints).([]D)
	case metricdata.Histogram[float64]:
		points, ok = any(data.DataPoints).([]D)
	default:
		ok = false
	}
	require.True(t, ok, "%s holds %T", name, m.Data)
	var n V
	for _, dp := range points {
		if attrs, v := value(dp); keep(attrs) {
			n += v
		}
	}
	return n
}

// destinations lists the messaging.destination.name of a metric's data
// points.
func destinations(ms map[string]metricdata.Metrics, name string) []string {
	var out []string
	if data, ok := ms[name].Data.(metricdata.Sum[int64]); ok {
		for _, dp := range data.DataPoints {
			v, _ := dp.Attributes.Value(semconv.MessagingDestinationNameKey)
			out = append(out, v.AsString())
		}
	}
	return out
}

func hasAll(set attribute.Set, match []attribute.KeyValue) bool {
	for _, kv := range match {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}
