package snssqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/snssqstest"
)

// The test helpers of package snssqs_test: a Subscriber harness over an
// in-memory SQS (fakeSQS), an in-memory SNS (fakeSNS), and builders of the
// bodies SNS and producers send.

const (
	queueA = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
	queueB = "https://sqs.eu-west-1.amazonaws.com/123456789012/audit"
	queueC = "https://sqs.eu-west-1.amazonaws.com/123456789012/churn"
	queueF = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"
	topicA = "arn:aws:sns:eu-west-1:123456789012:orders"
	topicB = "arn:aws:sns:eu-west-1:123456789012:forged"
)

// harness runs a Subscriber against a fakeSQS, records what OnError got,
// and closes the Subscriber at cleanup, checking Run's result. It must run
// in a synctest bubble: the Subscriber's timers (heartbeats, backoffs, ack
// batching, long polls) run on the bubble's clock, which moves only when
// every goroutine waits, and the bubble fails the test if a goroutine is
// left.
type harness struct {
	t   *testing.T
	sqs *fakeSQS
	s   *snssqs.Subscriber

	errMu   sync.Mutex
	errs    []error
	errChgd chan struct{}

	runErr  chan error
	stopped bool
}

// newHarness makes a Subscriber with optFns applied after the harness's
// own: a debug-level logger that writes nothing (so debug fields are
// built), OnError recorded, acks sent at once, no jitter and 1s long polls.
func newHarness(t *testing.T, optFns ...func(*snssqs.SubscriberOptions)) *harness {
	t.Helper()
	h := &harness{t: t, sqs: newFakeSQS(), errChgd: make(chan struct{})}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	logger.SetLevel(logrus.DebugLevel)
	base := func(o *snssqs.SubscriberOptions) {
		o.Logger = logger
		o.OnError = h.onError
		o.AckFlushInterval = -1 // at once, unless a test is about lingering
		o.Jitter = -1
		o.WaitTime = time.Second // a long poll ends within waitLimit
	}
	s, err := snssqs.NewSubscriber(h.sqs, append([]func(*snssqs.SubscriberOptions){base}, optFns...)...)
	require.NoError(t, err)
	h.s = s
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

// stop closes the subscriber and checks Run's result.
func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	require.NoError(h.t, h.s.Close())
	if h.runErr != nil {
		require.NoError(h.t, next(h.t, h.runErr))
	}
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

// recv returns a handler that sends each message to a channel and returns result.
func recv(result error) (snssqs.Handler, chan *snssqs.Message) {
	ch := make(chan *snssqs.Message, 100)
	return func(_ context.Context, m *snssqs.Message) error {
		ch <- m
		return result
	}, ch
}

// next receives from ch, failing t after waitLimit.
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
func collect(t testing.TB, ch <-chan *snssqs.Message, n int) map[string]*snssqs.Message {
	t.Helper()
	out := make(map[string]*snssqs.Message, n)
	for range n {
		m := next(t, ch)
		out[m.SQSMessageID] = m
	}
	return out
}

var eventSeq atomic.Int64

// envelopeBody is a CloudEvents envelope of type typ with data as JSON.
func envelopeBody(t testing.TB, typ string, data any) string {
	t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	b, err := json.Marshal(snssqs.Envelope{
		SpecVersion: snssqs.SpecVersion, ID: fmt.Sprintf("ev-%06d", eventSeq.Add(1)), Source: "test",
		Type: typ, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), DataContentType: snssqs.ContentTypeJSON, Data: raw,
	})
	require.NoError(t, err)
	return string(b)
}

// snsAttribute is a message attribute as an SNS notification carries it.
type snsAttribute struct{ Type, Value string }

// snsBody wraps message in an SNS notification from topicARN, as SNS
// delivers it to a queue when raw message delivery is off.
func snsBody(t testing.TB, topicARN, message string, attrs map[string]snsAttribute) string {
	t.Helper()
	n := map[string]any{
		"Type": "Notification", "MessageId": "sns-" + strconv.FormatInt(eventSeq.Add(1), 10),
		"TopicArn": topicARN, "Message": message, "Timestamp": "2025-01-01T00:00:00.000Z", "SignatureVersion": "1",
		"Signature": "EXAMPLE", "SigningCertURL": "https://example.invalid/cert.pem", "UnsubscribeURL": "https://example.invalid/unsub",
	}
	if attrs != nil {
		n["MessageAttributes"] = attrs
	}
	b, err := json.Marshal(n)
	require.NoError(t, err)
	return string(b)
}

// waitLimit bounds every wait of the tests on the code under test; reaching
// it means the awaited event never happens, a failure.
const waitLimit = 5 * time.Second

