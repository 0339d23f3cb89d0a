package snssqs

import (
	"context"
	"strings"
)

// Propagator carries trace context across SNS and SQS: the Publisher
// injects it into each message, the Subscriber extracts it into the
// handler's context. Its methods have the shape of OpenTelemetry's
// propagation.TextMapPropagator, whose carriers have the same methods as
// Carrier, so one adapts in a line (package otelsnssqs does); any other
// tracing system can implement it too.
type Propagator interface {
	// Inject writes the trace context of ctx into carrier.
	Inject(ctx context.Context, carrier Carrier)
	// Extract returns ctx with the trace context read from carrier.
	Extract(ctx context.Context, carrier Carrier) context.Context
}

// Carrier is where a Propagator reads and writes trace context: for the
// Publisher, the envelope's CloudEvents extensions, so "traceparent" and
// "tracestate" become the CloudEvents distributed-tracing extension (keys
// that are not valid extension names go into message attributes); for the
// Subscriber, the envelope's extensions, then the message attributes, then
// the SQS system attribute AWSTraceHeader under the key X-Amzn-Trace-Id
// (the X-Ray header). Bodies that are not CloudEvents carry trace context in
// message attributes only.
type Carrier interface {
	// Get returns the value of key, "" when absent.
	Get(key string) string
	// Set stores key's value.
	Set(key, value string)
	// Keys lists the keys present.
	Keys() []string
}

// XRayTraceHeader is the carrier key under which a Subscriber's Carrier
// returns the SQS system attribute AWSTraceHeader, as the X-Ray propagator
// reads it.
const XRayTraceHeader = "X-Amzn-Trace-Id"

// publishCarrier writes trace context into a message being prepared:
// valid extension names (traceparent, tracestate) into the envelope's
// extensions, other keys into message attributes. It never replaces a
// value the caller set (WithExtension, WithAttribute).
type publishCarrier struct{ c *publishConfig }

var _ Carrier = publishCarrier{}

func (p publishCarrier) Get(key string) string {
	if v, ok := p.c.extensions[strings.ToLower(key)].(string); ok {
		return v
	}
	if a, ok := p.c.attributes[key]; ok && !a.IsBinary() {
		return a.StringValue
	}
	return ""
}

func (p publishCarrier) Set(key, value string) {
	if value == "" {
		return
	}
	if name := strings.ToLower(key); validateExtensionName(name) == nil {
		if _, set := p.c.extensions[name]; !set {
			WithExtension(name, value)(p.c)
		}
		return
	}
	if _, set := p.c.attributes[key]; !set {
		WithAttribute(key, StringAttribute(value))(p.c)
	}
}

func (p publishCarrier) Keys() []string {
	keys := make([]string, 0, len(p.c.extensions)+len(p.c.attributes))
	for k := range p.c.extensions {
		keys = append(keys, k)
	}
	for k := range p.c.attributes {
		keys = append(keys, k)
	}
	return keys
}

// messageCarrier reads trace context from a received message.
type messageCarrier struct{ m *Message }

var _ Carrier = messageCarrier{}

func (c messageCarrier) Get(key string) string {
	if c.m.IsEnvelope {
		if v, ok := c.m.Extensions[strings.ToLower(key)].(string); ok {
			return v
		}
	}
	if a, ok := c.m.Attributes[key]; ok && !a.IsBinary() {
		return a.StringValue
	}
	if strings.EqualFold(key, XRayTraceHeader) {
		return c.m.AWSTraceHeader
	}
	return ""
}

// Set does nothing: a received message is not changed.
func (c messageCarrier) Set(string, string) {}

func (c messageCarrier) Keys() []string {
	keys := make([]string, 0, len(c.m.Extensions)+len(c.m.Attributes)+1)
	if c.m.IsEnvelope {
		for k, v := range c.m.Extensions {
			if _, ok := v.(string); ok {
				keys = append(keys, k)
			}
		}
	}
	for k, a := range c.m.Attributes {
		if !a.IsBinary() {
			keys = append(keys, k)
		}
	}
	if c.m.AWSTraceHeader != "" {
		keys = append(keys, XRayTraceHeader)
	}
	return keys
}
