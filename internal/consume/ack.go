package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/batch"
)

const (
	// maxAckBatch is the most entries SQS accepts in one batch call.
	maxAckBatch = 10
	// ackSendsInFlight bounds the concurrent batch calls of one batcher. By
	// Little's law it bounds the ack rate to ackSendsInFlight×10 per round
	// trip: 4 held a 50 ms network to 800 messages/s (measured), 16 allow
	// 3200; on the loopback a call takes well under a millisecond and
	// fewer run.
	ackSendsInFlight = 16
	// ackCallTimeout bounds each batch call. Acks are sent even during and
	// after shutdown, so they cannot use the caller's context deadline.
	ackCallTimeout = 30 * time.Second
)

// Ack operations, as they appear in logs and in AckError.Op.
const (
	OpDelete     = "delete"
	OpVisibility = "change visibility"
	OpHeartbeat  = "extend visibility"
)

// ErrBatchFailed reports that SQS rejected an entry inside a successful
// batch call; the snssqs package exports it as snssqs.ErrBatchFailed.
var ErrBatchFailed = errors.New("snssqs: batch entries failed")

// AckError reports a delete, visibility change or heartbeat extension of
// one message that failed (deletes and visibility changes after AckRetries
// retries). A failed delete means the message will be
// delivered again. Err wraps ErrBatchFailed when SQS rejected the entry
// inside a successful batch call (Code is then SQS's error code), and is the
// call's error otherwise, so AWS errors stay reachable with errors.As.
type AckError struct {
	// Op is "delete", "change visibility" or "extend visibility".
	Op string
	// QueueURL is the message's queue.
	QueueURL string
	// SQSMessageID identifies the message.
	SQSMessageID string
	// Code is SQS's per-entry error code, empty for a failed call.
	Code string
	// Err is the cause.
	Err error
}

// Error describes the failure.
func (e *AckError) Error() string {
	return fmt.Sprintf("snssqs: %s of message %s on %s failed: %v", e.Op, e.SQSMessageID, e.QueueURL, e.Err)
}

// Unwrap returns the cause.
func (e *AckError) Unwrap() error { return e.Err }

// ackEntry is one pending delete or visibility change.
type ackEntry struct {
	messageID  string
	receipt    string
	visibility int32  // for visibility changes only
	done       func() // run once the entry succeeded; nil for none
}

// entryFailure is a rejected entry of a batch call; index points into the
// entries sent.
type entryFailure struct {
	index       int
	code        string
	message     string
	senderFault bool
}

// batchSendFunc sends up to maxAckBatch entries in one call and returns the
// entries SQS rejected, or the call's error.
type batchSendFunc func(ctx context.Context, entries []ackEntry) ([]entryFailure, error)

// ackBatcher collects entries of one kind for one queue and sends them in
// batches of up to 10: as soon as 10 are pending, or flushInterval after the
// first of a batch arrived. Failed entries are retried (only those) up to
// retries times, immediately: whole-call failures have already been retried
// with backoff by the SDK's retryer. Entries SQS rejects as the sender's
// fault (an invalid receipt handle, say) are not retried.
//
// Adding an entry takes a lock, not a hand-off: the caller that fills a
// batch sends it, and the batcher's goroutine wakes once per batch, to
// send it when its interval is over.
type ackBatcher struct {
	op            string
	queueURL      string
	send          batchSendFunc
	clk           clock.Clock
	flushInterval time.Duration
	retries       int
	// fail is told about each entry that finally failed.
	fail func(*AckError)
	// base carries values (not cancellation) into batch calls.
	base context.Context
	// observe, when set (before start), is told about each batch call.
	observe func(Request)

	mu      sync.Mutex
	batch   []ackEntry // pending, fewer than maxAckBatch
	started time.Time  // when the pending batch's first entry arrived
	closed  bool

	begun   chan struct{} // a batch was begun (buffered: one signal)
	closing chan struct{}
	senders *batch.Pool[[]ackEntry] // up to ackSendsInFlight calls at once
	done    chan struct{}
}

func newAckBatcher(base context.Context, op, queueURL string, send batchSendFunc, clk clock.Clock, flushInterval time.Duration, retries int, fail func(*AckError)) *ackBatcher {
	b := &ackBatcher{
		op: op, queueURL: queueURL, send: send, clk: clk,
		flushInterval: flushInterval, retries: retries, fail: fail,
		base:    context.WithoutCancel(base),
		begun:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	b.senders = batch.NewPool(ackSendsInFlight, ackSendsInFlight, b.sendWithRetries)
	return b
}

// start runs the batcher's linger goroutine until close.
func (b *ackBatcher) start() { go b.run() }

// add queues an entry; the entry that fills a batch sends it, waiting while
// ackSendsInFlight calls are already running. It must not be called after
// close.
func (b *ackBatcher) add(e ackEntry) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		panic("snssqs: internal error: ack added after its batcher closed") // the entry would never be sent
	}
	first := b.batch == nil
	if first {
		b.batch = make([]ackEntry, 0, maxAckBatch)
		b.started = b.clk.Now()
	}
	b.batch = append(b.batch, e)
	var full []ackEntry
	if len(b.batch) == maxAckBatch {
		full, b.batch = b.batch, nil
	}
	b.mu.Unlock()
	switch {
	case full != nil:
		b.dispatch(full)
	case first:
		select {
		case b.begun <- struct{}{}:
		default: // already signaled
		}
	}
}

