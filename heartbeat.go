package snssqs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ackOpHeartbeat names visibility extensions in logs and AckError.
const ackOpHeartbeat = "extend visibility"

// heartbeatGroup keeps the messages of one receive invisible while they wait
// for or run their handlers: every HeartbeatFraction×VisibilityTimeout since
// they were received (or last extended) it sets the visibility of each
// member still held to VisibilityTimeout again. A member is no longer
// extended once it is stopped, its handler's deadline has passed or SQS
// rejected its receipt handle; the group ends when no member is left to
// extend, or when the subscriber abandons its handlers at shutdown. One
// goroutine and one timer serve the whole receive; extensions, which are
// rare, each get a goroutine so that a slow call delays no other.
type heartbeatGroup struct {
	p       *poller
	members []*heartbeat
	live    atomic.Int32  // members not stopped
	allDone chan struct{} // closed when every member is stopped
}

// heartbeat is one message's membership in its heartbeatGroup.
type heartbeat struct {
	m     *Message
	group *heartbeatGroup

	mu       sync.Mutex
	deadline time.Time     // clock time; zero until the handler starts
	stopped  bool          // stop was called
	gone     bool          // no longer extended (deadline passed, receipt rejected)
	ext      chan struct{} // closed when the extension in progress ends; nil if none
}

// newHeartbeatGroup makes the heartbeats of ds, one receive's messages, and
// sets each delivery's.
func newHeartbeatGroup(p *poller, ds []*delivery) *heartbeatGroup {
	g := &heartbeatGroup{p: p, members: make([]*heartbeat, len(ds)), allDone: make(chan struct{})}
	for i, d := range ds {
		hb := &heartbeat{m: d.msg, group: g}
		g.members[i] = hb
		d.hb = hb
	}
	g.live.Store(int32(len(ds)))
	return g
}

// stop ends hb and waits until it can no longer change the message's
// visibility, so it cannot undo a nack or follow a delete. It is idempotent.
func (hb *heartbeat) stop() {
	hb.mu.Lock()
	if hb.stopped {
		hb.mu.Unlock()
		return
	}
	hb.stopped = true
	ext := hb.ext
	hb.mu.Unlock()
	if ext != nil {
		<-ext
	}
	if hb.group.live.Add(-1) == 0 {
		close(hb.group.allDone)
	}
}

// setDeadline records when the message's handler times out.
func (hb *heartbeat) setDeadline(t time.Time) {
	hb.mu.Lock()
	hb.deadline = t
	hb.mu.Unlock()
}

// run extends the group's messages until it ends. abandon is closed when
// the subscriber gives up on its handlers.
func (g *heartbeatGroup) run(abandon <-chan struct{}) {
	o := &g.p.s.opts
	interval := time.Duration(float64(o.VisibilityTimeout) * o.HeartbeatFraction)
	t := o.Clock.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-g.allDone:
			return
		case <-abandon:
			return
		case <-t.C():
		}
		if g.extend() == 0 {
			return
		}
		t.Reset(interval)
	}
}

// extend extends every member still to be extended, concurrently, and
// returns how many remain to be extended later.
func (g *heartbeatGroup) extend() int {
	now := g.p.s.opts.Clock.Now()
	var wg sync.WaitGroup
	for _, hb := range g.members {
		hb.mu.Lock()
		if hb.stopped || hb.gone {
			hb.mu.Unlock()
			continue
		}
		if !hb.deadline.IsZero() && !now.Before(hb.deadline) {
			hb.gone = true
			hb.mu.Unlock()
			g.p.s.log.WithFields(messageFields(hb.m)).Warn("snssqs: handler timeout reached; visibility no longer extended, message will be redelivered")
			continue
		}
		ext := make(chan struct{})
		hb.ext = ext
		hb.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := g.p.extendVisibility(hb.m)
			hb.mu.Lock()
			hb.ext = nil
			hb.gone = hb.gone || !ok
			hb.mu.Unlock()
			close(ext)
		}()
	}
	wg.Wait()
	remaining := 0
	for _, hb := range g.members {
		hb.mu.Lock()
		if !hb.stopped && !hb.gone {
			remaining++
		}
		hb.mu.Unlock()
	}
	return remaining
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
