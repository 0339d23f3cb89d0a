package snssqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/codec"
	"github.com/snssqs/snssqs/internal/consume"
)

const (
	queueA = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
	queueB = "https://sqs.eu-west-1.amazonaws.com/123456789012/audit"
	queueC = "https://sqs.eu-west-1.amazonaws.com/123456789012/churn"
	queueF = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"
	topicA = "arn:aws:sns:eu-west-1:123456789012:orders"
	topicB = "arn:aws:sns:eu-west-1:123456789012:forged"
)

// spyClock is the fake clock with the waits tests need: each fails the test
// after waitLimit instead of hanging it.
type spyClock struct{ *clock.Fake }

func newSpyClock() *spyClock {
	return &spyClock{clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))}
}

// awaitTimers waits until n timers of duration d have been created.
func (c *spyClock) awaitTimers(t testing.TB, d time.Duration, n int) {
	t.Helper()
	limit := make(chan struct{})
	stop := time.AfterFunc(waitLimit, func() { close(limit) })
	defer stop.Stop()
	require.True(t, c.AwaitCreated(d, n, limit), "timed out waiting for %d timers of %v", n, d)
}

func (c *spyClock) timers(d time.Duration) int { return c.Created(d) }

// blockUntil waits until n timers are pending, failing after waitLimit.
func (c *spyClock) blockUntil(t testing.TB, n int) {
	t.Helper()
	limit := make(chan struct{})
	stop := time.AfterFunc(waitLimit, func() { close(limit) })
	defer stop.Stop()
	require.True(t, c.BlockUntil(n, limit), "timed out waiting for %d pending timers", n)
}

// harness runs a Subscriber against a fakeSQS with a spy clock, a logrus
// test hook and an OnError recorder, and checks at cleanup that it shut down
// without leaking goroutines.
type harness struct {
	t        *testing.T
	sqs      *fakeSQS
	clk      *spyClock
	s        *Subscriber
	hook     *test.Hook
	logger   *logrus.Logger
	baseline int

	errMu   sync.Mutex
	errs    []error
	errChgd chan struct{}

	runErr  chan error
	stopped bool
}

func newHarness(t *testing.T, optFns ...func(*SubscriberOptions)) *harness {
	t.Helper()
	h := &harness{t: t, baseline: runtime.NumGoroutine(), sqs: newFakeSQS(), clk: newSpyClock(), errChgd: make(chan struct{})}
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	h.hook, h.logger = hook, logger
	base := func(o *SubscriberOptions) {
		o.Logger = logger
		o.Clock = h.clk
		o.OnError = h.onError
		o.AckFlushInterval = -1 // flush at once unless a test is about lingering
	}
	s, err := NewSubscriber(h.sqs, append([]func(*SubscriberOptions){base}, optFns...)...)
	require.NoError(t, err)
	s.rand = func() float64 { return 0.5 } // no jitter
	h.s = s
	// A long poll lasts until its queue stops being polled; tests poke the
	// fake to end it, as WaitTime would.
	h.sqs.waitOver = func(queueURL string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.state == stateClosed || s.pollers[queueURL] == nil
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) onError(err error) {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	h.errs = append(h.errs, err)
	close(h.errChgd)
	h.errChgd = make(chan struct{})
}

// waitErrors waits until OnError got n errors and returns them.
func (h *harness) waitErrors(n int) []error {
	h.t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		h.errMu.Lock()
		errs := append([]error(nil), h.errs...)
		ch := h.errChgd
		h.errMu.Unlock()
		if len(errs) >= n {
			return errs
		}
		select {
		case <-ch:
		case <-limit.C:
			h.t.Fatalf("timed out waiting for %d errors, got %v", n, errs)
		}
	}
}

func (h *harness) errors() []error {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	return append([]error(nil), h.errs...)
}

// start runs the subscriber in a goroutine.
func (h *harness) start() {
	h.runErr = make(chan error, 1)
	go func() { h.runErr <- h.s.Run(context.Background()) }()
}