// close sends what is pending, waits for all calls to finish and stops the
// batcher.
func (b *ackBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.closing)
	<-b.done
}

// run sends each batch that is not filled within flushInterval of its first
// entry, and what is pending at close.
func (b *ackBatcher) run() {
	defer close(b.done)
	defer b.senders.Close() // waits for the calls in flight
	for {
		select {
		case <-b.begun:
			b.linger()
		case <-b.closing:
			b.mu.Lock()
			batch := b.batch
			b.batch = nil
			b.mu.Unlock()
			if batch != nil {
				b.dispatch(batch)
			}
			return
		}
	}
}

// linger waits until the pending batch is flushInterval old and sends it;
// it returns early when the batch was filled (and sent by add) or the
// batcher is closing. A batch begun meanwhile is waited for by its own age.
func (b *ackBatcher) linger() {
	for {
		b.mu.Lock()
		if b.batch == nil {
			b.mu.Unlock()
			return
		}
		wait := b.started.Add(b.flushInterval).Sub(b.clk.Now())
		var batch []ackEntry
		if wait <= 0 {
			batch, b.batch = b.batch, nil
		}
		b.mu.Unlock()
		if batch != nil {
			b.dispatch(batch)
			return
		}
		if !clock.Sleep(b.clk, wait, b.closing) {
			return
		}
	}
}

// dispatch sends batch from a sender goroutine, waiting while
// ackSendsInFlight calls are already running.
func (b *ackBatcher) dispatch(entries []ackEntry) { b.senders.Submit(entries, nil) }

func (b *ackBatcher) sendWithRetries(pending []ackEntry) {
	for attempt := 0; ; attempt++ {
		last := attempt >= b.retries
		ctx, cancel := context.WithTimeout(b.base, ackCallTimeout)
		start := time.Now()
		failures, err := b.send(ctx, pending)
		cancel()
		if b.observe != nil {
			b.observe(batchCall(b.op, len(pending), len(failures), time.Since(start), err))
		}
		if err != nil {
			if last {
				for _, e := range pending {
					b.fail(&AckError{Op: b.op, QueueURL: b.queueURL, SQSMessageID: e.messageID, Err: err})
				}
				return
			}
			continue
		}
		var retry []ackEntry
		var failed map[int]bool // nil (and not allocated) when every entry succeeded
		for _, f := range failures {
			if failed == nil {
				failed = make(map[int]bool, len(failures))
			}
			failed[f.index] = true
			e := pending[f.index]
			if last || f.senderFault {
				b.fail(&AckError{
					Op: b.op, QueueURL: b.queueURL, SQSMessageID: e.messageID, Code: f.code,
					Err: fmt.Errorf("%w: %s: %s", ErrBatchFailed, f.code, f.message),
				})
				continue
			}
			retry = append(retry, e)
		}
		for i, e := range pending {
			if e.done != nil && !failed[i] {
				e.done()
			}
		}
		if len(retry) == 0 {
			return
		}
		pending = retry
	}
}

// entryFailures maps the failed entries of a batch call of n entries back
// to their indexes, skipping ids the call did not send.
func entryFailures(failed []types.BatchResultErrorEntry, n int) []entryFailure {
	if len(failed) == 0 {
		return nil
	}
	out := make([]entryFailure, 0, len(failed))
	for _, f := range failed {
		if i, ok := batch.EntryIndex(f.Id, n); ok {
			out = append(out, entryFailure{index: i, code: aws.ToString(f.Code), message: aws.ToString(f.Message), senderFault: f.SenderFault})
		}
	}
	return out
}

// deleteSender sends DeleteMessageBatch calls for queueURL.
func deleteSender(client Client, queueURL string) batchSendFunc {
	return func(ctx context.Context, entries []ackEntry) ([]entryFailure, error) {
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: make([]types.DeleteMessageBatchRequestEntry, len(entries))}
		for i, e := range entries {
			in.Entries[i] = types.DeleteMessageBatchRequestEntry{Id: batch.EntryID(i), ReceiptHandle: aws.String(e.receipt)}
		}
		out, err := client.DeleteMessageBatch(ctx, in)
		if err != nil {
			return nil, err
		}
		return entryFailures(out.Failed, len(entries)), nil
	}
}

// visibilitySender sends ChangeMessageVisibilityBatch calls for queueURL.
func visibilitySender(client Client, queueURL string) batchSendFunc {
	return func(ctx context.Context, entries []ackEntry) ([]entryFailure, error) {
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(queueURL), Entries: make([]types.ChangeMessageVisibilityBatchRequestEntry, len(entries))}
		for i, e := range entries {
			in.Entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id: batch.EntryID(i), ReceiptHandle: aws.String(e.receipt), VisibilityTimeout: e.visibility,
			}
		}
		out, err := client.ChangeMessageVisibilityBatch(ctx, in)
		if err != nil {
			return nil, err
		}
		return entryFailures(out.Failed, len(entries)), nil
	}
}
