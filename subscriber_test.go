package snssqs_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/internal/consume"
)

func TestNewSubscriberValidatesOptions(t *testing.T) {
	_, err := snssqs.NewSubscriber(nil)
	require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
	cases := map[string]func(*snssqs.SubscriberOptions){
		"wait time":      func(o *snssqs.SubscriberOptions) { o.WaitTime = 21 * time.Second },
		"max messages":   func(o *snssqs.SubscriberOptions) { o.MaxMessages = 11 },
		"concurrency":    func(o *snssqs.SubscriberOptions) { o.Concurrency = -1 },
		"receivers":      func(o *snssqs.SubscriberOptions) { o.ReceiversPerQueue = -1 },
		"max messages<0": func(o *snssqs.SubscriberOptions) { o.MaxMessages = -1 },
		"visibility":     func(o *snssqs.SubscriberOptions) { o.VisibilityTimeout = 13 * time.Hour },
		"heartbeat":      func(o *snssqs.SubscriberOptions) { o.HeartbeatFraction = 1 },
		"handler time":   func(o *snssqs.SubscriberOptions) { o.HandlerTimeout = -1 },
		"backoff max":    func(o *snssqs.SubscriberOptions) { o.BackoffMax = 13 * time.Hour },
		"backoff min":    func(o *snssqs.SubscriberOptions) { o.BackoffMin = time.Hour },
		"factor":         func(o *snssqs.SubscriberOptions) { o.BackoffFactor = 0.5 },
		"jitter":         func(o *snssqs.SubscriberOptions) { o.Jitter = 1.5 },
		"visibility<1s":  func(o *snssqs.SubscriberOptions) { o.VisibilityTimeout = -1 },
		"unknown policy": func(o *snssqs.SubscriberOptions) { o.UnknownTypePolicy = 7 },
		"malformed":      func(o *snssqs.SubscriberOptions) { o.MalformedPolicy = -1 },
		"topic":          func(o *snssqs.SubscriberOptions) { o.AllowedTopicARNs = []string{""} },
		"middleware":     func(o *snssqs.SubscriberOptions) { o.Middleware = []snssqs.Middleware{nil} },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := snssqs.NewSubscriber(newFakeSQS(), fn)
			require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
		})
	}
	s, err := snssqs.NewSubscriber(newFakeSQS(), func(o *snssqs.SubscriberOptions) { o.Logger, o.Clock = nil, nil })
	require.NoError(t, err, "nil Logger and Clock mean the defaults")
	require.NoError(t, s.Close())
}

func TestReceiveRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) {
			o.WaitTime = 7 * time.Second
			o.VisibilityTimeout = 45 * time.Second
			o.MaxMessages = 4
		})
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "x", hd)
		require.NoError(t, err)
		h.start()
		h.sqs.waitFor(t, "a receive", func() bool { return len(h.sqs.receives) > 0 })
		var in *sqs.ReceiveMessageInput
		h.sqs.with(func() { in = h.sqs.receives[0] })
		assert.Equal(t, queueA, aws.ToString(in.QueueUrl))
		assert.Equal(t, int32(4), in.MaxNumberOfMessages)
		assert.Equal(t, int32(7), in.WaitTimeSeconds)
		assert.Equal(t, int32(45), in.VisibilityTimeout)
		assert.Equal(t, []string{"All"}, in.MessageAttributeNames)
		assert.ElementsMatch(t, []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp,
			types.MessageSystemAttributeNameMessageGroupId, types.MessageSystemAttributeNameMessageDeduplicationId,
		}, in.MessageSystemAttributeNames, "only the system attributes the Message carries")
		assert.Empty(t, in.AttributeNames, "the deprecated AttributeNames field is not used") //nolint:staticcheck
	})
}

// TestShortPollingPausesWhenEmpty: with short polling, an empty queue costs
// a receive per pause, the pause doubling from 50ms up to 1s, not a spin.
func TestShortPollingPausesWhenEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.WaitTime = -1; o.ReceiversPerQueue = 1 })
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.start()
		h.sqs.waitFor(t, "8 receives", func() bool { return len(h.sqs.receives) == 8 })
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, h.sqs.receiveGaps(),
			"a receive per pause, the pause doubling up to 1s")
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		start := time.Now()
		next(t, ch)
		assert.LessOrEqual(t, time.Since(start), time.Second, "a message waits one pause at most")
		h.waitDeleted(receiptOf(id, 1))
		h.sqs.with(func() {
			for _, r := range h.sqs.receives {
				assert.Zero(t, r.WaitTimeSeconds)
			}
		})
	})
}