// awaitShutdownBegun waits until shutdown has stopped the pollers.
func (h *harness) awaitShutdownBegun() {
	h.t.Helper()
	select {
	case <-h.s.closing:
	case <-time.After(waitLimit):
		h.t.Fatal("shutdown did not begin")
	}
}

// endPolls ends the long polls of queues no longer polled, as their
// WaitTime would.
func (h *harness) endPolls() { h.sqs.poke() }

// close runs Close, ending the long polls it waits for.
func (h *harness) close() error {
	h.t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.s.Close() }()
	h.awaitShutdownBegun()
	h.endPolls()
	return next(h.t, done)
}

// stop closes the subscriber, checks Run's result and that no goroutine is left.
func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	require.NoError(h.t, h.close())
	if h.runErr != nil {
		select {
		case err := <-h.runErr:
			require.NoError(h.t, err)
		case <-time.After(waitLimit):
			h.t.Fatal("Run did not return after Close")
		}
	}
	assertNoLeak(h.t, h.baseline)
}

// assertNoLeak waits (yielding, bounded) for the goroutine count to return
// to baseline: goroutines that signaled their end may need a moment to exit.
func assertNoLeak(t testing.TB, baseline int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutine leak: %d goroutines, baseline %d\n%s", n, baseline, buf)
	}
}

// logCount counts log entries at level with message msg.
func (h *harness) logCount(level logrus.Level, msg string) int {
	n := 0
	for _, e := range h.hook.AllEntries() {
		if e.Level == level && e.Message == msg {
			n++
		}
	}
	return n
}

var eventSeq atomic.Int64

// envelopeBody is a CloudEvents envelope of type typ with data as JSON.
func envelopeBody(t testing.TB, typ string, data any) string {
	t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	b, err := json.Marshal(Envelope{
		SpecVersion: SpecVersion, ID: "ev-" + strconv.FormatInt(eventSeq.Add(1), 10), Source: "test",
		Type: typ, DataContentType: ContentTypeJSON, Data: raw,
	})
	require.NoError(t, err)
	return string(b)
}

// snsBody wraps message in an SNS notification from topicARN.
func snsBody(t testing.TB, topicARN, message string, attrs map[string]codec.Attribute) string {
	t.Helper()
	n := map[string]any{
		"Type": "Notification", "MessageId": "sns-" + strconv.FormatInt(eventSeq.Add(1), 10),
		"TopicArn": topicARN, "Message": message, "Timestamp": "2025-01-01T00:00:00.000Z",
	}
	if attrs != nil {
		n["MessageAttributes"] = attrs
	}
	b, err := json.Marshal(n)
	require.NoError(t, err)
	return string(b)
}

// recv returns a handler that sends each message to a channel and returns result.
func recv(result error) (Handler, chan *Message) {
	ch := make(chan *Message, 100)
	return func(_ context.Context, m *Message) error {
		ch <- m
		return result
	}, ch
}

func next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting on channel")
		var zero T
		return zero
	}
}

// collect receives n messages from ch, keyed by SQS message id (handlers
// run concurrently, so arrival order is not defined).
func collect(t testing.TB, ch <-chan *Message, n int) map[string]*Message {
	t.Helper()
	out := make(map[string]*Message, n)
	for range n {
		m := next(t, ch)
		out[m.SQSMessageID] = m
	}
	return out
}

func (h *harness) waitDeleted(receipts ...string) {
	h.t.Helper()
	h.sqs.waitFor(h.t, fmt.Sprintf("deletes of %v", receipts), func() bool {
		got := map[string]bool{}
		for _, r := range h.sqs.deletedReceiptsLocked() {
			got[r] = true
		}
		for _, r := range receipts {
			if !got[r] {
				return false
			}
		}
		return true
	})
}

