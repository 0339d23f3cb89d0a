package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/clock"
)

// batchRecorder is a batchSendFunc that records calls and fails as told.
type batchRecorder struct {
	mu      sync.Mutex
	calls   [][]ackEntry
	changed chan struct{}
	// fail returns the failures of a call, or its error.
	fail func(call int, entries []ackEntry) ([]entryFailure, error)
}

func newBatchRecorder() *batchRecorder { return &batchRecorder{changed: make(chan struct{})} }

func (r *batchRecorder) send(_ context.Context, entries []ackEntry) ([]entryFailure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]ackEntry(nil), entries...))
	close(r.changed)
	r.changed = make(chan struct{})
	if r.fail != nil {
		return r.fail(len(r.calls), entries)
	}
	return nil, nil
}

func (r *batchRecorder) waitCalls(t *testing.T, n int) [][]ackEntry {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		r.mu.Lock()
		calls, ch := r.calls, r.changed
		r.mu.Unlock()
		if len(calls) >= n {
			return calls
		}
		select {
		case <-ch:
		case <-limit.C:
			t.Fatalf("timed out waiting for %d calls, got %d", n, len(calls))
		}
	}
}

func (r *batchRecorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// failureSink collects AckErrors.
type failureSink struct {
	mu   sync.Mutex
	errs []*AckError
}

func (f *failureSink) add(e *AckError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, e)
}

func (f *failureSink) all() []*AckError {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*AckError(nil), f.errs...)
}

// newTestBatcher starts a delete batcher on the real clock: in a synctest
// bubble, the bubble's.
func newTestBatcher(t *testing.T, rec *batchRecorder, sink *failureSink, flush time.Duration, retries int) *ackBatcher {
	b := newAckBatcher(context.Background(), OpDelete, queueA, rec.send, clock.Real(), flush, retries, sink.add)
	b.start()
	return b
}

func entries(n int) []ackEntry {
	out := make([]ackEntry, n)
	for i := range out {
		out[i] = ackEntry{messageID: fmt.Sprintf("m%d", i), receipt: fmt.Sprintf("rh%d", i)}
	}
	return out
}

func TestAckBatcherFlushesFullBatchAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, sink := newBatchRecorder(), &failureSink{}
		b := newTestBatcher(t, rec, sink, time.Hour, 3)
		for _, e := range entries(25) {
			b.add(e)
		}
		calls := rec.waitCalls(t, 2)
		assert.Len(t, calls[0], 10)
		assert.Len(t, calls[1], 10)
		assert.Equal(t, 2, rec.callCount(), "the last 5 wait for the linger")
		b.close()
		calls = rec.waitCalls(t, 3)
		assert.Len(t, calls[2], 5, "close flushes the rest")
		assert.Empty(t, sink.all())
	})
}

func TestAckBatcherFlushesAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const flush = 50 * time.Millisecond
		rec, sink := newBatchRecorder(), &failureSink{}
		b := newTestBatcher(t, rec, sink, flush, 3)
		defer b.close()
		for _, e := range entries(3) {
			b.add(e)
		}
		time.Sleep(flush - time.Millisecond)
		synctest.Wait()
		assert.Zero(t, rec.callCount(), "not before the interval")
		time.Sleep(time.Millisecond)
		calls := rec.waitCalls(t, 1)
		assert.Equal(t, entries(3), calls[0], "all three in one batch, in order")

		b.add(entries(1)[0]) // a new batch starts a new interval
		start := time.Now()
		assert.Len(t, rec.waitCalls(t, 2)[1], 1)
		assert.Equal(t, flush, time.Since(start))
	})
}

func TestAckBatcherBatchBegunWhileLingeringWaitsItsOwnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const flush = 50 * time.Millisecond
		rec, sink := newBatchRecorder(), &failureSink{}
		b := newTestBatcher(t, rec, sink, flush, 3)
		defer b.close()
		es := entries(11)
		for _, e := range es[:3] {
			b.add(e)
		}
		time.Sleep(30 * time.Millisecond)
		for _, e := range es[3:10] {
			b.add(e) // the tenth fills the batch: it is sent at once
		}
		assert.Equal(t, es[:10], rec.waitCalls(t, 1)[0])
		b.add(es[10]) // begins a batch 30ms into the first one's interval
		begun := time.Now()
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 1, rec.callCount(), "the new batch is not sent at the first one's deadline")
		assert.Equal(t, es[10:], rec.waitCalls(t, 2)[1])
		assert.Equal(t, flush, time.Since(begun), "sent at its own deadline")
		assert.Empty(t, sink.all())
	})
}

