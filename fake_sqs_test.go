package snssqs

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// waitLimit bounds every wait of the tests on the code under test; reaching
// it means the awaited event never happens, a failure.
const waitLimit = 5 * time.Second

// fakeSQS is an in-memory SQSConsumeAPI. Messages are received in order;
// received messages stay in flight until deleted (the fake has no visibility
// clock, and visibility changes are only recorded). ReceiveMessage blocks
// until a message is available, its context ends or waitOver says its wait
// time is over (with WaitTimeSeconds 0, it returns at once). Every call is recorded
// and errors can be injected.
type fakeSQS struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	queues  map[string]*fakeQueue
	nextID  int

	receives      []*sqs.ReceiveMessageInput
	receiving     map[string]int // receives in progress per queue
	deleteBatches []*sqs.DeleteMessageBatchInput
	visBatches    []*sqs.ChangeMessageVisibilityBatchInput

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
	// waitOver, if set, tells whether the long polls of a queue have reached
	// their WaitTimeSeconds: the fake has no clock, so tests decide. It is
	// evaluated, under the fake's lock, when a receive starts and whenever
	// poke is called; a poll that is over returns no messages.
	waitOver func(queueURL string) bool
	pokes    int // calls of poke
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

var _ SQSConsumeAPI = (*fakeSQS)(nil)

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
	pokes := -1 // waitOver is evaluated at the start and after each poke only
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
		if in.WaitTimeSeconds == 0 {
			return &sqs.ReceiveMessageOutput{}, nil // short poll
		}
		if f.pokes != pokes {
			pokes = f.pokes
			if f.waitOver != nil && f.waitOver(url) {
				return &sqs.ReceiveMessageOutput{}, nil // wait time over
			}
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
			f.mu.Lock()
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

// poke makes waiting receives re-evaluate waitOver.
func (f *fakeSQS) poke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pokes++
	f.notifyLocked()
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

// extensionsLocked returns the heartbeat's visibility changes: the batch
// entries that set the default 30s visibility timeout (nacks set a backoff,
// releases 0).
func (f *fakeSQS) extensionsLocked() []types.ChangeMessageVisibilityBatchRequestEntry {
	var out []types.ChangeMessageVisibilityBatchRequestEntry
	for _, e := range f.visEntriesLocked() {
		if e.VisibilityTimeout == 30 { // the default VisibilityTimeout
			out = append(out, e)
		}
	}
	return out
}