// TestEmptyAnswerAtOnceDoesNotSpin: a client whose long poll answers empty
// at once (a mock, a short-polling queue) makes each receiver pause.
func TestEmptyAnswerAtOnceDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.ReceiversPerQueue = 1 })
		h.sqs.emptyAtOnce = true // every long poll answers at once
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.start()
		h.sqs.waitFor(t, "3 receives", func() bool { return len(h.sqs.receives) == 3 })
		assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, h.sqs.receiveGaps(), "a pause after each empty answer")
	})
}

func TestDispatchByType(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		created, createdCh := recv(nil)
		deleted, deletedCh := recv(nil)
		_, err := h.s.Handle(queueA, "card.created", created)
		require.NoError(t, err)
		_, err = h.s.Handle(queueA, "card.deleted", deleted)
		require.NoError(t, err)
		id1 := h.sqs.send(queueA, envelopeBody(t, "card.created", map[string]string{"id": "c1"}))
		id2 := h.sqs.send(queueA, envelopeBody(t, "card.deleted", map[string]string{"id": "c2"}))
		h.start()

		m := next(t, createdCh)
		assert.Equal(t, "card.created", m.Type)
		assert.JSONEq(t, `{"id":"c1"}`, string(m.Data))
		assert.Equal(t, id1, m.SQSMessageID)
		assert.Equal(t, queueA, m.QueueURL)
		assert.Equal(t, 1, m.ReceiveCount)
		assert.True(t, m.IsEnvelope)
		m = next(t, deletedCh)
		assert.Equal(t, "card.deleted", m.Type)
		assert.Equal(t, id2, m.SQSMessageID)
		h.waitDeleted(receiptOf(id1, 1), receiptOf(id2, 1))
		assert.Empty(t, createdCh)
		assert.Empty(t, deletedCh)
	})
}

func TestFallbackGetsNonEnvelopeAndUnknownTypes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		fb, fbCh := recv(nil)
		_, err := h.s.HandleFallback(queueA, fb)
		require.NoError(t, err)
		_, err = h.s.HandleFallback(queueA, fb)
		require.ErrorIs(t, err, snssqs.ErrDuplicateHandler)
		raw := h.sqs.send(queueA, "plain text from the console")
		other := h.sqs.send(queueA, envelopeBody(t, "unrouted", 1))
		h.start()

		got := collect(t, fbCh, 2)
		m := got[raw]
		require.NotNil(t, m)
		assert.False(t, m.IsEnvelope)
		assert.Empty(t, m.Type)
		assert.Equal(t, "plain text from the console", string(m.Data))
		require.NotNil(t, got[other])
		assert.Equal(t, "unrouted", got[other].Type)
		h.waitDeleted(receiptOf(raw, 1), receiptOf(other, 1))
	})
}

func TestSNSNotificationAndRawDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.AllowedTopicARNs = []string{topicA} })
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "card.created", hd)
		require.NoError(t, err)
		wrapped := h.sqs.send(queueA, snsBody(t, topicA, envelopeBody(t, "card.created", "wrapped"), nil))
		raw := h.sqs.send(queueA, envelopeBody(t, "card.created", "raw"))
		h.start()

		got := collect(t, ch, 2)
		m := got[wrapped]
		require.NotNil(t, m)
		assert.JSONEq(t, `"wrapped"`, string(m.Data))
		assert.Equal(t, topicA, m.TopicARN)
		assert.NotEmpty(t, m.SNSMessageID)
		m = got[raw]
		require.NotNil(t, m)
		assert.JSONEq(t, `"raw"`, string(m.Data))
		assert.Empty(t, m.TopicARN)
		h.waitDeleted(receiptOf(wrapped, 1), receiptOf(raw, 1))
	})
}

func TestForgedTopicIsNotHandledNorDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.AllowedTopicARNs = []string{topicA} })
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "card.created", hd)
		require.NoError(t, err)
		forged := h.sqs.send(queueA, snsBody(t, topicB, envelopeBody(t, "card.created", "evil"), nil))
		h.start()

		assert.Equal(t, int32(2), h.waitVisibility(receiptOf(forged, 1)), "nacked with the first backoff")
		errs := h.waitErrors(1)
		require.ErrorIs(t, errs[0], snssqs.ErrTopicNotAllowed)
		assert.Empty(t, ch, "the handler never saw it")
		assert.Zero(t, h.deletedCount())
	})
}

func TestMalformedPolicyDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.MalformedPolicy = snssqs.PolicyDelete })
		hd, ch := recv(nil)
		_, err := h.s.HandleFallback(queueA, hd)
		require.NoError(t, err)
		bad := h.sqs.send(queueA, `{"specversion":"0.3","id":"1","source":"s","type":"t"}`)
		h.start()

		h.waitDeleted(receiptOf(bad, 1))
		require.ErrorIs(t, h.waitErrors(1)[0], snssqs.ErrMalformedMessage)
		assert.Empty(t, ch)
	})
}

func TestAttributesReachHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, ch := recv(nil)
		_, err := h.s.HandleFallback(queueA, hd)
		require.NoError(t, err)
		blob := []byte{0, 1, 2, 0xff}
		sqsID := h.sqs.send(queueA, envelopeBody(t, "a", 1), withAttrs(map[string]types.MessageAttributeValue{
			"blob": {DataType: aws.String("Binary"), BinaryValue: blob},
			"name": {DataType: aws.String("String"), StringValue: aws.String("n")},
		}))
		snsID := h.sqs.send(queueA, snsBody(t, topicA, envelopeBody(t, "b", 2), map[string]snsAttribute{
			"blob": {Type: "Binary", Value: base64.StdEncoding.EncodeToString(blob)},
			"num":  {Type: "Number", Value: "42"},
		}))
		h.start()

		got := collect(t, ch, 2)
		m := got[sqsID]
		require.NotNil(t, m)
		assert.Equal(t, snssqs.BinaryAttribute(blob), m.Attributes["blob"])
		assert.Equal(t, snssqs.StringAttribute("n"), m.Attributes["name"])
		m = got[snsID]
		require.NotNil(t, m)
		assert.Equal(t, snssqs.BinaryAttribute(blob), m.Attributes["blob"])
		assert.Equal(t, snssqs.NumberAttribute("42"), m.Attributes["num"])
	})
}

func TestUnknownTypeRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "known", hd)
		require.NoError(t, err)
		var ids []string
		for range 3 {
			ids = append(ids, h.sqs.send(queueA, envelopeBody(t, "mystery", 1)))
		}
		h.start()

		for _, id := range ids {
			assert.Equal(t, int32(2), h.waitVisibility(receiptOf(id, 1)))
		}
		errs := h.waitErrors(3)
		for _, err := range errs {
			require.ErrorIs(t, err, snssqs.ErrNoHandler)
			assert.Contains(t, err.Error(), `"mystery"`, "the error names the type")
		}
		assert.Zero(t, h.deletedCount())
		synctest.Wait()
		assert.Equal(t, uint64(3), h.s.Stats().Nacked)
	})
}

func TestUnknownTypeDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.UnknownTypePolicy = snssqs.PolicyDelete })
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "known", hd)
		require.NoError(t, err)
		a := h.sqs.send(queueA, envelopeBody(t, "mystery", 1))
		b := h.sqs.send(queueA, envelopeBody(t, "mystery", 2))
		h.start()

		h.waitDeleted(receiptOf(a, 1), receiptOf(b, 1))
		for _, err := range h.waitErrors(2) {
			require.ErrorIs(t, err, snssqs.ErrNoHandler)
		}
		h.sqs.with(func() { assert.Empty(t, h.sqs.visEntriesLocked()) })
		synctest.Wait()
		assert.Equal(t, uint64(2), h.s.Stats().Deleted)
	})
}

func TestHandlerErrorNacksWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, ch := recv(errors.New("boom"))
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		want := map[int]int32{1: 2, 2: 4, 3: 8, 4: 16, 10: 600} // 2s·2^(n-1), capped at 10m
		ids := map[int]string{}
		for n := range want {
			ids[n] = h.sqs.send(queueA, envelopeBody(t, "t", n), withReceiveCount(n-1))
		}
		h.start()

		for range want {
			next(t, ch)
		}
		for n, vis := range want {
			assert.Equal(t, vis, h.waitVisibility(receiptOf(ids[n], n)), "receive count %d", n)
		}
		assert.Zero(t, h.deletedCount(), "a failed message is never deleted")
	})
}

