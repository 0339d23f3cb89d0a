package main

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/snssqs/snssqs/otelsnssqs"
)

// telemetry is the OpenTelemetry setup of the snssqs-otel contender, as a
// production service would have it: every span sampled (or -otel-sampling of
// the traces) and handed to a
// batch span processor (whose exporter drops them: exporting is the
// collector's cost, not the library's), and every metric aggregated by the
// SDK for a reader.
type telemetry struct {
	tp   *sdktrace.TracerProvider
	mp   *sdkmetric.MeterProvider
	inst *otelsnssqs.Instrumentation
}

// newTelemetry samples the given fraction of traces (0 or 1: all).
func newTelemetry(sampling float64) (*telemetry, error) {
	sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
	if sampling > 0 && sampling < 1 {
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(sampling))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithSampler(sampler))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	inst, err := otelsnssqs.New(otelsnssqs.WithTracerProvider(tp), otelsnssqs.WithMeterProvider(mp),
		otelsnssqs.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("otelsnssqs.New: %w", err), tp.Shutdown(context.Background()), mp.Shutdown(context.Background()))
	}
	return &telemetry{tp: tp, mp: mp, inst: inst}, nil
}

// shutdown stops the providers; nil t (no telemetry) is a no-op.
func (t *telemetry) shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}

// discardSpans is a span exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }
