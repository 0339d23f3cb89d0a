package snssqs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/smithy-go"
)

// batchSender makes the requests of one kind of destination for the
// batcher: SNS topics (snsSender) or SQS queues (sqsSender).
type batchSender interface {
	// sendOne sends one message with the single-message API.
	sendOne(ctx context.Context, dest string, m *outMessage) publishResult
	// sendBatch sends 2 to MaxPublishBatchEntries messages in one batch
	// request and returns one result per message, in order, and the
	// request's error (which each result then wraps).
	sendBatch(ctx context.Context, dest string, ms []*outMessage) ([]publishResult, error)
	// maxBatchBytes is the limit on the total size of one batch request.
	maxBatchBytes() int
	// service names the service, for hooks.
	service() Service
}

// batchEntryOutcome is one entry of a batch response, as SNS and SQS both
// report it.
type batchEntryOutcome struct {
	id             *string
	messageID      *string
	sequenceNumber *string
	failed         bool
	code, message  *string
	senderFault    bool
}

// outcomesOf lists a batch response's entries: successes and failures,
// through the accessors of the service's types.
func outcomesOf[S, F any](successful []S, failed []F, ok func(S) batchEntryOutcome, fail func(F) batchEntryOutcome) []batchEntryOutcome {
	out := make([]batchEntryOutcome, 0, len(successful)+len(failed))
	for _, e := range successful {
		out = append(out, ok(e))
	}
	for _, f := range failed {
		o := fail(f)
		o.failed = true
		out = append(out, o)
	}
	return out
}

// batchResults maps a batch response to one result per message: entry ids
// are the messages' indexes. A message the response does not answer, or
// answers twice, gets an error.
func batchResults(dest string, ms []*outMessage, outcomes []batchEntryOutcome) []publishResult {
	results := make([]publishResult, len(ms))
	answered := make([]bool, len(ms))
	for _, o := range outcomes {
		i, err := strconv.Atoi(stringOrEmpty(o.id))
		if err != nil || i < 0 || i >= len(ms) || answered[i] {
			continue
		}
		answered[i] = true
		switch {
		case o.failed:
			fault := smithy.FaultServer
			if o.senderFault {
				fault = smithy.FaultClient
			}
			apiErr := &smithy.GenericAPIError{Code: stringOrEmpty(o.code), Message: stringOrEmpty(o.message), Fault: fault}
			results[i].err = fmt.Errorf("snssqs: publishing %q to %s: %w", ms[i].eventType, dest, apiErr)
		case o.messageID == nil:
			results[i].err = fmt.Errorf("snssqs: publishing %q to %s: batch response has no MessageId", ms[i].eventType, dest)
		default:
			results[i].messageID = *o.messageID
			results[i].sequenceNumber = stringOrEmpty(o.sequenceNumber)
		}
	}
	for i, ok := range answered {
		if !ok {
			results[i].err = fmt.Errorf("snssqs: publishing %q to %s: batch response has no result for the entry", ms[i].eventType, dest)
		}
	}
	return results
}

// failAll gives every message the error of a failed request.
func failAll(dest string, ms []*outMessage, err error) []publishResult {
	results := make([]publishResult, len(ms))
	for i, m := range ms {
		results[i].err = fmt.Errorf("snssqs: publishing %q to %s (batch of %d): %w", m.eventType, dest, len(ms), err)
	}
	return results
}

// singleResult is the result of a single-message request.
func singleResult(dest string, m *outMessage, messageID, sequenceNumber *string, err error) publishResult {
	switch {
	case err != nil:
		return publishResult{err: fmt.Errorf("snssqs: publishing %q to %s: %w", m.eventType, dest, err)}
	case messageID == nil:
		return publishResult{err: fmt.Errorf("snssqs: publishing %q to %s: response has no MessageId", m.eventType, dest)}
	default:
		return publishResult{messageID: *messageID, sequenceNumber: stringOrEmpty(sequenceNumber)}
	}
}