// Jitter spreads each nack delay within ±Jitter of its value.
func TestNackJitterStaysInItsRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.Jitter = 0.2 })
		hd, _ := recv(errors.New("boom"))
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		var ids []string
		for i := range 20 {
			ids = append(ids, h.sqs.send(queueA, envelopeBody(t, "t", i), withReceiveCount(3))) // 4th delivery: 16s
		}
		h.start()
		seen := map[int32]bool{}
		for _, id := range ids {
			vis := h.waitVisibility(receiptOf(id, 4))
			assert.GreaterOrEqual(t, vis, int32(13), "16s - 20% = 12.8s, rounded up")
			assert.LessOrEqual(t, vis, int32(20), "16s + 20% = 19.2s, rounded up")
			seen[vis] = true
		}
		assert.Greater(t, len(seen), 1, "the delays are spread")
	})
}

func TestDeleteBatchOfTen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.AckFlushInterval = time.Minute })
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		for i := range 10 {
			h.sqs.send(queueA, envelopeBody(t, "t", i))
		}
		h.start()

		h.sqs.waitFor(t, "a delete batch", func() bool { return len(h.sqs.deleteBatches) > 0 })
		h.sqs.with(func() {
			require.Len(t, h.sqs.deleteBatches, 1)
			assert.Len(t, h.sqs.deleteBatches[0].Entries, 10)
			assert.Equal(t, queueA, aws.ToString(h.sqs.deleteBatches[0].QueueUrl))
		})
	})
}

func TestDeletesFlushedAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const flush = 50 * time.Millisecond
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.AckFlushInterval = flush })
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		var receipts []string
		for i := range 3 {
			receipts = append(receipts, receiptOf(h.sqs.send(queueA, envelopeBody(t, "t", i)), 1))
		}
		h.start()
		for range 3 {
			next(t, ch)
		}
		handled := time.Now()
		synctest.Wait() // the deletes wait for their batch to fill or the interval to pass
		h.sqs.with(func() { assert.Empty(t, h.sqs.deleteBatches) })
		h.waitDeleted(receipts...)
		assert.Equal(t, flush, time.Since(handled), "sent when the interval passed")
		h.sqs.with(func() { assert.Len(t, h.sqs.deleteBatches, 1, "in one batch") })
	})
}

func TestDeleteEntryFailureRetriedThenReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.AckRetries = 2 })
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.sqs.with(func() {
			h.sqs.entryFailures[receiptOf(id, 1)] = &fakeEntryFailure{times: -1, code: "InternalError"}
		})
		h.start()

		errs := h.waitErrors(1)
		var ae *snssqs.AckError
		require.ErrorAs(t, errs[0], &ae)
		assert.Equal(t, id, ae.SQSMessageID)
		assert.Equal(t, consume.OpDelete, ae.Op)
		assert.Equal(t, "InternalError", ae.Code)
		require.ErrorIs(t, errs[0], snssqs.ErrBatchFailed)
		h.sqs.with(func() { assert.Len(t, h.sqs.deleteBatches, 3, "one call and two retries") })
	})
}

// TestBackPressure: without prefetch, a receive asks for the free workers
// only, and none is made while every worker is busy.
func TestBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inflight atomic.Int32
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.Concurrency, o.Prefetch, o.ReceiversPerQueue = 2, -1, 1 })
		h.sqs.onReceive = func(in *sqs.ReceiveMessageInput) {
			busy := inflight.Load()
			assert.Positive(t, in.MaxNumberOfMessages)
			assert.LessOrEqual(t, in.MaxNumberOfMessages, 2-busy, "asked for more messages than free workers")
		}
		started := make(chan string, 10)
		release := make(chan struct{})
		_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *snssqs.Message) error {
			n := inflight.Add(1)
			assert.LessOrEqual(t, n, int32(2))
			started <- m.SQSMessageID
			<-release
			inflight.Add(-1)
			return nil
		})
		require.NoError(t, err)
		for i := range 5 {
			h.sqs.send(queueA, envelopeBody(t, "t", i))
		}
		h.start()

		next(t, started)
		next(t, started)
		// Both workers are busy: the receive loop must be parked, not polling.
		h.sqs.with(func() {
			assert.Equal(t, 1, len(h.sqs.receives))
			assert.Equal(t, int32(2), h.sqs.receives[0].MaxNumberOfMessages)
		})
		assert.Empty(t, started)
		close(release)
		for range 3 {
			next(t, started)
		}
		h.sqs.waitFor(t, "five deletes", func() bool { return len(h.sqs.deletedReceiptsLocked()) == 5 })
	})
}

