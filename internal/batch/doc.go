// Package batch holds what the batch calls of both engines share, the
// publish engine's PublishBatch and SendMessageBatch and the consume
// engine's DeleteMessageBatch and ChangeMessageVisibilityBatch: the Pool of
// goroutines that make them, and the ids that tie a batch response's
// entries back to the request's (EntryID, EntryIndex).
package batch
