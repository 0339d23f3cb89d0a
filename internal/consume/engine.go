package consume

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/awslimits"
)

// Client is the part of the SQS client the engine calls.
type Client interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// Outcome is what a handled message asks for.
type Outcome int

const (
	// Delete deletes the message: it is done with.
	Delete Outcome = iota
	// Retry makes the message come back after the nack backoff.
	Retry
)

// HandleFunc handles one message and says how it ends. ctx carries the
// handler timeout and is canceled when the engine abandons its handlers.
type HandleFunc func(ctx context.Context, d *Delivery) Outcome

// Config configures an Engine. Every field is required unless it says
// otherwise; the Subscriber fills it from its validated options.
type Config struct {
	Client   Client
	QueueURL string
	Handle   HandleFunc
	Logger   logrus.FieldLogger
	// OnError receives background errors (failed receives and acks); nil
	// drops them after logging.
	OnError func(error)
	// Clock drives heartbeats, the nack and receive backoffs, pauses and ack
	// batching.
	Clock clock.Clock

	WaitSeconds       int32 // long-poll wait of each receive
	VisibilitySeconds int32 // sent with each receive; the heartbeat's extension
	MaxMessages       int   // most messages one receive asks for, 1..10
	Concurrency       int   // workers
	Prefetch          int   // bound of the prefetch window
	MaxReceivers      int   // bound of the concurrent receives
	HeartbeatFraction float64
	HandlerTimeout    time.Duration
	Nack              Backoff // visibility delay of failed messages
	ReceiveBackoff    Backoff // delay after failed receives
	AckFlushInterval  time.Duration
	AckRetries        int
	// MessageAttributeNames and SystemAttributeNames are asked for with each receive.
	MessageAttributeNames []string
	SystemAttributeNames  []types.MessageSystemAttributeName
	// Observer is told about messages and requests; optional.
	Observer Observer
}

// Stats are an engine's counters and gauges.
type Stats struct {
	Received  uint64 // messages received
	Deleted   uint64 // deleted after their handler succeeded
	Nacked    uint64 // given the backoff visibility after a failure
	Released  uint64 // made visible again unhandled (at a stop, or behind a failed FIFO message)
	Abandoned uint64 // left to their visibility timeout when handlers were abandoned
	InFlight  int    // received and not yet finished
	Receivers int    // receives allowed to run at once now
	Window    int    // prefetch window now
	// LastReceive is when a receive last succeeded (zero before the first).
	LastReceive time.Time
}

// Engine consumes one queue. Create it with New, run it with Run, stop it
// with Stop.
type Engine struct {
	cfg        Config
	fifo       bool
	flow       *flow
	disp       *dispatcher
	hb         *heartbeat
	deletes    *ackBatcher
	visibility *ackBatcher
	receiveIn  sqs.ReceiveMessageInput // template

	stopCh   chan struct{}
	stopOnce sync.Once
	drained  atomic.Bool // every receiver has returned: releases go out at once

	received, deleted, nacked, released, abandoned atomic.Uint64
	lastReceive                                    atomic.Int64 // unix nanoseconds
}

// New returns an engine for cfg.QueueURL.
func New(cfg Config) *Engine {
	fifo := strings.HasSuffix(cfg.QueueURL, awslimits.FIFOSuffix)
	e := &Engine{
		cfg:    cfg,
		fifo:   fifo,
		flow:   newFlow(cfg.Concurrency, cfg.Prefetch, cfg.MaxMessages, cfg.MaxReceivers),
		disp:   newDispatcher(fifo, cfg.Concurrency+cfg.Prefetch),
		stopCh: make(chan struct{}),
	}
	e.receiveIn = sqs.ReceiveMessageInput{
		QueueUrl:                    &e.cfg.QueueURL,
		WaitTimeSeconds:             cfg.WaitSeconds,
		VisibilityTimeout:           cfg.VisibilitySeconds,
		MessageAttributeNames:       cfg.MessageAttributeNames,
		MessageSystemAttributeNames: cfg.SystemAttributeNames,
	}
	return e
}