// TestBackPressureWithPrefetch: at most Prefetch received messages wait for
// a worker, no receive is made while every worker is busy, and the waiting
// messages are handled in turn.
func TestBackPressureWithPrefetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const concurrency, prefetch, total = 2, 3, 10
		var handling, handled atomic.Int32
		h := newHarness(t, func(o *snssqs.SubscriberOptions) {
			o.Concurrency, o.Prefetch, o.ReceiversPerQueue = concurrency, prefetch, 1
		})
		h.sqs.onReceive = func(in *sqs.ReceiveMessageInput) {
			assert.Less(t, handling.Load(), int32(concurrency), "received while every worker was busy")
			h.sqs.with(func() {
				// Received and not yet handled: at most what the subscriber
				// holds (a handler counts itself done before its message is).
				held := total - len(h.sqs.queueLocked(queueA).visible) - int(handled.Load())
				assert.LessOrEqual(t, held+int(in.MaxNumberOfMessages), concurrency+prefetch, "asked for more than the free places")
			})
		}
		started := make(chan string, 10)
		release := make(chan struct{})
		_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *snssqs.Message) error {
			n := handling.Add(1)
			assert.LessOrEqual(t, n, int32(concurrency))
			started <- m.SQSMessageID
			<-release
			handling.Add(-1)
			handled.Add(1)
			return nil
		})
		require.NoError(t, err)
		for i := range total {
			h.sqs.send(queueA, envelopeBody(t, "t", i))
		}
		h.start()

		next(t, started)
		next(t, started)
		h.sqs.waitFor(t, "the prefetched messages", func() bool { return len(h.sqs.queueLocked(queueA).inflight) == concurrency+prefetch })
		h.sqs.with(func() {
			require.Len(t, h.sqs.receives, 1, "no receive while every worker is busy")
			assert.Equal(t, int32(concurrency+prefetch), h.sqs.receives[0].MaxNumberOfMessages)
		})
		assert.Empty(t, started, "prefetched messages wait for a worker")
		close(release)
		for range 8 {
			next(t, started)
		}
		h.sqs.waitFor(t, "ten deletes", func() bool { return len(h.sqs.deletedReceiptsLocked()) == 10 })
	})
}

// TestShutdownReleasesPrefetched: messages waiting for a worker are released
// at once when the subscriber stops, while the running handler drains.
func TestShutdownReleasesPrefetched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.Concurrency, o.Prefetch, o.ReceiversPerQueue = 1, 2, 1 })
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		ids := []string{
			h.sqs.send(queueA, envelopeBody(t, "t", 1)),
			h.sqs.send(queueA, envelopeBody(t, "t", 2)),
			h.sqs.send(queueA, envelopeBody(t, "t", 3)),
		}
		h.start()
		<-started
		h.sqs.waitFor(t, "the prefetched messages", func() bool { return len(h.sqs.queueLocked(queueA).inflight) == 3 })

		shut := make(chan error, 1)
		go func() { shut <- h.s.Shutdown(context.Background()) }()
		synctest.Wait() // shutdown has begun
		h.sqs.waitFor(t, "the waiting messages' release", func() bool { return len(h.sqs.visEntriesLocked()) == 2 })
		h.sqs.with(func() {
			var released []string
			for _, e := range h.sqs.visEntriesLocked() {
				released = append(released, aws.ToString(e.ReceiptHandle))
				assert.Zero(t, e.VisibilityTimeout, "released for other consumers at once")
			}
			assert.ElementsMatch(t, []string{receiptOf(ids[1], 1), receiptOf(ids[2], 1)}, released)
			assert.Empty(t, h.sqs.deletedReceiptsLocked(), "the running handler has not returned")
		})
		close(release)
		require.NoError(t, next(t, shut))
		h.sqs.with(func() { assert.Equal(t, []string{receiptOf(ids[0], 1)}, h.sqs.deletedReceiptsLocked()) })
		assert.Empty(t, started, "waiting messages are not handled after shutdown began")
		require.NoError(t, next(t, h.runErr))
		h.runErr = nil
		h.stop()
	})
}

func TestPanicRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []error
		var mu sync.Mutex
		record := func(next snssqs.Handler) snssqs.Handler {
			return func(ctx context.Context, m *snssqs.Message) error {
				err := next(ctx, m)
				mu.Lock()
				seen = append(seen, err)
				mu.Unlock()
				return err
			}
		}
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.Middleware = []snssqs.Middleware{record} })
		ok := make(chan *snssqs.Message, 1)
		_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *snssqs.Message) error {
			if string(m.Data) == `"panic"` {
				panic("kaboom")
			}
			ok <- m
			return nil
		})
		require.NoError(t, err)
		bad := h.sqs.send(queueA, envelopeBody(t, "t", "panic"))
		h.start()

		assert.Equal(t, int32(2), h.waitVisibility(receiptOf(bad, 1)), "a panicking handler's message is nacked")
		good := h.sqs.send(queueA, envelopeBody(t, "t", "fine"))
		next(t, ok)
		h.waitDeleted(receiptOf(good, 1))
		mu.Lock()
		require.Len(t, seen, 2)
		require.ErrorIs(t, seen[0], snssqs.ErrHandlerPanic, "middleware sees the panic as an error")
		assert.Contains(t, seen[0].Error(), "kaboom")
		assert.Contains(t, seen[0].Error(), "subscriber_test.go", "the error holds the handler's stack")
		mu.Unlock()
	})
}

func TestPanickingMiddlewareRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := func(snssqs.Handler) snssqs.Handler {
			return func(context.Context, *snssqs.Message) error { panic("middleware bug") }
		}
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.Middleware = []snssqs.Middleware{bad} })
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		assert.Equal(t, int32(2), h.waitVisibility(receiptOf(id, 1)))
	})
}

func TestReceiveErrorsRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(o *snssqs.SubscriberOptions) { o.ReceiversPerQueue = 1 }) // one loop's backoff
		apiErr := &smithy.GenericAPIError{Code: "InternalError", Message: "try again"}
		h.sqs.receiveErrs = []error{apiErr, apiErr}
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()

		next(t, ch)
		gaps := h.sqs.receiveGaps()
		require.GreaterOrEqual(t, len(gaps), 2)
		assert.InDelta(t, 100*time.Millisecond, gaps[0], float64(20*time.Millisecond), "100ms ±20%% after the first failure")
		assert.InDelta(t, 200*time.Millisecond, gaps[1], float64(40*time.Millisecond), "doubled after the second")
		h.waitDeleted(receiptOf(id, 1))
		errs := h.waitErrors(2)
		for _, err := range errs {
			var ge *smithy.GenericAPIError
			require.ErrorAs(t, err, &ge, "the AWS error stays reachable")
		}
	})
}

func TestFIFOGroupsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var mu sync.Mutex
		order := map[string][]string{}
		done := make(chan struct{}, 10)
		_, err := h.s.Handle(queueF, "t", func(_ context.Context, m *snssqs.Message) error {
			var v string
			require.NoError(t, m.Decode(&v))
			mu.Lock()
			order[m.MessageGroupID] = append(order[m.MessageGroupID], v)
			mu.Unlock()
			done <- struct{}{}
			if v == "a2" {
				return errors.New("a2 fails")
			}
			return nil
		})
		require.NoError(t, err)
		var a []string
		for _, v := range []string{"a1", "a2", "a3", "a4"} {
			a = append(a, h.sqs.send(queueF, envelopeBody(t, "t", v), withGroup("A")))
		}
		for _, v := range []string{"b1", "b2", "b3"} {
			h.sqs.send(queueF, envelopeBody(t, "t", v), withGroup("B"))
		}
		h.start()

		for range 5 {
			next(t, done)
		}
		assert.Equal(t, int32(2), h.waitVisibility(receiptOf(a[1], 1)), "a2 nacked with backoff")
		assert.Equal(t, int32(0), h.waitVisibility(receiptOf(a[2], 1)), "a3 released at once, unhandled")
		assert.Equal(t, int32(0), h.waitVisibility(receiptOf(a[3], 1)), "a4 released at once, unhandled")
		h.waitDeleted(receiptOf(a[0], 1))
		mu.Lock()
		assert.Equal(t, []string{"a1", "a2"}, order["A"])
		assert.Equal(t, []string{"b1", "b2", "b3"}, order["B"])
		mu.Unlock()
	})
}

// TestFairQueueGroupsRunConcurrently: on a standard queue a MessageGroupId
// marks a fair-queue tenant, not an order: a group's messages are handled
// at once, up to Concurrency.
func TestFairQueueGroupsRunConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, started, release := blockingHandler()
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		for i := range 10 {
			h.sqs.send(queueA, envelopeBody(t, "t", i), withGroup("tenant-1"))
		}
		h.start()
		for range 10 {
			next(t, started) // all ten run at once: none has returned yet
		}
		close(release)
		h.sqs.waitFor(t, "ten deletes", func() bool { return len(h.sqs.deletedReceiptsLocked()) == 10 })
	})
}

func TestAddRemoveHandlersWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.start()
		hdA, chA := recv(nil)
		regA, err := h.s.Handle(queueA, "a", hdA)
		require.NoError(t, err)
		idA := h.sqs.send(queueA, envelopeBody(t, "a", 1))
		next(t, chA)
		h.waitDeleted(receiptOf(idA, 1))

		// Churn registrations on both queues from several goroutines while
		// messages flow; -race checks the registry.
		hdB, chB := recv(nil)
		regB, err := h.s.Handle(queueB, "b", hdB)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					typ := fmt.Sprintf("churn-%d-%d", g, i)
					q := []string{queueA, queueB, queueC}[i%3] // queueC: a poller per registration
					hd, _ := recv(nil)
					r, err := h.s.Handle(q, typ, hd)
					if !assert.NoError(t, err) {
						return
					}
					r.Remove()
					r.Remove() // idempotent
				}
			}()
		}
		for i := range 20 {
			h.sqs.send(queueA, envelopeBody(t, "a", i))
		}
		for range 20 {
			next(t, chA)
		}
		wg.Wait()

		// Removing the last handler of queueA stops polling it: once the
		// receive in progress has returned, no receive follows.
		require.Equal(t, 2, h.s.Stats().Queues)
		regA.Remove()
		time.Sleep(time.Second) // the receive in progress reaches its WaitTime
		synctest.Wait()
		assert.Equal(t, 1, h.s.Stats().Queues, "queueA is no longer polled")
		var before int
		h.sqs.with(func() { before = h.sqs.receivesForLocked(queueA) })
		h.sqs.send(queueA, envelopeBody(t, "a", "unpolled"))
		idB := h.sqs.send(queueB, envelopeBody(t, "b", 1))
		next(t, chB)
		h.waitDeleted(receiptOf(idB, 1))
		time.Sleep(time.Minute) // many WaitTimes
		h.sqs.with(func() {
			assert.Equal(t, before, h.sqs.receivesForLocked(queueA), "no receive on a queue without handlers")
		})
		assert.Empty(t, chA)

		// A new handler resumes polling.
		regA2, err := h.s.Handle(queueA, "a", hdA)
		require.NoError(t, err)
		m := next(t, chA)
		assert.JSONEq(t, `"unpolled"`, string(m.Data))
		regA2.Remove()
		regB.Remove()
	})
}

func TestRemoveLetsInflightHandlerFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		started := make(chan struct{})
		release := make(chan struct{})
		reg, err := h.s.Handle(queueA, "t", func(context.Context, *snssqs.Message) error {
			close(started)
			<-release
			return nil
		})
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started
		reg.Remove()
		h.sqs.waitFor(t, "the long poll to end", func() bool { return h.sqs.receiving[queueA] == 0 })
		close(release)
		h.waitDeleted(receiptOf(id, 1))
	})
}

func TestShutdownDrainsAndReleasesUnstarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		started := make(chan string, 10)
		release := make(chan struct{})
		_, err := h.s.Handle(queueF, "t", func(_ context.Context, m *snssqs.Message) error {
			started <- m.SQSMessageID
			<-release
			return nil
		})
		require.NoError(t, err)
		m1 := h.sqs.send(queueF, envelopeBody(t, "t", 1), withGroup("g"))
		m2 := h.sqs.send(queueF, envelopeBody(t, "t", 2), withGroup("g"))
		m3 := h.sqs.send(queueF, envelopeBody(t, "t", 3), withGroup("g"))
		h.start()
		assert.Equal(t, m1, next(t, started))
		h.sqs.waitFor(t, "the next long poll", func() bool { return h.sqs.receiving[queueF] == 1 })

		shut := make(chan error, 1)
		go func() { shut <- h.s.Shutdown(context.Background()) }()
		synctest.Wait() // shutdown has begun
		h.sqs.with(func() { assert.Equal(t, 1, h.sqs.receiving[queueF], "the long poll is not canceled") })
		h.sqs.waitFor(t, "the long poll to end", func() bool { return h.sqs.receiving[queueF] == 0 })
		select {
		case <-shut:
			t.Fatal("Shutdown returned while a handler was running")
		default:
		}
		close(release)
		require.NoError(t, next(t, shut))
		h.sqs.with(func() {
			assert.Equal(t, []string{receiptOf(m1, 1)}, h.sqs.deletedReceiptsLocked(), "the drained handler's delete was flushed")
			entries := h.sqs.visEntriesLocked()
			var released []string
			for _, e := range entries {
				released = append(released, aws.ToString(e.ReceiptHandle))
				assert.Zero(t, e.VisibilityTimeout, "released for other consumers at once")
			}
			assert.ElementsMatch(t, []string{receiptOf(m2, 1), receiptOf(m3, 1)}, released)
		})
		assert.Empty(t, started, "unstarted messages are not handled")
		require.NoError(t, next(t, h.runErr))
		h.runErr = nil
		h.stop()
	})
}