// fakeSQS is an in-memory snssqs.SQSConsumeAPI. Messages are received in
// order; received messages stay in flight until deleted (the fake has no
// visibility clock, and visibility changes are only recorded).
// ReceiveMessage blocks until a message is available, its context ends or
// its WaitTimeSeconds have passed (with 0, it returns at once): run in a
// synctest bubble, that time passes as soon as every goroutine waits. Every
// call is recorded and errors can be injected.
type fakeSQS struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	queues  map[string]*fakeQueue
	nextID  int

	receives      []*sqs.ReceiveMessageInput
	receivedAt    []time.Time    // when each receive began
	receiving     map[string]int // receives in progress per queue
	deleteBatches []*sqs.DeleteMessageBatchInput
	visBatches    []*sqs.ChangeMessageVisibilityBatchInput
	visAt         []time.Time // when each visibility batch came

	// receiveErrs are returned, in order, by the next ReceiveMessage calls.
	receiveErrs []error
	// deleteBatchErrs are returned, in order, by the next DeleteMessageBatch calls.
	deleteBatchErrs []error
	// entryFailures makes entries with a receipt handle fail in batch calls.
	entryFailures map[string]*fakeEntryFailure
	// visErr is returned by ChangeMessageVisibilityBatch when set.
	visErr error
	// onReceive, if set, is called (without the lock) at the start of each receive.
	onReceive func(*sqs.ReceiveMessageInput)
	// emptyAtOnce makes every long poll of an empty queue answer at once, as
	// a mock does.
	emptyAtOnce bool
}

type fakeEntryFailure struct {
	times       int // failures left; < 0 means always
	code        string
	senderFault bool
}

type fakeQueue struct {
	visible  []*fakeMsg
	inflight map[string]*fakeMsg
}

type fakeMsg struct {
	id, body     string
	group        string
	attrs        map[string]types.MessageAttributeValue
	receiveCount int
}

func newFakeSQS() *fakeSQS {
	return &fakeSQS{
		changed:       make(chan struct{}),
		queues:        make(map[string]*fakeQueue),
		receiving:     make(map[string]int),
		entryFailures: make(map[string]*fakeEntryFailure),
	}
}

var _ snssqs.SQSConsumeAPI = (*fakeSQS)(nil)

func (f *fakeSQS) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSQS) queueLocked(url string) *fakeQueue {
	q := f.queues[url]
	if q == nil {
		q = &fakeQueue{inflight: make(map[string]*fakeMsg)}
		f.queues[url] = q
	}
	return q
}

// send adds a message and returns its SQS message id.
func (f *fakeSQS) send(queueURL, body string, opts ...func(*fakeMsg)) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	m := &fakeMsg{id: "m" + strconv.Itoa(f.nextID), body: body}
	for _, o := range opts {
		o(m)
	}
	q := f.queueLocked(queueURL)
	q.visible = append(q.visible, m)
	f.notifyLocked()
	return m.id
}

func withGroup(g string) func(*fakeMsg) { return func(m *fakeMsg) { m.group = g } }

// withReceiveCount makes the next receive report count+1 deliveries.
func withReceiveCount(n int) func(*fakeMsg) { return func(m *fakeMsg) { m.receiveCount = n } }

func withAttrs(a map[string]types.MessageAttributeValue) func(*fakeMsg) {
	return func(m *fakeMsg) { m.attrs = a }
}

// receiptOf is the receipt handle the fake gives the n-th delivery of id.
func receiptOf(id string, n int) string { return fmt.Sprintf("rh-%s-%d", id, n) }

