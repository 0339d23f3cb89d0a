package publish

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/snssqs/snssqs/internal/batch"
)

// Sender makes the requests of one kind of destination for the
// Batcher: SNS topics (SNSSender) or SQS queues (SQSSender).
type Sender interface {
	// SendOne sends one message with the single-message API.
	SendOne(ctx context.Context, dest string, m *Message) Result
	// SendBatch sends 2 to awslimits.MaxBatchEntries messages in one batch
	// request and returns one result per message, in order, and the
	// request's error (which each result then wraps).
	SendBatch(ctx context.Context, dest string, ms []*Message) ([]Result, error)
	// MaxBatchBytes is the limit on the total size of one batch request.
	MaxBatchBytes() int
}

// apiSender is the Sender over one service's API, whose batch entries are
// of type E: one request builds E with entry and sends it with one, a
// batch with batch.
type apiSender[E any] struct {
	maxBytes int
	entry    func(id *string, m *Message) E
	one      func(ctx context.Context, dest string, e E) (messageID, sequenceNumber *string, err error)
	batch    func(ctx context.Context, dest string, es []E) ([]batchEntryOutcome, error)
}

// MaxBatchBytes is the service's limit on one batch request.
func (s apiSender[E]) MaxBatchBytes() int { return s.maxBytes }

// SendOne sends m with the single-message API.
func (s apiSender[E]) SendOne(ctx context.Context, dest string, m *Message) Result {
	id, seq, err := s.one(ctx, dest, s.entry(nil, m))
	return singleResult(dest, m, id, seq, err)
}

// SendBatch sends ms in one batch request, the entry ids their indexes.
func (s apiSender[E]) SendBatch(ctx context.Context, dest string, ms []*Message) ([]Result, error) {
	es := make([]E, len(ms))
	for i, m := range ms {
		es[i] = s.entry(batch.EntryID(i), m)
	}
	outcomes, err := s.batch(ctx, dest, es)
	if err != nil {
		return failAll(dest, ms, err), err
	}
	return batchResults(dest, ms, outcomes), nil
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
func batchResults(dest string, ms []*Message, outcomes []batchEntryOutcome) []Result {
	results := make([]Result, len(ms))
	answered := make([]bool, len(ms))
	for _, o := range outcomes {
		i, ok := batch.EntryIndex(o.id, len(ms))
		if !ok || answered[i] {
			continue
		}
		answered[i] = true
		switch {
		case o.failed:
			fault := smithy.FaultServer
			if o.senderFault {
				fault = smithy.FaultClient
			}
			apiErr := &smithy.GenericAPIError{Code: aws.ToString(o.code), Message: aws.ToString(o.message), Fault: fault}
			results[i].Err = fmt.Errorf("snssqs: publishing %q to %s: %w", ms[i].EventType, dest, apiErr)
		case o.messageID == nil:
			results[i].Err = fmt.Errorf("snssqs: publishing %q to %s: batch response has no MessageId", ms[i].EventType, dest)
		default:
			results[i].MessageID = *o.messageID
			results[i].SequenceNumber = aws.ToString(o.sequenceNumber)
		}
	}
	for i, ok := range answered {
		if !ok {
			results[i].Err = fmt.Errorf("snssqs: publishing %q to %s: batch response has no result for the entry", ms[i].EventType, dest)
		}
	}
	return results
}

// failAll gives every message the error of a failed request.
func failAll(dest string, ms []*Message, err error) []Result {
	results := make([]Result, len(ms))
	for i, m := range ms {
		results[i].Err = fmt.Errorf("snssqs: publishing %q to %s (batch of %d): %w", m.EventType, dest, len(ms), err)
	}
	return results
}

// singleResult is the result of a single-message request.
func singleResult(dest string, m *Message, messageID, sequenceNumber *string, err error) Result {
	switch {
	case err != nil:
		return Result{Err: fmt.Errorf("snssqs: publishing %q to %s: %w", m.EventType, dest, err)}
	case messageID == nil:
		return Result{Err: fmt.Errorf("snssqs: publishing %q to %s: response has no MessageId", m.EventType, dest)}
	default:
		return Result{MessageID: *messageID, SequenceNumber: aws.ToString(sequenceNumber)}
	}
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