// Run consumes the queue until Stop is called, then waits for the running
// handlers, releases what it holds unhandled once every receive in progress
// has returned, and flushes the acknowledgements. Canceling ctx abandons
// the running handlers (their contexts are canceled and their messages are
// left to their visibility timeout) and cancels receives in progress; it
// does not replace Stop. ctx's values reach handlers and SQS calls.
func (e *Engine) Run(ctx context.Context) {
	base := context.WithoutCancel(ctx)
	e.deletes = newAckBatcher(base, OpDelete, e.cfg.QueueURL, deleteSender(e.cfg.Client, e.cfg.QueueURL), e.cfg.Clock, e.cfg.AckFlushInterval, e.cfg.AckRetries, e.ackFailed)
	e.visibility = newAckBatcher(base, OpVisibility, e.cfg.QueueURL, visibilitySender(e.cfg.Client, e.cfg.QueueURL), e.cfg.Clock, e.cfg.AckFlushInterval, e.cfg.AckRetries, e.ackFailed)
	e.hb = newHeartbeat(base, &e.cfg, e.heartbeatFailed)
	if e.cfg.Observer.Request != nil {
		e.deletes.observe, e.visibility.observe, e.hb.observe = e.observeRequest, e.observeRequest, e.observeRequest
	}
	e.deletes.start()
	e.visibility.start()
	closing, hbDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbDone)
		e.hb.run(closing, ctx.Done())
	}()
	var workers, receivers sync.WaitGroup
	for range e.cfg.Concurrency {
		workers.Go(func() { e.work(ctx) })
	}
	for range max(1, e.cfg.MaxReceivers) {
		receivers.Go(func() { e.receive(ctx) })
	}
	e.cfg.Logger.WithField("queue", e.cfg.QueueURL).Debug("snssqs: polling queue")

	receivers.Wait() // Stop was called or ctx canceled
	e.Stop()         // when ctx was canceled without Stop: the workers end too
	e.drained.Store(true)
	// No receive of this engine can get them back now: release what waits.
	e.releaseHeld()
	workers.Wait()
	e.releaseHeld() // what workers set aside while the first release ran
	close(closing)
	<-hbDone
	e.deletes.close()
	e.visibility.close()
	e.cfg.Logger.WithField("queue", e.cfg.QueueURL).Debug("snssqs: stopped polling queue")
}

// Stop begins a graceful stop: no receive starts after it, and messages not
// yet at a worker are not started. It is idempotent and does not wait; Run
// returns when the stop is complete.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		close(e.stopCh)
		e.flow.stop()
	})
}

// stopping reports whether Stop was called.
func (e *Engine) stopping() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// Stats returns the engine's counters and gauges.
func (e *Engine) Stats() Stats {
	busy, receivers, window := e.flow.state()
	s := Stats{
		Received: e.received.Load(), Deleted: e.deleted.Load(), Nacked: e.nacked.Load(),
		Released: e.released.Load(), Abandoned: e.abandoned.Load(),
		InFlight: busy, Receivers: receivers, Window: window,
	}
	if ns := e.lastReceive.Load(); ns != 0 {
		s.LastReceive = time.Unix(0, ns)
	}
	return s
}

// work runs handlers until the engine stops. A worker that finishes a FIFO
// group's message goes on with the group's next one.
func (e *Engine) work(ctx context.Context) {
	for {
		d := e.disp.next(e.stopCh)
		if d == nil {
			return
		}
		for d != nil {
			if e.stopping() || ctx.Err() != nil {
				e.release([]*Delivery{d})
				break
			}
			ok := e.process(ctx, d)
			next, release := e.disp.after(d, ok)
			if len(release) > 0 {
				e.cfg.Logger.WithFields(d.logFields()).WithField("group", d.GroupID).WithField("released", len(release)).
					Info("snssqs: message of FIFO group failed; releasing the group's later messages to keep order")
				e.release(release)
			}
			d = next
		}
	}
}

