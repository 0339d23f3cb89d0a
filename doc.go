// Package snssqs makes event-driven messaging between services over Amazon
// SNS and SQS reliable, fast and pleasant.
//
// A Publisher wraps each event in a CloudEvents 1.0 JSON envelope and
// publishes it to an SNS topic by ARN; concurrent publishes to one topic are
// coalesced into PublishBatch requests. A Subscriber long-polls one or more
// SQS queues, decodes every message (SNS notification JSON or raw delivery,
// CloudEvents envelope or any other body) and dispatches it to the handler
// registered for its event type. Handlers can be added and removed while the
// subscriber runs. Package provision creates a topic, its queues, dead-letter queues,
// subscriptions and queue policies idempotently.
//
// A QueuePublisher sends the same envelopes straight to SQS queues, with no
// topic (provision.ApplyQueue creates such a queue). With a PayloadStore (package
// s3offload, a nested module, keeps them in S3) bodies too large for a
// message travel outside it, as a pointer in the format of the AWS Extended
// Client Libraries; the Subscriber fetches them, retrying a failed fetch
// like a handler error, and deletes each after its message.
//
// # Delivery semantics
//
// Delivery is at least once, and nothing is lost silently:
//
//   - A message is deleted only after its handler returned nil. Deletes are
//     batched (DeleteMessageBatch) and flushed within a short bound, and on
//     Shutdown.
//   - A handler error (or panic, or timeout) never deletes the message: its
//     visibility is changed to an exponential backoff computed from its
//     ApproximateReceiveCount, so it comes back later without a retry storm.
//     After the queue's maxReceiveCount the queue's redrive policy moves it to
//     the dead-letter queue, where it is kept for inspection.
//   - Messages with no handler for their type, and messages that cannot be
//     decoded or claim a topic outside the allow-list, follow a policy whose
//     default is the same as a failure: they come back and end in the
//     dead-letter queue, never in the void. Each case is logged.
//   - While a handler runs, the subscriber extends the message's visibility
//     (a heartbeat, batched) so long work is not handed to a second
//     consumer. A queue is not polled while all its workers are busy;
//     received messages may wait for a worker in a prefetch window of at
//     most Prefetch, and the heartbeat holds them too. The receives in flight
//     and the window adapt to the measured round trip and handling rate.
//   - On Shutdown the subscriber starts no receive, waits for running
//     handlers up to a deadline, flushes pending deletes and makes received
//     but unstarted messages visible again once every receive in progress
//     has returned, so that it never receives them again itself.
//   - Because delivery is at least once (a consumer can crash after its
//     handler succeeded and before the delete reached SQS; standard queues
//     may deliver a message twice), handlers must be idempotent. Use
//     Message.ID, the CloudEvents id, to detect duplicates.
//   - Standard topics and queues do not keep order; a message group id on
//     them marks a tenant of SQS fair queues and orders nothing. FIFO topics
//     and queues keep order within a message group; the subscriber handles
//     the messages of one group of a .fifo queue one at a time, in order,
//     across all its receives.
//
// # Architecture
//
// The root package is the public API: Publisher, QueuePublisher,
// Subscriber, Message, Envelope, the options, hooks, errors, middleware and
// the narrow client interfaces. Everything else is a package of its own,
// and nothing under internal/ knows the root:
//
//   - provision creates topics, queues, dead-letter queues, subscriptions
//     and queue policies; it needs the root only for ErrInvalidOptions.
//   - internal/codec is the wire format: the CloudEvents envelope
//     (snssqs.Envelope converts to codec.Envelope), the SNS notification and
//     the JSON scanner both read with.
//   - internal/publish is the publish engine. Publisher and QueuePublisher
//     share one core: it checks the destination, validates and builds the
//     message (prepare, with codec), calls the Publish hook, and hands the
//     message to a publish.Batcher. The Batcher coalesces concurrent sends
//     to each destination by group commit and makes the requests through a
//     Sender (SNS: Publish and PublishBatch; SQS: SendMessage and
//     SendMessageBatch), calling the Request hook around each.
//   - internal/consume is the consume engine. The Subscriber starts one
//     consume.Engine per queue, in one goroutine each, and gives it a handle
//     function (decode with codec, route by type, run the middleware chain
//     and the handler), a logger, an error callback and an Observer (which
//     it turns into the Received, Released, Request and Flow hooks). The
//     engine knows nothing of the Subscriber. It ends every message in one
//     place, finish, where the message's heartbeat stops before its delete,
//     nack or release is queued; the Handle hook's end is called from there
//     (Delivery.OnFinish), so it sees exactly how the message ended.
//   - internal/batch holds what both engines' batch calls share: the
//     goroutine pool that makes them (publish senders, ack batchers) and the
//     mapping of batch entry ids back to entries.
//   - internal/awslimits and internal/logx hold the SNS/SQS limits and the
//     debug-level check that several packages use.
//
// Goroutines and their owners: a Subscriber owns one goroutine per queue it
// consumes, each running an Engine until the queue has no handler or the
// Subscriber shuts down. An Engine owns its receivers, its workers, its
// heartbeat and its two ack batchers (deletes, visibility changes), and each
// ack batcher its pool of batch calls; Engine.Run returns only when all of
// them have ended. A Publisher's or QueuePublisher's Batcher owns its
// senders (a batch.Pool keeping at most MaxInFlightBatches idle) and its
// linger timers; Shutdown ends them. No goroutine outlives Close or
// Shutdown, and none reaches back into its owner. Hooks run inline on these
// goroutines; unset hooks cost nothing.
//
// # Observability
//
// PublisherOptions.Hooks and SubscriberOptions.Hooks let tracing, metrics
// and tests watch a Publisher or Subscriber at fixed points without a
// dependency: package otelsnssqs (a nested module) implements them with
// OpenTelemetry. Every hook is optional and an unset one costs nothing:
// nothing is built for it. Hooks run on the library's goroutines, inline,
// so they must be fast and must not block; they may be called concurrently.
// A Propagator carries trace context in the CloudEvents envelope (see
// Carrier). Publisher.Stats and Subscriber.Stats are cheap counters and
// gauges for health checks.
//
// # Errors
//
// Errors wrap one of a few sentinel errors (ErrInvalidARN, ErrMessageTooLarge,
// ErrInvalidAttribute, ...) so callers can test them with errors.Is; errors
// returned by AWS stay reachable with errors.As.
//
// # Testing
//
// The SNS and SQS clients are taken as narrow interfaces (SNSPublishAPI,
// SQSConsumeAPI, ...) that users can mock. Package snssqstest is an
// in-process SNS+SQS emulator speaking the AWS wire protocols, for tests and
// examples with real aws-sdk-go-v2 clients and no external service.
package snssqs
