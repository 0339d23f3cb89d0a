package snssqs_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

// extensionTimes returns when each heartbeat extension was sent, since
// start.
func (h *harness) extensionTimes(start time.Time) []time.Duration {
	var out []time.Duration
	h.sqs.with(func() {
		for i, b := range h.sqs.visBatches {
			for _, e := range b.Entries {
				if isExtension(e) {
					out = append(out, h.sqs.visAt[i].Sub(start))
				}
			}
		}
	})
	return out
}

func TestHeartbeatExtendsVisibilityUntilHandlerReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t) // VisibilityTimeout 30s, HeartbeatFraction 0.5: every 15s
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started
		start := time.Now()

		time.Sleep(14 * time.Second)
		synctest.Wait()
		assert.Empty(t, h.extensionTimes(start), "no extension before 15s")
		time.Sleep(31 * time.Second)
		synctest.Wait()
		assert.Equal(t, []time.Duration{15 * time.Second, 30 * time.Second, 45 * time.Second}, h.extensionTimes(start))
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
		time.Sleep(time.Hour)
		assert.Len(t, h.extensionTimes(start), 3, "no extension after the handler returned")
	})
}

func TestHeartbeatStopsAtHandlerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.HandlerTimeout = 40 * time.Second })
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started
		start := time.Now()

		time.Sleep(time.Hour) // the handler ignores its 40s deadline
		synctest.Wait()
		assert.Equal(t, []time.Duration{15 * time.Second, 30 * time.Second}, h.extensionTimes(start),
			"no extension past the handler timeout: the message goes back to the queue")
		close(release)
		h.waitDeleted(receiptOf(id, 1))
	})
}

func TestHeartbeatTransientErrorKeepsExtending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.sqs.visErr = &smithy.GenericAPIError{Code: "InternalError"}
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started
		time.Sleep(31 * time.Second)
		synctest.Wait()
		h.sqs.with(func() { assert.GreaterOrEqual(t, len(h.sqs.visBatches), 2, "an attempt at every tick") })
		errs := h.waitErrors(1)
		var ae *snssqs.AckError
		require.ErrorAs(t, errs[0], &ae)
		assert.Equal(t, snssqs.OpExtendVisibility, ae.Op)
		var apiErr *smithy.GenericAPIError
		assert.ErrorAs(t, ae, &apiErr, "the AWS error stays reachable")
		close(release)
	})
}

func TestHeartbeatInvalidReceiptStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.sqs.with(func() {
			h.sqs.entryFailures[receiptOf(id, 1)] = &fakeEntryFailure{times: -1, code: "ReceiptHandleIsInvalid", senderFault: true}
		})
		h.start()
		<-started
		time.Sleep(16 * time.Second) // the first tick
		var ae *snssqs.AckError
		require.ErrorAs(t, h.waitErrors(1)[0], &ae)
		assert.Equal(t, "ReceiptHandleIsInvalid", ae.Code)
		require.ErrorIs(t, ae, snssqs.ErrBatchFailed)
		time.Sleep(time.Hour)
		synctest.Wait()
		h.sqs.with(func() { assert.Len(t, h.sqs.visBatches, 1, "no further extension is tried") })
		close(release)
	})
}

// TestHeartbeatOnlyExtendsHeldMessages: messages finished before a tick
// are not extended, and the heartbeat stops once none is held.
func TestHeartbeatOnlyExtendsHeldMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.ReceiversPerQueue = 1 })
		release := make(chan struct{})
		slowStarted := make(chan struct{})
		fastDone := make(chan struct{}, 2)
		_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *snssqs.Message) error {
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
		start := time.Now()
		next(t, fastDone)
		next(t, fastDone)
		h.waitDeleted(receiptOf(fast1, 1), receiptOf(fast2, 1))

		time.Sleep(16 * time.Second)
		synctest.Wait()
		assert.Equal(t, []time.Duration{15 * time.Second}, h.extensionTimes(start))
		h.sqs.with(func() {
			assert.Equal(t, receiptOf(slow, 1), aws.ToString(h.sqs.extensionsLocked()[0].ReceiptHandle), "only the held message")
		})
		close(release)
		h.waitDeleted(receiptOf(slow, 1))
		time.Sleep(time.Hour)
		assert.Len(t, h.extensionTimes(start), 1, "the heartbeat stopped")
	})
}

// TestHeartbeatBatchesExtensions: ten held messages are extended with one
// ChangeMessageVisibilityBatch call of ten entries per tick.
func TestHeartbeatBatchesExtensions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.ReceiversPerQueue = 1 })
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		for i := range 10 {
			h.sqs.send(queueA, envelopeBody(t, "t", i))
		}
		h.start()
		for range 10 {
			next(t, started)
		}
		time.Sleep(46 * time.Second) // three ticks
		synctest.Wait()
		h.sqs.with(func() {
			require.Len(t, h.sqs.visBatches, 3, "one batch call per tick")
			for _, b := range h.sqs.visBatches {
				assert.Len(t, b.Entries, 10)
			}
		})
		close(release)
		h.sqs.waitFor(t, "ten deletes", func() bool { return len(h.sqs.deletedReceiptsLocked()) == 10 })
	})
}
