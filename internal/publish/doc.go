// Package publish is the publish engine of snssqs: a Batcher (the one
// entry point, New) coalesces the concurrent sends of a Publisher or a
// QueuePublisher to each destination into SNS or SQS requests, made by a
// Sender (SNSSender, SQSSender). It takes validated Messages and knows
// nothing of the publishers that feed it: they validate, build the
// envelope and report to their hooks; the Batcher queues, batches, sends,
// counts and hands each message's Result back.
package publish
