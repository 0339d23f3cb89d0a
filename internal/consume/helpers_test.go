package consume

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
)

// waitLimit bounds every wait on the code under test.
const waitLimit = 5 * time.Second

// scriptedSQS is a Client whose receives block until the test answers them,
// one at a time, in the order they were made.
type scriptedSQS struct {
	mu       sync.Mutex
	changed  chan struct{}
	pending  []chan []types.Message // receives waiting for an answer
	receives int
	deleted  []string // receipt handles
	vis      []types.ChangeMessageVisibilityBatchRequestEntry

	deleteCalls []*sqs.DeleteMessageBatchInput
	visCalls    []*sqs.ChangeMessageVisibilityBatchInput
	// failOnce makes the next batch entry with a receipt handle fail with a code.
	failOnce map[string]string
}

// failedLocked reports whether the entry with receipt fails, as failOnce says.
func (f *scriptedSQS) failedLocked(id *string, receipt string) (types.BatchResultErrorEntry, bool) {
	code, ok := f.failOnce[receipt]
	if !ok {
		return types.BatchResultErrorEntry{}, false
	}
	delete(f.failOnce, receipt)
	return types.BatchResultErrorEntry{Id: id, Code: aws.String(code), Message: aws.String("injected")}, true
}

func newScriptedSQS() *scriptedSQS { return &scriptedSQS{changed: make(chan struct{})} }

func (f *scriptedSQS) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *scriptedSQS) ReceiveMessage(ctx context.Context, _ *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	answer := make(chan []types.Message, 1)
	f.mu.Lock()
	f.pending = append(f.pending, answer)
	f.receives++
	f.notifyLocked()
	f.mu.Unlock()
	select {
	case msgs := <-answer:
		return &sqs.ReceiveMessageOutput{Messages: msgs}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *scriptedSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteCalls = append(f.deleteCalls, in)
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		if fail, ok := f.failedLocked(e.Id, aws.ToString(e.ReceiptHandle)); ok {
			out.Failed = append(out.Failed, fail)
			continue
		}
		f.deleted = append(f.deleted, aws.ToString(e.ReceiptHandle))
	}
	f.notifyLocked()
	return out, nil
}

func (f *scriptedSQS) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visCalls = append(f.visCalls, in)
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		if fail, ok := f.failedLocked(e.Id, aws.ToString(e.ReceiptHandle)); ok {
			out.Failed = append(out.Failed, fail)
			continue
		}
		f.vis = append(f.vis, e)
	}
	f.notifyLocked()
	return out, nil
}

// waitFor blocks until cond, evaluated under the fake's lock, holds.
func (f *scriptedSQS) waitFor(t *testing.T, what string, cond func() bool) {
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

// answer ends the oldest waiting receive with msgs.
func (f *scriptedSQS) answer(t *testing.T, msgs ...types.Message) {
	t.Helper()
	f.waitFor(t, "a receive to answer", func() bool { return len(f.pending) > 0 })
	f.mu.Lock()
	ch := f.pending[0]
	f.pending = f.pending[1:]
	f.mu.Unlock()
	ch <- msgs
}

// endPolls ends every waiting receive with no messages.
func (f *scriptedSQS) endPolls() {
	f.mu.Lock()
	pending := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, ch := range pending {
		ch <- nil
	}
}

func (f *scriptedSQS) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// message returns a received message with id, receipt "rh-"+id and, when
// group is not empty, a MessageGroupId.
func message(id, group string) types.Message {
	m := types.Message{
		MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String(id),
		Attributes: map[string]string{string(types.MessageSystemAttributeNameApproximateReceiveCount): "1"},
	}
	if group != "" {
		m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)] = group
	}
	return m
}

// testConfig is a configuration for queueURL served by client and handle.
func testConfig(client Client, queueURL string, handle HandleFunc) Config {
	logger := logrus.New()
	logger.SetLevel(logrus.PanicLevel)
	return Config{
		Client: client, QueueURL: queueURL, Handle: handle, Logger: logger,
		Clock:       clock.Real(), // virtual time inside synctest bubbles
		WaitSeconds: 20, VisibilitySeconds: 30, MaxMessages: 10, Concurrency: 10, Prefetch: 100, MaxReceivers: 8,
		HeartbeatFraction: 0.5, HandlerTimeout: time.Minute,
		Nack:           Backoff{Min: 2 * time.Second, Max: time.Minute, Factor: 2},
		ReceiveBackoff: Backoff{Min: 100 * time.Millisecond, Max: time.Second, Factor: 2},
	}
}

// running starts e, in the synctest bubble of the calling test, and returns
// a function that stops it, ends the long polls as their wait time would,
// and waits for Run to return.
func running(t *testing.T, e *Engine) func() {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(context.Background())
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			e.Stop()
			for {
				synctest.Wait()
				select {
				case <-done:
					return
				default:
				}
				e.cfg.Client.(*scriptedSQS).endPolls()
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ids returns "m0".."m(n-1)".
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "m" + strconv.Itoa(i)
	}
	return out
}

const queueA = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
