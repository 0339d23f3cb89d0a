// Package otelsnssqs instruments snssqs Publishers and Subscribers with
// OpenTelemetry traces and metrics. It is a nested module, so that only
// programs that import it download OpenTelemetry:
//
//	inst, err := otelsnssqs.New(
//		otelsnssqs.WithTracerProvider(tp),
//		otelsnssqs.WithMeterProvider(mp),
//		otelsnssqs.WithPropagator(propagation.TraceContext{}),
//	)
//	pub, err := snssqs.NewPublisher(snsClient, inst.Publisher)
//	sub, err := snssqs.NewSubscriber(sqsClient, inst.Subscriber)
//
// Publisher and Subscriber set the options' Hooks and Propagator (replacing
// any set before them; call them before your own option functions to wrap
// them instead).
//
// # Traces
//
// Every message published gets a producer span, "create <topic or queue>",
// whose context the propagator injects into the CloudEvents envelope
// (traceparent and tracestate, the CloudEvents distributed-tracing
// extension). Each request that carries messages gets a client span,
// "send <topic or queue>": a child of the message's span for a request of
// one message, and for a batch request a new trace linked to the span of
// every message in it. The Subscriber extracts the trace context of every
// message (the envelope's extensions, else message attributes, else the SQS
// system attribute AWSTraceHeader for an X-Ray propagator) and runs its
// handler in a consumer span, "process <queue>", a child of the message's
// producer span: one trace from Publish to the handler, across SNS and SQS.
// The handler's context carries the process span.
//
// Spans follow the OpenTelemetry messaging semantic conventions (semconv
// v1.40.0): messaging.system (aws.sns, aws_sqs), messaging.destination.name,
// messaging.operation.type and .name, messaging.message.id (the SNS or SQS
// message id), messaging.batch.message_count, error.type; plus
// cloudevents.event_id and cloudevents.event_type.
//
// # Metrics
//
// The semantic conventions' instruments:
//
//   - messaging.client.operation.duration (s): every SNS and SQS request —
//     publish and send requests, receives, deletes and visibility changes
//     (operation names send, receive, delete, change_visibility,
//     extend_visibility);
//   - messaging.client.sent.messages: messages published, with error.type
//     for failures;
//   - messaging.client.consumed.messages: messages received;
//   - messaging.process.duration (s): handler runs, with error.type set to
//     the outcome (nacked, panicked, timed_out, unknown_type, malformed,
//     abandoned) when the message was not handled.
//
// And the library's:
//
//   - snssqs.messages.nacked: messages made visible again after a failure;
//   - snssqs.messages.released: messages made visible again unhandled (at
//     shutdown, or behind a failed message of their FIFO group);
//   - snssqs.messages.dead_letter_bound: messages not deleted on the
//     delivery at their queue's maxReceiveCount, which the redrive policy
//     moves to the dead-letter queue;
//   - snssqs.messages.in_flight: messages received and not yet finished;
//   - snssqs.heartbeat.extensions: visibility extensions of messages held
//     by the heartbeat, with error.type for failed ones.
//
// Every metric carries messaging.system and messaging.destination.name.
// Counts are kept in atomics per attribute set and reported by observable
// instruments when metrics are collected (the exported data is the same
// cumulative sum as a synchronous counter's, for a fraction of the cost per
// message); durations are histograms. Measurements carry no exemplars
// unless WithExemplars is given.
//
// # Cost
//
// In the benchmark's loopback throughput run (bench module, contender
// snssqs-otel against snssqs) tracing every message costs about 1.2× the
// client CPU per message; with ParentBased(TraceIDRatioBased(0.1))
// sampling, 1.07×. Most of it is the SDK's own spans and the garbage they
// leave (BenchmarkHooks measures what the hooks do per message).
package otelsnssqs