func (f *fakeSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.onReceive != nil {
		f.onReceive(in)
	}
	if err := ctx.Err(); err != nil { // as the SDK: no request with a done context
		return nil, err
	}
	url := aws.ToString(in.QueueUrl)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.receives = append(f.receives, in)
	f.receivedAt = append(f.receivedAt, time.Now())
	f.notifyLocked()
	if len(f.receiveErrs) > 0 {
		err := f.receiveErrs[0]
		f.receiveErrs = f.receiveErrs[1:]
		return nil, err
	}
	f.receiving[url]++
	f.notifyLocked()
	defer func() {
		f.receiving[url]--
		f.notifyLocked()
	}()
	waitOver := time.After(time.Duration(in.WaitTimeSeconds) * time.Second)
	for {
		q := f.queueLocked(url)
		if len(q.visible) > 0 {
			n := min(int(in.MaxNumberOfMessages), len(q.visible))
			out := &sqs.ReceiveMessageOutput{}
			for _, m := range q.visible[:n] {
				m.receiveCount++
				rh := receiptOf(m.id, m.receiveCount)
				q.inflight[rh] = m
				sys := map[string]string{
					string(types.MessageSystemAttributeNameApproximateReceiveCount): strconv.Itoa(m.receiveCount),
					string(types.MessageSystemAttributeNameSentTimestamp):           "1700000000000",
				}
				if m.group != "" {
					sys[string(types.MessageSystemAttributeNameMessageGroupId)] = m.group
				}
				out.Messages = append(out.Messages, types.Message{
					MessageId: aws.String(m.id), ReceiptHandle: aws.String(rh), Body: aws.String(m.body),
					Attributes: sys, MessageAttributes: m.attrs,
				})
			}
			q.visible = q.visible[n:]
			return out, nil
		}
		if in.WaitTimeSeconds == 0 || f.emptyAtOnce {
			return &sqs.ReceiveMessageOutput{}, nil // short poll
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
			f.mu.Lock()
		case <-waitOver:
			f.mu.Lock()
			return &sqs.ReceiveMessageOutput{}, nil // wait time over
		case <-ctx.Done():
			f.mu.Lock()
			return nil, ctx.Err()
		}
	}
}

// failEntryLocked applies an injected per-entry failure to receipt.
func (f *fakeSQS) failEntryLocked(id, receipt string) *types.BatchResultErrorEntry {
	ef := f.entryFailures[receipt]
	if ef == nil || ef.times == 0 {
		return nil
	}
	if ef.times > 0 {
		ef.times--
	}
	return &types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String(ef.code), SenderFault: ef.senderFault, Message: aws.String("injected")}
}

func (f *fakeSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteBatches = append(f.deleteBatches, in)
	f.notifyLocked()
	if len(f.deleteBatchErrs) > 0 {
		err := f.deleteBatchErrs[0]
		f.deleteBatchErrs = f.deleteBatchErrs[1:]
		return nil, err
	}
	q := f.queueLocked(aws.ToString(in.QueueUrl))
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		rh := aws.ToString(e.ReceiptHandle)
		if fail := f.failEntryLocked(aws.ToString(e.Id), rh); fail != nil {
			out.Failed = append(out.Failed, *fail)
			continue
		}
		delete(q.inflight, rh)
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (f *fakeSQS) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visBatches = append(f.visBatches, in)
	f.visAt = append(f.visAt, time.Now())
	f.notifyLocked()
	if f.visErr != nil {
		return nil, f.visErr
	}
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		if fail := f.failEntryLocked(aws.ToString(e.Id), aws.ToString(e.ReceiptHandle)); fail != nil {
			out.Failed = append(out.Failed, *fail)
			continue
		}
		out.Successful = append(out.Successful, types.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// waitFor blocks until cond, evaluated under the fake's lock, holds; it
// fails the test after waitLimit.
func (f *fakeSQS) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		f.mu.Lock()
		ok := cond()
		ch := f.changed
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-limit.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// receiveGaps returns the time between each receive and the one before.
func (f *fakeSQS) receiveGaps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gaps []time.Duration
	for i := 1; i < len(f.receivedAt); i++ {
		gaps = append(gaps, f.receivedAt[i].Sub(f.receivedAt[i-1]))
	}
	return gaps
}

// with runs fn under the fake's lock.
func (f *fakeSQS) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// deletedReceiptsLocked lists the receipt handles of all delete batch entries.
func (f *fakeSQS) deletedReceiptsLocked() []string {
	var out []string
	for _, b := range f.deleteBatches {
		for _, e := range b.Entries {
			out = append(out, aws.ToString(e.ReceiptHandle))
		}
	}
	return out
}

// visEntriesLocked lists all visibility batch entries.
func (f *fakeSQS) visEntriesLocked() []types.ChangeMessageVisibilityBatchRequestEntry {
	var out []types.ChangeMessageVisibilityBatchRequestEntry
	for _, b := range f.visBatches {
		out = append(out, b.Entries...)
	}
	return out
}

// receivesForLocked counts the receives recorded for queueURL.
func (f *fakeSQS) receivesForLocked(queueURL string) int {
	n := 0
	for _, r := range f.receives {
		if aws.ToString(r.QueueUrl) == queueURL {
			n++
		}
	}
	return n
}

// isExtension tells a heartbeat's visibility change: it sets the default
// 30s visibility timeout (nacks set a backoff, releases 0).
func isExtension(e types.ChangeMessageVisibilityBatchRequestEntry) bool {
	return e.VisibilityTimeout == 30
}

// extensionsLocked returns the heartbeat's visibility changes.
func (f *fakeSQS) extensionsLocked() []types.ChangeMessageVisibilityBatchRequestEntry {
	var out []types.ChangeMessageVisibilityBatchRequestEntry
	for _, e := range f.visEntriesLocked() {
		if isExtension(e) {
			out = append(out, e)
		}
	}
	return out
}

// fakeSNS is a hand-written snssqs.SNSPublishAPI that records every request, in
// call order, and answers with message id "mid-" + the envelope id.
type fakeSNS struct {
	mu    sync.Mutex
	calls []fakeCall

	// hook, if set, runs at the start of every call (outside mu); a
	// non-nil error fails the whole call.
	hook func(ctx context.Context, c fakeCall) error
	// failEntry, if set, makes PublishBatch report the entry with this
	// envelope id as Failed when it returns non-nil.
	failEntry func(envID string) *snstypes.BatchResultErrorEntry
}

type fakeCall struct {
	batch   bool
	topic   string
	entries []fakeEntry
}

type fakeEntry struct {
	batchID string // PublishBatch entry Id
	body    string
	envID   string
	attrs   map[string]snstypes.MessageAttributeValue
	groupID *string
	dedupID *string
}

// size is the request's size as SNS counts it: each body, and each
// attribute's name, data type and value.
func (c fakeCall) size() int {
	n := 0
	for _, e := range c.entries {
		n += len(e.body)
		for name, a := range e.attrs {
			n += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
		}
	}
	return n
}

func wireEnvelopeID(body string) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(body), &v)
	return v.ID
}

