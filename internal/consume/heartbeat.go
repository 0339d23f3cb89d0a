package consume

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/batch"
)

// heartbeat keeps the messages an engine holds invisible while they wait for
// or run their handlers: once a message has been held for interval since it
// was received or last extended, its visibility is set to the visibility
// timeout again. One goroutine and one timer serve the whole engine, and the
// messages due within a quarter interval of each other are extended together
// in ChangeMessageVisibilityBatch calls of up to 10 entries.
//
// A message is no longer extended once finish stopped it, its handler's
// deadline has passed or SQS rejected its receipt handle. A failed extension
// is tried again a quarter interval later.
type heartbeat struct {
	client     Client
	queueURL   string
	visibility int32
	interval   time.Duration
	clk        clock.Clock
	log        logrus.FieldLogger
	fail       func(*AckError)
	base       context.Context // values for the calls; never canceled
	observe    func(Request)   // when set (before run), told about each call

	mu         sync.Mutex
	head, tail *Delivery     // held messages in order of due time
	wake       chan struct{} // the list became non-empty (buffered: one signal)
}

func newHeartbeat(base context.Context, c *Config, fail func(*AckError)) *heartbeat {
	return &heartbeat{
		client: c.Client, queueURL: c.QueueURL, visibility: c.VisibilitySeconds,
		interval: time.Duration(float64(time.Duration(c.VisibilitySeconds)*time.Second) * c.HeartbeatFraction),
		clk:      c.Clock, log: c.Logger, fail: fail, base: context.WithoutCancel(base),
		wake: make(chan struct{}, 1),
	}
}

// add starts extending ds, just received.
func (h *heartbeat) add(ds []*Delivery) {
	now := h.clk.Now()
	h.mu.Lock()
	empty := h.head == nil
	for _, d := range ds {
		d.hb.due = now.Add(h.interval)
		h.pushLocked(d)
	}
	h.mu.Unlock()
	if empty {
		h.signal()
	}
}

// signal wakes run to look at the list again.
func (h *heartbeat) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// setDeadline records when d's handler times out: it is not extended past it.
func (h *heartbeat) setDeadline(d *Delivery, t time.Time) {
	h.mu.Lock()
	d.hb.deadline = t
	h.mu.Unlock()
}

// stop ends d's extensions and waits until none can change its visibility
// any more, so that none can undo a nack or follow a delete. It is
// idempotent.
func (h *heartbeat) stop(d *Delivery) {
	h.mu.Lock()
	if d.hb.stopped {
		h.mu.Unlock()
		return
	}
	d.hb.stopped = true
	emptied := false
	if d.hb.listed {
		h.removeLocked(d)
		emptied = h.head == nil
	}
	ext := d.hb.ext
	h.mu.Unlock()
	if emptied {
		h.signal()
	}
	if ext != nil {
		<-ext
	}
}

// run extends the held messages until closing or abort is closed, and
// waits for the extensions it started. Its timer is pending only while
// messages are held.
func (h *heartbeat) run(closing, abort <-chan struct{}) {
	var t clock.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		h.mu.Lock()
		idle := h.head == nil
		var wait time.Duration
		if !idle {
			wait = h.head.hb.due.Sub(h.clk.Now())
		}
		h.mu.Unlock()
		var fire <-chan time.Time
		switch {
		case idle:
			if t != nil {
				t.Stop()
			}
		case wait > 0:
			if t == nil {
				t = h.clk.NewTimer(wait)
			} else {
				t.Reset(wait)
			}
			fire = t.C()
		default:
			h.extendDue()
			continue
		}
		select {
		case <-fire:
			h.extendDue()
		case <-h.wake: // the list became empty or non-empty: look again
		case <-closing:
			return
		case <-abort:
			return
		}
	}
}

