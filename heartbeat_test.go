package snssqs

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/internal/consume"
)

// logWaiter is a logrus hook that lets a test wait for a log message.
type logWaiter struct{ ch chan string }

func (w logWaiter) Levels() []logrus.Level { return logrus.AllLevels }

func (w logWaiter) Fire(e *logrus.Entry) error {
	select {
	case w.ch <- e.Message:
	default:
	}
	return nil
}

// awaitLog waits for a log entry with message msg.
func (h *harness) awaitLog(w logWaiter, msg string) {
	h.t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		select {
		case got := <-w.ch:
			if got == msg {
				return
			}
		case <-limit.C:
			h.t.Fatalf("timed out waiting for log %q", msg)
		}
	}
}

// blockingHandler returns a handler that signals its start and returns nil
// once release is closed.
func blockingHandler() (Handler, chan struct{}, chan struct{}) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	return func(context.Context, *Message) error {
		started <- struct{}{}
		<-release
		return nil
	}, started, release
}

func TestHeartbeatExtendsVisibilityUntilHandlerReturns(t *testing.T) {
	h := newHarness(t) // VisibilityTimeout 30s, HeartbeatFraction 0.5: every 15s
	hd, started, release := blockingHandler()
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.start()
	<-started

	h.clk.blockUntil(t, 1) // the heartbeat is the only pending timer
	h.clk.Advance(14 * time.Second)
	h.sqs.with(func() { assert.Empty(t, h.sqs.extensionsLocked(), "no extension before 15s") })
	h.clk.Advance(time.Second)
	h.sqs.waitFor(t, "first extension", func() bool { return len(h.sqs.extensionsLocked()) == 1 })
	for i := 2; i <= 3; i++ {
		h.clk.blockUntil(t, 1)
		h.clk.Advance(15 * time.Second)
		h.sqs.waitFor(t, "another extension", func() bool { return len(h.sqs.extensionsLocked()) == i })
	}
	h.sqs.with(func() {
		for _, b := range h.sqs.visBatches {
			assert.Equal(t, queueA, aws.ToString(b.QueueUrl))
		}
		for _, e := range h.sqs.extensionsLocked() {
			assert.Equal(t, receiptOf(id, 1), aws.ToString(e.ReceiptHandle))
		}
	})

	close(release)
	h.waitDeleted(receiptOf(id, 1))
	// The receive's heartbeat goroutine ends once its last message is
	// done with; stop itself guarantees only that no extension follows.
	assert.Eventually(t, func() bool { return h.clk.Waiters() == 0 }, waitLimit, time.Millisecond, "the heartbeat timer is stopped")
	h.clk.Advance(time.Hour)
	h.sqs.with(func() { assert.Len(t, h.sqs.extensionsLocked(), 3, "no extension after the handler returned") })
}

func TestHeartbeatStopsAtHandlerTimeout(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.HandlerTimeout = 40 * time.Second })
	logs := logWaiter{ch: make(chan string, 100)}
	h.logger.AddHook(logs)
	hd, started, release := blockingHandler()
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.start()
	<-started

	for i := 1; i <= 2; i++ { // at 15s and 30s
		h.clk.blockUntil(t, 1)
		h.clk.Advance(15 * time.Second)
		h.sqs.waitFor(t, "an extension", func() bool { return len(h.sqs.extensionsLocked()) == i })
	}
	h.clk.blockUntil(t, 1)
	h.clk.Advance(15 * time.Second) // 45s: past the 40s handler timeout
	h.awaitLog(logs, "snssqs: handler timeout reached; visibility no longer extended, message will be redelivered")
	assert.Zero(t, h.clk.Waiters())
	h.sqs.with(func() { assert.Len(t, h.sqs.extensionsLocked(), 2) })
	close(release)
	h.waitDeleted(receiptOf(id, 1))
}