func (f *fakeSNS) record(c fakeCall) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

func (f *fakeSNS) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	e := fakeEntry{body: aws.ToString(in.Message), attrs: in.MessageAttributes, groupID: in.MessageGroupId, dedupID: in.MessageDeduplicationId}
	e.envID = wireEnvelopeID(e.body)
	c := fakeCall{topic: aws.ToString(in.TopicArn), entries: []fakeEntry{e}}
	f.record(c)
	if f.hook != nil {
		if err := f.hook(ctx, c); err != nil {
			return nil, err
		}
	}
	return &sns.PublishOutput{MessageId: aws.String("mid-" + e.envID)}, nil
}

func (f *fakeSNS) PublishBatch(ctx context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	c := fakeCall{batch: true, topic: aws.ToString(in.TopicArn)}
	for _, re := range in.PublishBatchRequestEntries {
		e := fakeEntry{batchID: aws.ToString(re.Id), body: aws.ToString(re.Message), attrs: re.MessageAttributes,
			groupID: re.MessageGroupId, dedupID: re.MessageDeduplicationId}
		e.envID = wireEnvelopeID(e.body)
		c.entries = append(c.entries, e)
	}
	f.record(c)
	if f.hook != nil {
		if err := f.hook(ctx, c); err != nil {
			return nil, err
		}
	}
	out := &sns.PublishBatchOutput{}
	for _, e := range c.entries {
		if f.failEntry != nil {
			if fe := f.failEntry(e.envID); fe != nil {
				fe.Id = aws.String(e.batchID)
				out.Failed = append(out.Failed, *fe)
				continue
			}
		}
		out.Successful = append(out.Successful, snstypes.PublishBatchResultEntry{Id: aws.String(e.batchID), MessageId: aws.String("mid-" + e.envID)})
	}
	return out, nil
}

func (f *fakeSNS) snapshot() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// sentEnvelopeIDs returns the envelope ids of every message sent, in call order.
func (f *fakeSNS) sentEnvelopeIDs() []string {
	var ids []string
	for _, c := range f.snapshot() {
		for _, e := range c.entries {
			ids = append(ids, e.envID)
		}
	}
	return ids
}

// heldCall is a request the fake holds until the test releases it.
type heldCall struct {
	call    fakeCall
	ctx     context.Context
	release chan error // send nil to answer normally, or an error to fail the call
}