// waitVisibility waits for a visibility batch entry for receipt and returns its timeout.
func (h *harness) waitVisibility(receipt string) int32 {
	h.t.Helper()
	var vis int32
	h.sqs.waitFor(h.t, "visibility change of "+receipt, func() bool {
		for _, e := range h.sqs.visEntriesLocked() {
			if aws.ToString(e.ReceiptHandle) == receipt {
				vis = e.VisibilityTimeout
				return true
			}
		}
		return false
	})
	return vis
}

func (h *harness) deletedCount() int {
	var n int
	h.sqs.with(func() { n = len(h.sqs.deletedReceiptsLocked()) })
	return n
}

func TestNewSubscriberValidatesOptions(t *testing.T) {
	_, err := NewSubscriber(nil)
	require.ErrorIs(t, err, ErrInvalidOptions)
	cases := map[string]func(*SubscriberOptions){
		"wait time":      func(o *SubscriberOptions) { o.WaitTime = 21 * time.Second },
		"max messages":   func(o *SubscriberOptions) { o.MaxMessages = 11 },
		"concurrency":    func(o *SubscriberOptions) { o.Concurrency = -1 },
		"receivers":      func(o *SubscriberOptions) { o.ReceiversPerQueue = -1 },
		"max messages<0": func(o *SubscriberOptions) { o.MaxMessages = -1 },
		"visibility":     func(o *SubscriberOptions) { o.VisibilityTimeout = 13 * time.Hour },
		"heartbeat":      func(o *SubscriberOptions) { o.HeartbeatFraction = 1 },
		"handler time":   func(o *SubscriberOptions) { o.HandlerTimeout = -1 },
		"backoff max":    func(o *SubscriberOptions) { o.BackoffMax = 13 * time.Hour },
		"backoff min":    func(o *SubscriberOptions) { o.BackoffMin = time.Hour },
		"factor":         func(o *SubscriberOptions) { o.BackoffFactor = 0.5 },
		"jitter":         func(o *SubscriberOptions) { o.Jitter = 1.5 },
		"visibility<1s":  func(o *SubscriberOptions) { o.VisibilityTimeout = -1 },
		"unknown policy": func(o *SubscriberOptions) { o.UnknownTypePolicy = 7 },
		"malformed":      func(o *SubscriberOptions) { o.MalformedPolicy = -1 },
		"topic":          func(o *SubscriberOptions) { o.AllowedTopicARNs = []string{""} },
		"middleware":     func(o *SubscriberOptions) { o.Middleware = []Middleware{nil} },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewSubscriber(newFakeSQS(), fn)
			require.ErrorIs(t, err, ErrInvalidOptions)
		})
	}
	s, err := NewSubscriber(newFakeSQS(), func(o *SubscriberOptions) { o.Logger, o.Clock = nil, nil })
	require.NoError(t, err, "nil Logger and Clock mean the defaults")
	require.NoError(t, s.Close())
}

// Zero means the default for every field; a negative value selects "none"
// where that is a setting of its own, and is rejected elsewhere.
func TestSubscriberOptionsZeroMeansDefault(t *testing.T) {
	o := SubscriberOptions{}.withDefaults()
	require.NoError(t, o.validate())
	assert.NotNil(t, o.Logger)
	assert.NotNil(t, o.Clock)
	o.Logger, o.Clock = nil, nil
	assert.Equal(t, SubscriberOptions{
		WaitTime: 20 * time.Second, MaxMessages: 10, Concurrency: 10, Prefetch: 100, ReceiversPerQueue: 8,
		VisibilityTimeout: 30 * time.Second, HeartbeatFraction: 0.5, HandlerTimeout: 15 * time.Minute,
		BackoffMin: 2 * time.Second, BackoffMax: 10 * time.Minute, BackoffFactor: 2, Jitter: 0.2,
		AckFlushInterval: 50 * time.Millisecond, AckRetries: 3, DrainTimeout: 30 * time.Second,
	}, o)

	none := SubscriberOptions{WaitTime: -1, Prefetch: -1, BackoffMin: -1, Jitter: -1, AckFlushInterval: -1, AckRetries: -1, DrainTimeout: -1}.withDefaults()
	require.NoError(t, none.validate())
	assert.Zero(t, none.WaitTime, "short polling")
	assert.Zero(t, none.Prefetch)
	assert.Zero(t, none.BackoffMin)
	assert.Zero(t, none.Jitter)
	assert.Zero(t, none.AckFlushInterval)
	assert.Zero(t, none.AckRetries)
	assert.Zero(t, none.DrainTimeout)

	short := SubscriberOptions{BackoffMax: time.Second}.withDefaults()
	require.NoError(t, short.validate())
	assert.Equal(t, time.Second, short.BackoffMin, "the default BackoffMin is capped by a lower BackoffMax")
}