func TestShutdownLetsLongPollFinishAndReleasesItsMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		receivers := 1 // an idle queue is long-polled by one receiver
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.start()
		h.sqs.waitFor(t, "the long polls", func() bool { return h.sqs.receiving[queueA] == receivers })

		shut := make(chan error, 1)
		go func() { shut <- h.s.Shutdown(context.Background()) }()
		synctest.Wait() // shutdown has begun
		// SQS would keep serving a canceled poll, hiding what it hands out; the
		// poll goes on, and a message it brings after shutdown began is
		// released at once instead of handled.
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		require.NoError(t, next(t, shut))
		h.sqs.with(func() {
			entries := h.sqs.visEntriesLocked()
			require.Len(t, entries, 1)
			assert.Equal(t, receiptOf(id, 1), aws.ToString(entries[0].ReceiptHandle))
			assert.Zero(t, entries[0].VisibilityTimeout)
			assert.Equal(t, receivers, len(h.sqs.receives), "no receive after shutdown began")
		})
		assert.Empty(t, ch)
		require.NoError(t, next(t, h.runErr))
		h.runErr = nil
		h.stop()
	})
}

func TestShutdownDeadlineAbandonsHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		started := make(chan struct{})
		sawCancel := make(chan error, 1)
		_, err := h.s.Handle(queueA, "t", func(ctx context.Context, _ *snssqs.Message) error {
			close(started)
			<-ctx.Done()
			sawCancel <- ctx.Err()
			return nil // even claiming success: the abandoned message is not deleted
		})
		require.NoError(t, err)
		h.sqs.send(queueA, envelopeBody(t, "t", 1))
		h.start()
		<-started

		ctx, cancel := context.WithCancel(context.Background())
		shut := make(chan error, 1)
		go func() { shut <- h.s.Shutdown(ctx) }()
		synctest.Wait() // shutdown has begun
		cancel()        // the shutdown deadline passes: the long poll is canceled too
		require.ErrorIs(t, next(t, shut), context.Canceled)
		require.ErrorIs(t, next(t, sawCancel), context.Canceled)
		assert.Zero(t, h.deletedCount())
		h.sqs.with(func() {
			assert.Empty(t, h.sqs.visEntriesLocked(), "not nacked either: it returns after its visibility timeout")
		})
		require.NoError(t, next(t, h.runErr), "Run returns nil when Shutdown stops it")
		h.runErr = nil
		h.stop()
	})
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, ch := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.s.Run(ctx) }()
		next(t, ch)
		cancel()
		synctest.Wait() // shutdown has begun
		require.NoError(t, next(t, done))
		h.waitDeleted(receiptOf(id, 1))
		require.ErrorIs(t, h.s.Run(context.Background()), snssqs.ErrClosed)
		_, err = h.s.Handle(queueA, "u", hd)
		require.ErrorIs(t, err, snssqs.ErrClosed)
		h.stop()
	})
}

func TestCloseIsIdempotentAndConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		hd, _ := recv(nil)
		_, err := h.s.Handle(queueA, "t", hd)
		require.NoError(t, err)
		h.start()
		h.sqs.waitFor(t, "polling", func() bool { return h.sqs.receiving[queueA] == 1 })
		require.ErrorIs(t, h.s.Run(context.Background()), snssqs.ErrAlreadyRunning)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, h.s.Close())
			}()
		}
		synctest.Wait() // shutdown has begun
		wg.Wait()
		require.NoError(t, h.s.Close())
		require.NoError(t, h.s.Shutdown(context.Background()))
		h.stop()
	})
}

func TestCloseWithoutRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // which fails if a goroutine is left
		s, err := snssqs.NewSubscriber(newFakeSQS())
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
		require.ErrorIs(t, s.Run(context.Background()), snssqs.ErrClosed)
	})
}