// holdCalls makes every request of f wait: it is delivered on the returned
// channel and answered when the test sends on its release channel, or
// fails when its context ends.
func holdCalls(f *fakeSNS) <-chan heldCall {
	ch := make(chan heldCall)
	f.hook = func(ctx context.Context, c fakeCall) error {
		h := heldCall{call: c, ctx: ctx, release: make(chan error, 1)}
		select {
		case ch <- h:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-h.release:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ch
}

// newTestPublisher returns a publisher on f that is closed when the test
// ends (in a synctest bubble, the bubble checks that no goroutine is left).
func newTestPublisher(t *testing.T, f *fakeSNS, optFns ...func(*snssqs.PublisherOptions)) *snssqs.Publisher {
	t.Helper()
	p, err := snssqs.NewPublisher(f, optFns...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

// failingSNS answers every publish with an error.
type failingSNS struct{ err error }

func (f failingSNS) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return nil, f.err
}

func (f failingSNS) PublishBatch(context.Context, *sns.PublishBatchInput, ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	return nil, f.err
}

// emulatorClients are SDK clients for an emulator whose connections the test
// can close, so the goroutine count returns to its baseline.
type emulatorClients struct {
	SNS       *sns.Client
	SQS       *sqs.Client
	transport *http.Transport
}

// newEmulatorClients returns clients for srv with the SDK's standard retryer
// (3 attempts, the same retryable errors) but short backoff and without the
// retry token bucket: at a sustained 15% fault rate the bucket would run dry
// within seconds and turn every fault into a caller error, which exercises
// the same paths as a higher fault rate does.
func newEmulatorClients(srv *snssqstest.Server, retryer func() aws.Retryer) *emulatorClients {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second}
	cfg := srv.AWSConfig()
	cfg.HTTPClient = &http.Client{Transport: tr}
	if retryer == nil {
		retryer = chaosRetryer
	}
	cfg.Retryer = retryer
	return &emulatorClients{SNS: sns.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg), transport: tr}
}

func chaosRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxBackoff = 100 * time.Millisecond
		o.RateLimiter = ratelimit.None
	})
}

func (c *emulatorClients) Close() { c.transport.CloseIdleConnections() }

const (
	chaosEventType   = "chaos.event"
	chaosPoisonEvery = 100 // event seq%chaosPoisonEvery == chaosPoisonAt is poison
	chaosPoisonAt    = 37
	chaosMaxReceives = 6
	chaosVisibility  = 2 * time.Second
	chaosSlowHandler = 3 * time.Second // past chaosVisibility: the heartbeat must extend it
	chaosConcurrency = 100             // per subscriber
	chaosPublishers  = 32
	chaosHeapBound   = 512 << 20
)

type chaosEvent struct {
	Seq    int  `json:"seq"`
	Poison bool `json:"poison,omitempty"`
}

// dlqBodies returns the bodies of every message the emulator stores in the
// queue at url, visible or in flight.
func dlqBodies(srv *snssqstest.Server, url string) []string {
	var bodies []string
	for _, m := range srv.Messages(url[strings.LastIndex(url, "/")+1:]) {
		bodies = append(bodies, m.Body)
	}
	return bodies
}

// drainQueue receives every message of url (there must be no consumer) and
// returns their bodies.
func drainQueue(ctx context.Context, t *testing.T, client *sqs.Client, url string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
		})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
}

// queueDepth returns visible + in-flight + delayed messages of url.
func queueDepth(ctx context.Context, client *sqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, v := range out.Attributes {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// waitForGoroutines waits, up to d, for the goroutine count to fall to
// baseline and returns how many more there are.
func waitForGoroutines(baseline int, d time.Duration) (int, string) {
	deadline := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return 0, ""
		}
		select {
		case <-tick.C:
		case <-deadline:
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			return n - baseline, buf.String()
		}
	}
}

// runSubscriber runs s and returns a channel with Run's result.
func runSubscriber(s *snssqs.Subscriber) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return done
}

// waitShutdownBegun waits until s refuses to Run again with ErrClosed: its
// shutdown has begun (receiving stopped).
func waitShutdownBegun(t *testing.T, s *snssqs.Subscriber) {
	t.Helper()
	require.Eventually(t, func() bool {
		return errors.Is(s.Run(context.Background()), snssqs.ErrClosed)
	}, 10*time.Second, time.Millisecond)
}

const (
	pubTopic     = "arn:aws:sns:eu-west-1:123456789012:cards"
	pubFIFOTopic = "arn:aws:sns:eu-west-1:123456789012:cards.fifo"
)

func batchEntries(n int, typ string) []snssqs.Entry {
	entries := make([]snssqs.Entry, n)
	for i := range entries {
		entries[i] = snssqs.Entry{EventType: typ, Event: map[string]int{"i": i}, Options: []snssqs.PublishOption{snssqs.WithEventID(fmt.Sprintf("ev-%d", i))}}
	}
	return entries
}

func expectedEventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ev-%d", i)
	}
	return ids
}

type cardCreated struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

// blockingHandler returns a handler that signals its start and returns nil
// once release is closed.
func blockingHandler() (snssqs.Handler, chan struct{}, chan struct{}) {
	started, release := make(chan struct{}, 100), make(chan struct{})
	return func(context.Context, *snssqs.Message) error {
		started <- struct{}{}
		<-release
		return nil
	}, started, release
}