func TestReceiveRequest(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) {
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
}

// TestShortPollingPausesWhenEmpty: with short polling, an empty queue costs
// a receive per pause, the pause doubling from 50ms up to 1s, not a spin.
func TestShortPollingPausesWhenEmpty(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.WaitTime = -1; o.ReceiversPerQueue = 1 })
	hd, ch := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	h.start()
	pause := 50 * time.Millisecond
	seen := map[time.Duration]int{}
	for i := 1; i <= 7; i++ { // 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1s
		seen[pause]++
		h.clk.awaitTimers(t, pause, seen[pause])
		h.sqs.with(func() { assert.Len(t, h.sqs.receives, i, "a receive per pause") })
		h.clk.Advance(pause)
		h.sqs.waitFor(t, "the next receive", func() bool { return len(h.sqs.receives) == i+1 })
		pause = min(2*pause, time.Second)
	}
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.clk.Advance(time.Second)
	next(t, ch)
	h.waitDeleted(receiptOf(id, 1))
	h.sqs.with(func() {
		for _, r := range h.sqs.receives {
			assert.Zero(t, r.WaitTimeSeconds)
		}
	})
}

// TestEmptyAnswerAtOnceDoesNotSpin: a client whose long poll answers empty
// at once (a mock, a short-polling queue) makes each receiver pause.
func TestEmptyAnswerAtOnceDoesNotSpin(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.ReceiversPerQueue = 1 })
	h.sqs.waitOver = func(string) bool { return true } // every long poll is over at once
	hd, _ := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	h.start()
	h.clk.awaitTimers(t, 50*time.Millisecond, 1)
	h.sqs.with(func() { assert.Len(t, h.sqs.receives, 1, "one receive, then a pause") })
	h.clk.Advance(50 * time.Millisecond)
	h.clk.awaitTimers(t, 100*time.Millisecond, 1)
	h.sqs.with(func() { assert.Len(t, h.sqs.receives, 2) })
}

func TestDispatchByType(t *testing.T) {
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
}

func TestFallbackGetsNonEnvelopeAndUnknownTypes(t *testing.T) {
	h := newHarness(t)
	fb, fbCh := recv(nil)
	_, err := h.s.HandleFallback(queueA, fb)
	require.NoError(t, err)
	_, err = h.s.HandleFallback(queueA, fb)
	require.ErrorIs(t, err, ErrDuplicateHandler)
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
}

func TestSNSNotificationAndRawDelivery(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.AllowedTopicARNs = []string{topicA} })
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
}

func TestForgedTopicIsNotHandledNorDeleted(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.AllowedTopicARNs = []string{topicA} })
	hd, ch := recv(nil)
	_, err := h.s.Handle(queueA, "card.created", hd)
	require.NoError(t, err)
	forged := h.sqs.send(queueA, snsBody(t, topicB, envelopeBody(t, "card.created", "evil"), nil))
	h.start()

	assert.Equal(t, int32(2), h.waitVisibility(receiptOf(forged, 1)), "nacked with the first backoff")
	errs := h.waitErrors(1)
	require.ErrorIs(t, errs[0], ErrTopicNotAllowed)
	assert.Empty(t, ch, "the handler never saw it")
	assert.Zero(t, h.deletedCount())
	assert.Equal(t, 1, h.logCount(logrus.WarnLevel, "snssqs: cannot decode message"))
}