func TestAckBatcherAddAfterCloseIsLoud(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, sink := newBatchRecorder(), &failureSink{}
		b := newTestBatcher(t, rec, sink, time.Hour, 3)
		b.close()
		assert.Panics(t, func() { b.add(entries(1)[0]) }, "an ack that would never be sent is a bug, not a silent loss")
	})
}

func TestAckBatcherRetriesOnlyFailedEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, sink := newBatchRecorder(), &failureSink{}
		rec.fail = func(call int, es []ackEntry) ([]entryFailure, error) {
			var out []entryFailure
			for i, e := range es {
				switch e.messageID {
				case "m1": // fails twice, then succeeds
					if call <= 2 {
						out = append(out, entryFailure{index: i, code: "InternalError"})
					}
				case "m2": // always fails
					out = append(out, entryFailure{index: i, code: "InternalError", message: "broken"})
				case "m3": // the sender's fault: never retried
					out = append(out, entryFailure{index: i, code: "ReceiptHandleIsInvalid", senderFault: true})
				}
			}
			return out, nil
		}
		b := newTestBatcher(t, rec, sink, time.Hour, 3) // close flushes all in one batch
		var mu sync.Mutex
		var succeeded []string
		for _, e := range entries(4) {
			e.done = func() { // e.g. deleting the message's S3 payload
				mu.Lock()
				succeeded = append(succeeded, e.messageID)
				mu.Unlock()
			}
			b.add(e)
		}
		b.close()
		calls := rec.waitCalls(t, 1)
		mu.Lock()
		assert.Equal(t, []string{"m0", "m1"}, succeeded, "done runs once per entry SQS accepted, also after retries; never for one that failed")
		mu.Unlock()
		var ids [][]string
		for _, c := range calls {
			var row []string
			for _, e := range c {
				row = append(row, e.messageID)
			}
			ids = append(ids, row)
		}
		assert.Equal(t, [][]string{{"m0", "m1", "m2", "m3"}, {"m1", "m2"}, {"m1", "m2"}, {"m2"}}, ids)

		errs := sink.all()
		require.Len(t, errs, 2)
		byID := map[string]*AckError{}
		for _, e := range errs {
			byID[e.SQSMessageID] = e
		}
		require.Contains(t, byID, "m2")
		require.Contains(t, byID, "m3")
		assert.Equal(t, "InternalError", byID["m2"].Code)
		assert.ErrorIs(t, byID["m2"], ErrBatchFailed)
		assert.Contains(t, byID["m2"].Error(), "broken")
		assert.Equal(t, "ReceiptHandleIsInvalid", byID["m3"].Code)
		assert.Equal(t, queueA, byID["m3"].QueueURL)
	})
}

func TestAckBatcherRetriesFailedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		callErr := errors.New("connection reset")
		rec, sink := newBatchRecorder(), &failureSink{}
		rec.fail = func(int, []ackEntry) ([]entryFailure, error) { return nil, callErr }
		b := newTestBatcher(t, rec, sink, time.Hour, 2)
		for _, e := range entries(2) {
			b.add(e)
		}
		b.close()
		assert.Equal(t, 3, rec.callCount(), "one call and two retries")
		errs := sink.all()
		require.Len(t, errs, 2, "each message is reported")
		for _, e := range errs {
			assert.ErrorIs(t, e, callErr, "the call's error stays reachable")
			assert.Empty(t, e.Code)
		}
	})
}

func TestSendersBuildBatchCalls(t *testing.T) {
	f := newScriptedSQS()
	es := []ackEntry{{messageID: "a", receipt: "rh-a"}, {messageID: "b", receipt: "rh-b", visibility: 30}}
	f.failOnce = map[string]string{"rh-b": "InternalError"}
	failed, err := deleteSender(f, queueA)(context.Background(), es)
	require.NoError(t, err)
	assert.Equal(t, []entryFailure{{index: 1, code: "InternalError", message: "injected"}}, failed)
	_, err = visibilitySender(f, queueA)(context.Background(), es)
	require.NoError(t, err)
	require.Len(t, f.deleteCalls, 1)
	require.Len(t, f.visCalls, 1)
	d, v := f.deleteCalls[0], f.visCalls[0]
	assert.Equal(t, queueA, aws.ToString(d.QueueUrl))
	assert.Equal(t, "0", aws.ToString(d.Entries[0].Id))
	assert.Equal(t, "rh-b", aws.ToString(d.Entries[1].ReceiptHandle))
	assert.Equal(t, int32(30), v.Entries[1].VisibilityTimeout)
	assert.Equal(t, int32(0), v.Entries[0].VisibilityTimeout)
}
