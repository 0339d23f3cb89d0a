// Package provision creates, idempotently, what snssqs publishes to and
// consumes from: Apply makes an SNS topic, its SQS queues with their
// dead-letter queues and redrive policies, the subscriptions (raw or not,
// with filter policies) and the queue policies that let the topic deliver;
// ApplyQueue makes a queue no topic feeds, for a snssqs.QueuePublisher.
// Both bring existing resources in line with the spec and can run on every
// start of a service. Invalid specs fail with an error wrapping
// snssqs.ErrInvalidOptions before any request.
package provision