// extendDue extends the messages due within a quarter interval, in batches
// of up to 10 sent concurrently, and waits for the calls.
func (h *heartbeat) extendDue() {
	now := h.clk.Now()
	cutoff := now.Add(h.interval / 4)
	ext := make(chan struct{})
	var due []*Delivery
	h.mu.Lock()
	for d := h.head; d != nil && !d.hb.due.After(cutoff); d = h.head {
		h.removeLocked(d)
		if !d.hb.deadline.IsZero() && !now.Before(d.hb.deadline) {
			h.log.WithFields(d.logFields()).Warn("snssqs: handler timeout reached; visibility no longer extended, message will be redelivered")
			continue
		}
		d.hb.ext = ext
		due = append(due, d)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	results := make([]bool, len(due)) // whether to extend again
	for start := 0; start < len(due); start += maxAckBatch {
		end := min(start+maxAckBatch, len(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.send(due[start:end], results[start:end])
		}()
	}
	wg.Wait()
	now = h.clk.Now()
	h.mu.Lock()
	for i, d := range due {
		d.hb.ext = nil
		if d.hb.stopped {
			continue
		}
		switch {
		case !results[i]:
			// rejected receipt handle: no longer ours to extend
		case d.hb.failed:
			d.hb.failed = false
			d.hb.due = now.Add(h.interval / 4)
			h.pushLocked(d)
		default:
			d.hb.due = now.Add(h.interval)
			h.pushLocked(d)
		}
	}
	h.mu.Unlock()
	close(ext)
}

// send extends ds in one batch call and records in again[i] whether ds[i]
// can be extended later (a failed entry is marked for an early retry).
func (h *heartbeat) send(ds []*Delivery, again []bool) {
	in := &sqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(h.queueURL),
		Entries:  make([]types.ChangeMessageVisibilityBatchRequestEntry, len(ds)),
	}
	for i, d := range ds {
		in.Entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id: batch.EntryID(i), ReceiptHandle: d.Msg.ReceiptHandle, VisibilityTimeout: h.visibility,
		}
	}
	ctx, cancel := context.WithTimeout(h.base, ackCallTimeout)
	start := time.Now()
	out, err := h.client.ChangeMessageVisibilityBatch(ctx, in)
	cancel()
	if h.observe != nil {
		failed := 0
		if err == nil {
			failed = len(out.Failed)
		}
		h.observe(batchCall(OpHeartbeat, len(ds), failed, time.Since(start), err))
	}
	for i := range again {
		again[i] = true
	}
	if err != nil {
		for _, d := range ds {
			h.retryLater(d, "", err)
		}
		return
	}
	for _, f := range entryFailures(out.Failed, len(ds)) {
		d := ds[f.index]
		err := fmt.Errorf("%w: %s: %s", ErrBatchFailed, f.code, f.message)
		if receiptGone(f.code) {
			again[f.index] = false
			h.log.WithFields(d.logFields()).WithError(err).Warn("snssqs: visibility extension rejected: receipt handle no longer valid, the message may be redelivered while its handler runs")
			h.fail(&AckError{Op: OpHeartbeat, QueueURL: h.queueURL, SQSMessageID: d.ID(), Code: f.code, Err: err})
			continue
		}
		h.retryLater(d, f.code, err)
	}
}

// retryLater marks d's extension as failed, to be tried again soon.
func (h *heartbeat) retryLater(d *Delivery, code string, err error) {
	h.mu.Lock()
	d.hb.failed = true
	h.mu.Unlock()
	h.log.WithFields(d.logFields()).WithError(err).Warn("snssqs: visibility extension failed; will retry at the next heartbeat")
	h.fail(&AckError{Op: OpHeartbeat, QueueURL: h.queueURL, SQSMessageID: d.ID(), Code: code, Err: err})
}

// receiptGone reports whether an entry's error code means the receipt
// handle can no longer change the message's visibility.
func receiptGone(code string) bool {
	var invalid *types.ReceiptHandleIsInvalid
	var notInFlight *types.MessageNotInflight
	return code == invalid.ErrorCode() || code == notInFlight.ErrorCode()
}

func (h *heartbeat) pushLocked(d *Delivery) {
	d.hb.listed = true
	d.hb.prev, d.hb.next = h.tail, nil
	if h.tail != nil {
		h.tail.hb.next = d
	} else {
		h.head = d
	}
	h.tail = d
}

func (h *heartbeat) removeLocked(d *Delivery) {
	if d.hb.prev != nil {
		d.hb.prev.hb.next = d.hb.next
	} else {
		h.head = d.hb.next
	}
	if d.hb.next != nil {
		d.hb.next.hb.prev = d.hb.prev
	} else {
		h.tail = d.hb.prev
	}
	d.hb.prev, d.hb.next, d.hb.listed = nil, nil, false
}

// hbState is a delivery's place in the heartbeat, guarded by heartbeat.mu.
type hbState struct {
	prev, next *Delivery
	listed     bool
	due        time.Time     // next extension
	deadline   time.Time     // the handler's; zero until it starts
	stopped    bool          // finish stopped it
	failed     bool          // the last extension failed
	ext        chan struct{} // closed when the extension in progress ends; nil if none
}