// process runs d's handler and finishes d; it reports whether d was deleted.
func (e *Engine) process(ctx context.Context, d *Delivery) bool {
	hctx, cancel := context.WithTimeout(ctx, e.cfg.HandlerTimeout)
	e.hb.setDeadline(d, e.cfg.Clock.Now().Add(e.cfg.HandlerTimeout))
	o := e.cfg.Handle(hctx, d)
	cancel()
	switch {
	case ctx.Err() != nil:
		e.finish(d, outcomeAbandon)
		return false
	case o == Delete:
		e.finish(d, outcomeDelete)
		return true
	default:
		e.finish(d, outcomeNack)
		return false
	}
}

// outcome is how a message ends in finish.
type outcome int

const (
	outcomeDelete  outcome = iota // handled: delete
	outcomeNack                   // failed: visible again after the backoff
	outcomeRelease                // not handled: visible again at once
	outcomeAbandon                // handler abandoned: left to its visibility timeout
)

// finish is where every message ends: it stops the message's heartbeat,
// then queues its delete or visibility change and frees its place.
func (e *Engine) finish(d *Delivery, o outcome) {
	e.hb.stop(d)
	var f Finish
	switch o {
	case outcomeDelete:
		e.deletes.add(ackEntry{messageID: d.ID(), receipt: d.receipt(), done: d.AfterDelete})
		e.deleted.Add(1)
	case outcomeNack:
		vis := e.cfg.Nack.nackVisibility(d.ReceiveCount)
		e.visibility.add(ackEntry{messageID: d.ID(), receipt: d.receipt(), visibility: vis})
		e.nacked.Add(1)
		e.cfg.Logger.WithFields(d.logFields()).WithField("retry_in_seconds", vis).Debug("snssqs: message nacked")
		f = Finish{Kind: FinishNacked, Visibility: time.Duration(vis) * time.Second}
	case outcomeRelease:
		e.visibility.add(ackEntry{messageID: d.ID(), receipt: d.receipt()})
		e.released.Add(1)
		f = Finish{Kind: FinishReleased, AtStop: e.stopping()}
	case outcomeAbandon:
		e.abandoned.Add(1)
		e.cfg.Logger.WithFields(d.logFields()).Warn("snssqs: handler abandoned at shutdown; the message will be redelivered after its visibility timeout")
		f = Finish{Kind: FinishAbandoned}
	}
	if d.OnFinish != nil {
		d.OnFinish(f)
	}
	if fn := e.cfg.Observer.Finished; fn != nil {
		fn(d, f)
	}
	e.flow.done(1)
}

// release makes ds visible again unhandled. While receives are still in
// progress at a stop, they are held instead, and released once every
// receive has returned, so that no receive of this engine gets them back.
func (e *Engine) release(ds []*Delivery) {
	for _, d := range ds {
		if e.stopping() && !e.drained.Load() {
			e.disp.hold(d)
			continue
		}
		e.finish(d, outcomeRelease)
	}
}

// releaseHeld releases every message waiting in the dispatcher.
func (e *Engine) releaseHeld() {
	for _, d := range e.disp.drain() {
		e.finish(d, outcomeRelease)
	}
}

// report hands err to OnError, if set.
func (e *Engine) report(err error) {
	if e.cfg.OnError != nil {
		e.cfg.OnError(err)
	}
}

// ackFailed logs and reports an acknowledgement that failed for good.
func (e *Engine) ackFailed(a *AckError) {
	entry := e.cfg.Logger.WithField("queue", a.QueueURL).WithField("sqs_message_id", a.SQSMessageID).
		WithField("op", a.Op).WithError(a.Err)
	if a.Code != "" {
		entry = entry.WithField("code", a.Code)
	}
	if a.Op == OpDelete {
		entry.Error("snssqs: delete failed; the message will be redelivered")
	} else {
		entry.Warn("snssqs: visibility change failed; the message returns after its current visibility timeout")
	}
	e.report(a)
}

// heartbeatFailed reports a failed extension (the heartbeat logs it).
func (e *Engine) heartbeatFailed(a *AckError) { e.report(a) }