func TestHeartbeatFailures(t *testing.T) {
	t.Run("transient error: keeps extending", func(t *testing.T) {
		h := newHarness(t)
		h.sqs.visErr = &smithy.GenericAPIError{Code: "InternalError"}
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started
		for i := 1; i <= 2; i++ {
			h.clk.blockUntil(t, 1)
			h.clk.Advance(15 * time.Second)
			h.sqs.waitFor(t, "an extension attempt", func() bool { return len(h.sqs.visBatches) == i })
		}
		errs := h.waitErrors(1)
		var ae *AckError
		require.ErrorAs(t, errs[0], &ae)
		assert.Equal(t, consume.OpHeartbeat, ae.Op)
		close(release)
	})
	t.Run("invalid receipt handle: stops and warns", func(t *testing.T) {
		h := newHarness(t)
		logs := logWaiter{ch: make(chan string, 100)}
		h.logger.AddHook(logs)
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.sqs.with(func() {
			h.sqs.entryFailures[receiptOf(id, 1)] = &fakeEntryFailure{times: -1, code: "ReceiptHandleIsInvalid", senderFault: true}
		})
		h.start()
		<-started
		h.clk.blockUntil(t, 1)
		h.clk.Advance(15 * time.Second)
		h.awaitLog(logs, "snssqs: visibility extension rejected: receipt handle no longer valid, the message may be redelivered while its handler runs")
		var ae *AckError
		require.ErrorAs(t, h.waitErrors(1)[0], &ae)
		assert.Equal(t, "ReceiptHandleIsInvalid", ae.Code)
		require.ErrorIs(t, ae, ErrBatchFailed)
		assert.Zero(t, h.clk.Waiters(), "no further extension is scheduled")
		close(release)
	})
}

// TestHeartbeatOnlyExtendsHeldMessages: messages finished before a tick
// are not extended, and the heartbeat's timer is stopped once none is held.
func TestHeartbeatOnlyExtendsHeldMessages(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.ReceiversPerQueue = 1 })
	release := make(chan struct{})
	slowStarted := make(chan struct{})
	fastDone := make(chan struct{}, 2)
	_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *Message) error {
		if string(m.Data) == `"slow"` {
			close(slowStarted)
			<-release
			return nil
		}
		fastDone <- struct{}{}
		return nil
	})
	require.NoError(t, err)
	slow := h.sqs.send(queueA, envelopeBody(t, "t", "slow"))
	fast1 := h.sqs.send(queueA, envelopeBody(t, "t", "fast"))
	fast2 := h.sqs.send(queueA, envelopeBody(t, "t", "fast"))
	h.start()
	<-slowStarted
	next(t, fastDone)
	next(t, fastDone)
	h.waitDeleted(receiptOf(fast1, 1), receiptOf(fast2, 1))

	h.clk.blockUntil(t, 1) // one timer for the engine
	h.clk.Advance(15 * time.Second)
	h.sqs.waitFor(t, "the extension", func() bool { return len(h.sqs.extensionsLocked()) == 1 })
	h.sqs.with(func() {
		assert.Equal(t, receiptOf(slow, 1), aws.ToString(h.sqs.extensionsLocked()[0].ReceiptHandle), "only the held message")
	})
	h.clk.blockUntil(t, 1)
	close(release)
	h.waitDeleted(receiptOf(slow, 1))
	assert.Eventually(t, func() bool { return h.clk.Waiters() == 0 }, waitLimit, time.Millisecond, "the heartbeat's timer is stopped")
}

// TestHeartbeatBatchesExtensions: ten held messages are extended with one
// ChangeMessageVisibilityBatch call of ten entries per tick.
func TestHeartbeatBatchesExtensions(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.ReceiversPerQueue = 1 })
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	_, err := h.s.Handle(queueA, "t", func(context.Context, *Message) error {
		started <- struct{}{}
		<-release
		return nil
	})
	require.NoError(t, err)
	for i := range 10 {
		h.sqs.send(queueA, envelopeBody(t, "t", i))
	}
	h.start()
	for range 10 {
		next(t, started)
	}
	for tick := 1; tick <= 3; tick++ {
		h.clk.blockUntil(t, 1)
		h.clk.Advance(15 * time.Second)
		h.sqs.waitFor(t, "a tick's extensions", func() bool { return len(h.sqs.extensionsLocked()) == 10*tick })
	}
	h.sqs.with(func() {
		require.Len(t, h.sqs.visBatches, 3, "one batch call per tick")
		for _, b := range h.sqs.visBatches {
			assert.Len(t, b.Entries, 10)
		}
	})
	close(release)
	h.sqs.waitFor(t, "ten deletes", func() bool { return len(h.sqs.deletedReceiptsLocked()) == 10 })
}