func TestMalformedPolicyDelete(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.MalformedPolicy = PolicyDelete })
	hd, ch := recv(nil)
	_, err := h.s.HandleFallback(queueA, hd)
	require.NoError(t, err)
	bad := h.sqs.send(queueA, `{"specversion":"0.3","id":"1","source":"s","type":"t"}`)
	h.start()

	h.waitDeleted(receiptOf(bad, 1))
	require.ErrorIs(t, h.waitErrors(1)[0], ErrMalformedMessage)
	assert.Empty(t, ch)
}

func TestAttributesReachHandler(t *testing.T) {
	h := newHarness(t)
	hd, ch := recv(nil)
	_, err := h.s.HandleFallback(queueA, hd)
	require.NoError(t, err)
	blob := []byte{0, 1, 2, 0xff}
	sqsID := h.sqs.send(queueA, envelopeBody(t, "a", 1), withAttrs(map[string]types.MessageAttributeValue{
		"blob": {DataType: aws.String("Binary"), BinaryValue: blob},
		"name": {DataType: aws.String("String"), StringValue: aws.String("n")},
	}))
	snsID := h.sqs.send(queueA, snsBody(t, topicA, envelopeBody(t, "b", 2), map[string]codec.Attribute{
		"blob": {Type: "Binary", Value: base64.StdEncoding.EncodeToString(blob)},
		"num":  {Type: "Number", Value: "42"},
	}))
	h.start()

	got := collect(t, ch, 2)
	m := got[sqsID]
	require.NotNil(t, m)
	assert.Equal(t, BinaryAttribute(blob), m.Attributes["blob"])
	assert.Equal(t, StringAttribute("n"), m.Attributes["name"])
	m = got[snsID]
	require.NotNil(t, m)
	assert.Equal(t, BinaryAttribute(blob), m.Attributes["blob"])
	assert.Equal(t, NumberAttribute("42"), m.Attributes["num"])
}

func TestUnknownTypeRetryLoggedOnce(t *testing.T) {
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
		require.ErrorIs(t, err, ErrNoHandler)
	}
	assert.Zero(t, h.deletedCount())
	assert.Equal(t, 1, h.logCount(logrus.WarnLevel, "snssqs: no handler for event type (logged once per queue and type)"))
}

func TestUnknownTypeDelete(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.UnknownTypePolicy = PolicyDelete })
	hd, _ := recv(nil)
	_, err := h.s.Handle(queueA, "known", hd)
	require.NoError(t, err)
	a := h.sqs.send(queueA, envelopeBody(t, "mystery", 1))
	b := h.sqs.send(queueA, envelopeBody(t, "mystery", 2))
	h.start()

	h.waitDeleted(receiptOf(a, 1), receiptOf(b, 1))
	h.waitErrors(2)
	assert.Equal(t, 1, h.logCount(logrus.WarnLevel, "snssqs: no handler for event type (logged once per queue and type)"))
	h.sqs.with(func() { assert.Empty(t, h.sqs.visEntriesLocked()) })
}

func TestHandlerErrorNacksWithBackoff(t *testing.T) {
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
}

func TestNackJitterIsDeterministic(t *testing.T) {
	h := newHarness(t)
	h.s.rand = func() float64 { return 0 } // the lowest jitter: -20%
	hd, ch := recv(errors.New("boom"))
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1), withReceiveCount(3)) // 4th delivery: 16s
	h.start()
	next(t, ch)
	assert.Equal(t, int32(13), h.waitVisibility(receiptOf(id, 4)), "16s - 20% = 12.8s, rounded")
}

func TestDeleteBatchOfTen(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.AckFlushInterval = time.Minute })
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
}

