package consume

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snssqs/snssqs/clock"
)

// receiveGather is how long a receive waits for busy workers to free up
// before asking for fewer than MaxMessages messages.
const receiveGather = 500 * time.Microsecond

// Pauses after empty receives that ended before their wait time: the first
// pause is emptyPauseMin, doubling with each further one up to emptyPauseMax.
// A client that answers empty at once (a mock, a short-polling queue) then
// costs a few requests per second per receiver, not a spin.
const (
	emptyPauseMin = 50 * time.Millisecond
	emptyPauseMax = time.Second
)

// receive is one receiver: it long-polls for as many messages as the flow
// allows (never while all workers are busy, never after Stop) until the
// engine stops. Failed receives are reported and retried with the receive
// backoff.
//
// Stop does not cancel a long poll in progress: SQS keeps serving a poll
// whose client went away and hides the messages it hands to it for a whole
// visibility timeout (aws/aws-sdk-go-v2#2068). The poll instead ends within
// WaitTime and what it brings is held and released once every receive has
// returned; only canceling Run's context cancels it.
func (e *Engine) receive(ctx context.Context) {
	failures, empties := 0, 0
	for {
		n := e.flow.reserve(ctx.Done(), receiveGather)
		if n == 0 {
			return
		}
		in := e.receiveIn
		in.MaxNumberOfMessages = int32(n)
		start := time.Now()
		out, err := e.cfg.Client.ReceiveMessage(ctx, &in)
		elapsed := time.Since(start)
		if e.cfg.Observer.Request != nil {
			r := Request{Op: OpReceive, Entries: n, Duration: elapsed, Err: err}
			if err == nil {
				r.Messages = len(out.Messages)
			}
			e.observeRequest(r)
		}
		if err != nil {
			e.flow.failed(n)
			if e.stopping() || ctx.Err() != nil {
				return // e.g. a long poll canceled when handlers were abandoned: not an error
			}
			failures++
			d := e.cfg.ReceiveBackoff.Delay(failures)
			e.cfg.Logger.WithField("queue", e.cfg.QueueURL).WithField("retry_in", d).WithError(err).Warn("snssqs: receive failed")
			e.report(fmt.Errorf("snssqs: receive from %s: %w", e.cfg.QueueURL, err))
			if !clock.Sleep(e.cfg.Clock, d, e.stopCh) {
				return
			}
			continue
		}
		failures = 0
		msgs := out.Messages
		if len(msgs) > n { // SQS never returns more than asked; do not overcommit workers if it did
			e.cfg.Logger.WithField("queue", e.cfg.QueueURL).Error("snssqs: received more messages than requested; releasing the excess")
			e.releaseRaw(msgs[n:])
			msgs = msgs[:n]
		}
		now := time.Now()
		pause := e.flow.received(n, len(msgs), elapsed, now)
		e.lastReceive.Store(now.UnixNano())
		if fn := e.cfg.Observer.Flow; fn != nil {
			fn(e.flow.state())
		}
		if len(msgs) > 0 {
			empties = 0
			e.dispatch(msgs)
			if pause > 0 && !e.pause(pause) {
				return
			}
			continue
		}
		if e.cfg.WaitSeconds > 0 && elapsed >= time.Duration(e.cfg.WaitSeconds)*time.Second/2 {
			empties = 0 // a long poll that waited: nothing to pause for
			continue
		}
		empties++
		if !clock.Sleep(e.cfg.Clock, emptyPause(empties), e.stopCh) {
			return
		}
	}
}

// pause waits d of wall-clock time, like the flow's measurements; it
// reports false when the engine stopped meanwhile.
func (e *Engine) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.stopCh:
		return false
	}
}

// emptyPause is the pause after the k-th empty receive in a row that ended
// before its wait time.
func emptyPause(k int) time.Duration {
	d := emptyPauseMin
	for i := 1; i < k && d < emptyPauseMax; i++ {
		d *= 2
	}
	return min(d, emptyPauseMax)
}

// dispatch starts the heartbeat of one receive's messages and queues them
// for the workers.
func (e *Engine) dispatch(msgs []types.Message) {
	e.received.Add(uint64(len(msgs)))
	ds := make([]*Delivery, len(msgs))
	for i, m := range msgs {
		ds[i] = newDelivery(e.cfg.QueueURL, m)
	}
	if fn := e.cfg.Observer.Received; fn != nil {
		for _, d := range ds {
			fn(d)
		}
	}
	e.hb.add(ds)
	e.disp.push(ds)
}

// releaseRaw makes messages the engine never took (more than it asked
// for) visible again at once.
func (e *Engine) releaseRaw(msgs []types.Message) {
	for _, m := range msgs {
		d := newDelivery(e.cfg.QueueURL, m)
		e.visibility.add(ackEntry{messageID: d.ID(), receipt: d.receipt()})
		e.released.Add(1)
	}
}
