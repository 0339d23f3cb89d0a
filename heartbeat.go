package snssqs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ackOpHeartbeat names visibility extensions in logs and AckError.
const ackOpHeartbeat = "extend visibility"

// heartbeat keeps one received message invisible while it waits for or runs
// its handler: every HeartbeatFraction×VisibilityTimeout since the message
// was received (or last extended) it sets the message's visibility to
// VisibilityTimeout again, until stop is called, the handler's deadline
// passes, SQS rejects the receipt handle, or the subscriber abandons its
// handlers at shutdown.
type heartbeat struct {
	stopCh   chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	deadline time.Time // clock time; zero until the handler starts
}

func newHeartbeat() *heartbeat { return &heartbeat{stopCh: make(chan struct{})} }

// stop ends the heartbeat; it is idempotent.
func (hb *heartbeat) stop() { hb.stopOnce.Do(func() { close(hb.stopCh) }) }

// setDeadline records when the message's handler times out.
func (hb *heartbeat) setDeadline(t time.Time) {
	hb.mu.Lock()
	hb.deadline = t
	hb.mu.Unlock()
}

func (hb *heartbeat) handlerDeadline() time.Time {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.deadline
}

// runHeartbeat runs hb for message m until it ends. abandon is closed when
// the subscriber gives up on its handlers.
func (p *poller) runHeartbeat(m *Message, hb *heartbeat, abandon <-chan struct{}) {
	o := &p.s.opts
	interval := time.Duration(float64(o.VisibilityTimeout) * o.HeartbeatFraction)
	t := o.Clock.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-hb.stopCh:
			return
		case <-abandon:
			return
		case <-t.C():
		}
		if dl := hb.handlerDeadline(); !dl.IsZero() && !o.Clock.Now().Before(dl) {
			p.s.log.WithFields(messageFields(m)).Warn("snssqs: handler timeout reached; visibility no longer extended, message will be redelivered")
			return
		}
		if !p.extendVisibility(m) {
			return
		}
		t.Reset(interval)
	}
}

// extendVisibility sets m's visibility to VisibilityTimeout and reports
// whether further extensions make sense.
func (p *poller) extendVisibility(m *Message) bool {
	ctx, cancel := context.WithTimeout(p.ackBase, ackCallTimeout)
	defer cancel()
	_, err := p.s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(p.queueURL),
		ReceiptHandle:     aws.String(m.receiptHandle),
		VisibilityTimeout: p.s.visibilitySeconds,
	})
	if err == nil {
		return true
	}
	var invalid *types.ReceiptHandleIsInvalid
	var notInFlight *types.MessageNotInflight
	gone := errors.As(err, &invalid) || errors.As(err, &notInFlight)
	entry := p.s.log.WithFields(messageFields(m)).WithError(err)
	if gone {
		entry.Warn("snssqs: visibility extension rejected: receipt handle no longer valid, the message may be redelivered while its handler runs")
	} else {
		entry.Warn("snssqs: visibility extension failed; will retry at the next heartbeat")
	}
	p.s.report(&AckError{Op: ackOpHeartbeat, QueueURL: p.queueURL, SQSMessageID: m.SQSMessageID, Err: err})
	return !gone
}