func TestDeletesFlushedAfterInterval(t *testing.T) {
	const flush = 50 * time.Millisecond
	h := newHarness(t, func(o *SubscriberOptions) { o.AckFlushInterval = flush })
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
	// Entries wait for the linger timer: nothing is sent until the clock moves.
	h.clk.awaitTimers(t, flush, 1)
	h.sqs.with(func() { assert.Empty(t, h.sqs.deleteBatches) })
	for advances := 1; h.deletedCount() < 3; advances++ {
		h.clk.awaitTimers(t, flush, advances)
		h.clk.Advance(flush)
		h.sqs.waitFor(t, "a flush", func() bool { return len(h.sqs.deleteBatches) >= advances })
		h.sqs.with(func() { assert.Len(t, h.sqs.deleteBatches, advances, "one batch per elapsed interval") })
	}
	h.waitDeleted(receipts...)
}

func TestDeleteEntryFailureRetriedThenReported(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.AckRetries = 2 })
	hd, _ := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.sqs.with(func() {
		h.sqs.entryFailures[receiptOf(id, 1)] = &fakeEntryFailure{times: -1, code: "InternalError"}
	})
	h.start()

	errs := h.waitErrors(1)
	var ae *AckError
	require.ErrorAs(t, errs[0], &ae)
	assert.Equal(t, id, ae.SQSMessageID)
	assert.Equal(t, consume.OpDelete, ae.Op)
	assert.Equal(t, "InternalError", ae.Code)
	require.ErrorIs(t, errs[0], ErrBatchFailed)
	h.sqs.with(func() { assert.Len(t, h.sqs.deleteBatches, 3, "one call and two retries") })
}

// TestBackPressure: without prefetch, a receive asks for the free workers
// only, and none is made while every worker is busy.
func TestBackPressure(t *testing.T) {
	var inflight atomic.Int32
	h := newHarness(t, func(o *SubscriberOptions) { o.Concurrency, o.Prefetch, o.ReceiversPerQueue = 2, -1, 1 })
	h.sqs.onReceive = func(in *sqs.ReceiveMessageInput) {
		busy := inflight.Load()
		assert.Positive(t, in.MaxNumberOfMessages)
		assert.LessOrEqual(t, in.MaxNumberOfMessages, 2-busy, "asked for more messages than free workers")
	}
	started := make(chan string, 10)
	release := make(chan struct{})
	_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *Message) error {
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
}

// TestBackPressureWithPrefetch: at most Prefetch received messages wait for
// a worker, no receive is made while every worker is busy, and the waiting
// messages are handled in turn.
func TestBackPressureWithPrefetch(t *testing.T) {
	const concurrency, prefetch, total = 2, 3, 10
	var handling, handled atomic.Int32
	h := newHarness(t, func(o *SubscriberOptions) { o.Concurrency, o.Prefetch, o.ReceiversPerQueue = concurrency, prefetch, 1 })
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
	_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *Message) error {
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
}

// TestShutdownReleasesPrefetched: messages waiting for a worker are released
// at once when the subscriber stops, while the running handler drains.
func TestShutdownReleasesPrefetched(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.Concurrency, o.Prefetch, o.ReceiversPerQueue = 1, 2, 1 })
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
	h.awaitShutdownBegun()
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
}

func TestPanicRecovered(t *testing.T) {
	var seen []error
	var mu sync.Mutex
	record := func(next Handler) Handler {
		return func(ctx context.Context, m *Message) error {
			err := next(ctx, m)
			mu.Lock()
			seen = append(seen, err)
			mu.Unlock()
			return err
		}
	}
	h := newHarness(t, func(o *SubscriberOptions) { o.Middleware = []Middleware{record} })
	ok := make(chan *Message, 1)
	_, err := h.s.Handle(queueA, "t", func(_ context.Context, m *Message) error {
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
	require.ErrorIs(t, seen[0], ErrHandlerPanic, "middleware sees the panic as an error")
	assert.Contains(t, seen[0].Error(), "kaboom")
	mu.Unlock()
	entries := 0
	for _, e := range h.hook.AllEntries() {
		if e.Message == "snssqs: handler panicked" {
			entries++
			assert.Contains(t, e.Data["stack"], "runtime/debug.Stack")
		}
	}
	assert.Equal(t, 1, entries)
}

func TestPanickingMiddlewareRecovered(t *testing.T) {
	bad := func(Handler) Handler {
		return func(context.Context, *Message) error { panic("middleware bug") }
	}
	h := newHarness(t, func(o *SubscriberOptions) { o.Middleware = []Middleware{bad} })
	hd, _ := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.start()
	assert.Equal(t, int32(2), h.waitVisibility(receiptOf(id, 1)))
}

func TestReceiveErrorsRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, func(o *SubscriberOptions) { o.ReceiversPerQueue = 1 }) // one loop's backoff
	apiErr := &smithy.GenericAPIError{Code: "InternalError", Message: "try again"}
	h.sqs.receiveErrs = []error{apiErr, apiErr}
	hd, ch := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.start()

	h.clk.awaitTimers(t, 100*time.Millisecond, 1)
	h.clk.Advance(100 * time.Millisecond)
	h.clk.awaitTimers(t, 200*time.Millisecond, 1) // exponential
	h.clk.Advance(200 * time.Millisecond)
	next(t, ch)
	h.waitDeleted(receiptOf(id, 1))
	errs := h.waitErrors(2)
	for _, err := range errs {
		var ge *smithy.GenericAPIError
		require.ErrorAs(t, err, &ge, "the AWS error stays reachable")
	}
	assert.Equal(t, 2, h.logCount(logrus.WarnLevel, "snssqs: receive failed"))
}

func TestFIFOGroupsInOrder(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	order := map[string][]string{}
	done := make(chan struct{}, 10)
	_, err := h.s.Handle(queueF, "t", func(_ context.Context, m *Message) error {
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
}

// TestFairQueueGroupsRunConcurrently: on a standard queue a MessageGroupId
// marks a fair-queue tenant, not an order: a group's messages are handled
// at once, up to Concurrency.
func TestFairQueueGroupsRunConcurrently(t *testing.T) {
	h := newHarness(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	_, err := h.s.Handle(queueA, "t", func(context.Context, *Message) error {
		started <- struct{}{}
		<-release
		return nil
	})
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
}

func TestAddRemoveHandlersWhileRunning(t *testing.T) {
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

	// Removing the last handler of queueA stops polling it: its poller
	// exits (a receive it was already issuing ends at once, as its queue
	// is no longer polled) and no receive follows.
	h.s.mu.Lock()
	pollerA := h.s.pollers[queueA]
	h.s.mu.Unlock()
	require.NotNil(t, pollerA)
	regA.Remove()
	h.endPolls()
	next(t, pollerA.done)
	var before int
	h.sqs.with(func() { before = h.sqs.receivesForLocked(queueA) })
	h.sqs.send(queueA, envelopeBody(t, "a", "unpolled"))
	idB := h.sqs.send(queueB, envelopeBody(t, "b", 1))
	next(t, chB)
	h.waitDeleted(receiptOf(idB, 1))
	h.sqs.with(func() {
		assert.Equal(t, before, h.sqs.receivesForLocked(queueA), "no receive on a queue without handlers")
	})
	h.s.mu.Lock()
	assert.NotContains(t, h.s.pollers, queueA)
	h.s.mu.Unlock()
	assert.Empty(t, chA)

	// A new handler resumes polling.
	regA2, err := h.s.Handle(queueA, "a", hdA)
	require.NoError(t, err)
	m := next(t, chA)
	assert.JSONEq(t, `"unpolled"`, string(m.Data))
	regA2.Remove()
	regB.Remove()
}

func TestRemoveLetsInflightHandlerFinish(t *testing.T) {
	h := newHarness(t)
	started := make(chan struct{})
	release := make(chan struct{})
	reg, err := h.s.Handle(queueA, "t", func(context.Context, *Message) error {
		close(started)
		<-release
		return nil
	})
	require.NoError(t, err)
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.start()
	<-started
	reg.Remove()
	h.endPolls()
	h.sqs.waitFor(t, "the long poll to end", func() bool { return h.sqs.receiving[queueA] == 0 })
	close(release)
	h.waitDeleted(receiptOf(id, 1))
}

func TestShutdownDrainsAndReleasesUnstarted(t *testing.T) {
	h := newHarness(t)
	started := make(chan string, 10)
	release := make(chan struct{})
	_, err := h.s.Handle(queueF, "t", func(_ context.Context, m *Message) error {
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
	h.awaitShutdownBegun()
	h.sqs.with(func() { assert.Equal(t, 1, h.sqs.receiving[queueF], "the long poll is not canceled") })
	h.endPolls()
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
}

func TestShutdownLetsLongPollFinishAndReleasesItsMessages(t *testing.T) {
	h := newHarness(t)
	receivers := 1 // an idle queue is long-polled by one receiver
	hd, ch := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	h.start()
	h.sqs.waitFor(t, "the long polls", func() bool { return h.sqs.receiving[queueA] == receivers })

	shut := make(chan error, 1)
	go func() { shut <- h.s.Shutdown(context.Background()) }()
	h.awaitShutdownBegun()
	// SQS would keep serving a canceled poll, hiding what it hands out; the
	// poll goes on, and a message it brings after shutdown began is
	// released at once instead of handled.
	id := h.sqs.send(queueA, envelopeBody(t, "t", 1))
	h.endPolls() // the other long poll, if any, reaches its WaitTime
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
}

func TestShutdownDeadlineAbandonsHandler(t *testing.T) {
	h := newHarness(t)
	started := make(chan struct{})
	sawCancel := make(chan error, 1)
	_, err := h.s.Handle(queueA, "t", func(ctx context.Context, _ *Message) error {
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
	h.awaitShutdownBegun()
	cancel() // the shutdown deadline passes: the long poll is canceled too
	require.ErrorIs(t, next(t, shut), context.Canceled)
	require.ErrorIs(t, next(t, sawCancel), context.Canceled)
	assert.Zero(t, h.deletedCount())
	h.sqs.with(func() {
		assert.Empty(t, h.sqs.visEntriesLocked(), "not nacked either: it returns after its visibility timeout")
	})
	require.NoError(t, next(t, h.runErr), "Run returns nil when Shutdown stops it")
	h.runErr = nil
	h.stop()
}

func TestRunStopsWhenContextEnds(t *testing.T) {
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
	h.awaitShutdownBegun()
	h.endPolls()
	require.NoError(t, next(t, done))
	h.waitDeleted(receiptOf(id, 1))
	require.ErrorIs(t, h.s.Run(context.Background()), ErrClosed)
	_, err = h.s.Handle(queueA, "u", hd)
	require.ErrorIs(t, err, ErrClosed)
	h.stop()
}

func TestCloseIsIdempotentAndConcurrent(t *testing.T) {
	h := newHarness(t)
	hd, _ := recv(nil)
	_, err := h.s.Handle(queueA, "t", hd)
	require.NoError(t, err)
	h.start()
	h.sqs.waitFor(t, "polling", func() bool { return h.sqs.receiving[queueA] == 1 })
	require.ErrorIs(t, h.s.Run(context.Background()), ErrAlreadyRunning)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, h.s.Close())
		}()
	}
	h.awaitShutdownBegun()
	h.endPolls()
	wg.Wait()
	require.NoError(t, h.s.Close())
	require.NoError(t, h.s.Shutdown(context.Background()))
	h.stop()
}

func TestCloseWithoutRun(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := NewSubscriber(newFakeSQS())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Run(context.Background()), ErrClosed)
	assertNoLeak(t, base)
}
