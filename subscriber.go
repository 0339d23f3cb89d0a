package snssqs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
)

type subscriberState int

const (
	stateIdle subscriberState = iota
	stateRunning
	stateClosed
)

// Subscriber long-polls SQS queues and hands each message to the handler
// registered for its queue and event type, with at-least-once delivery: a
// message is deleted only after its handler returned nil; on failure it comes
// back after a backoff, and once the queue's redrive policy gives up, it lands
// in the dead-letter queue. Nothing is dropped silently.
//
// Register handlers with Handle, HandleFallback or HandleFunc (before or
// while Run is active), call Run, and stop with Close or Shutdown. All
// methods are safe for concurrent use.
type Subscriber struct {
	client            SQSConsumeAPI
	opts              SubscriberOptions
	log               logrus.FieldLogger
	allowed           map[string]struct{}
	visibilitySeconds int32
	waitSeconds       int32
	// rand returns a number in [0, 1) for jitter; tests replace it before Run.
	rand        func() float64
	nack        backoff
	recvBackoff backoff

	routes  atomic.Pointer[routeTable]
	unknown onceSet

	mu          sync.Mutex
	state       subscriberState
	pollers     map[string]*poller // queues being polled
	live        int                // pollers not yet exited, stopping ones included
	base        context.Context    // Run's context without its cancellation
	handlerCtx  context.Context    // parent of handler contexts; canceled to abandon handlers
	abandonAll  context.CancelFunc // cancels handlerCtx
	errs        *errorReporter
	closing     chan struct{} // closed when shutdown begins
	drained     chan struct{} // closed when every poller has exited after shutdown began
	finished    chan struct{} // closed when shutdown is complete
	finishOnce  sync.Once
	drainedOnce sync.Once
}

// NewSubscriber returns a Subscriber that receives with client. Options are
// DefaultSubscriberOptions modified by optFns; invalid options fail with an
// error wrapping ErrInvalidOptions.
func NewSubscriber(client SQSConsumeAPI, optFns ...func(*SubscriberOptions)) (*Subscriber, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil SQS client", ErrInvalidOptions)
	}
	o := DefaultSubscriberOptions()
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	o.normalize()
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.AllowedTopicARNs = append([]string(nil), o.AllowedTopicARNs...)
	o.Middleware = append([]Middleware(nil), o.Middleware...)
	s := &Subscriber{
		client:            client,
		opts:              o,
		log:               o.Logger,
		visibilitySeconds: int32(o.VisibilityTimeout.Seconds()),
		waitSeconds:       int32(o.WaitTime.Seconds()),
		rand:              rand.Float64,
		unknown:           onceSet{max: maxUnknownTypesRemembered},
		pollers:           make(map[string]*poller),
		closing:           make(chan struct{}),
		drained:           make(chan struct{}),
		finished:          make(chan struct{}),
	}
	if len(o.AllowedTopicARNs) > 0 {
		s.allowed = make(map[string]struct{}, len(o.AllowedTopicARNs))
		for _, arn := range o.AllowedTopicARNs {
			s.allowed[arn] = struct{}{}
		}
	}
	jitter := func() float64 { return s.rand() }
	s.nack = nackBackoff(&s.opts, jitter)
	s.recvBackoff = receiveBackoff(jitter)
	s.routes.Store(&routeTable{})
	return s, nil
}

// Run polls every queue that has a handler, and queues that get their first
// handler later, until ctx is done or Close or Shutdown is called. When ctx
// ends, Run shuts down gracefully within DrainTimeout and returns the result
// of that shutdown: nil, or an error wrapping context.DeadlineExceeded if
// handlers had to be abandoned. Handler contexts carry ctx's values but not
// its cancellation: handlers are only canceled by HandlerTimeout or an
// expired shutdown. When Close or Shutdown stops it, Run waits
// for that shutdown to complete and returns nil. A second Run fails with
// ErrAlreadyRunning, a Run after shutdown with ErrClosed.
func (s *Subscriber) Run(ctx context.Context) error {
	s.mu.Lock()
	switch s.state {
	case stateRunning:
		s.mu.Unlock()
		return ErrAlreadyRunning
	case stateClosed:
		s.mu.Unlock()
		return ErrClosed
	}
	s.state = stateRunning
	s.base = context.WithoutCancel(ctx)
	s.handlerCtx, s.abandonAll = context.WithCancel(s.base)
	if s.opts.OnError != nil {
		s.errs = newErrorReporter(s.opts.OnError, s.log)
		go s.errs.run()
	}
	for queueURL := range *s.routes.Load() {
		s.startPollerLocked(queueURL)
	}
	s.mu.Unlock()

	select {
	case <-ctx.Done():
		dctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
		defer cancel()
		return s.Shutdown(dctx)
	case <-s.closing:
		<-s.finished
		return nil
	}
}

// Shutdown stops the subscriber gracefully: it starts no more receives,
// releases messages received but not yet started (visibility 0, so other
// consumers get them immediately), and waits until ctx is done for running
// handlers and for long polls in progress, which end within WaitTime; their
// messages are released too. (Canceling a long poll would not stop SQS from
// handing it messages, which would then stay hidden for a visibility
// timeout.) When ctx is done first, long polls are canceled and running
// handlers have their contexts canceled and are abandoned: their messages
// are neither deleted nor nacked and come back after their visibility
// timeout. Pending deletes and visibility changes are flushed either way
// (each batch call bounded by its own 30s timeout, since ctx may be over by
// then), and Shutdown returns only when no goroutine of the subscriber is
// left — handlers must therefore return once their context is canceled. It
// returns nil, or an error wrapping ctx's error if ctx ended first. Shutdown
// may be called more than once, concurrently, and without Run.
func (s *Subscriber) Shutdown(ctx context.Context) error {
	errs := s.beginShutdown()
	var err error
	select {
	case <-s.drained:
	default:
		select {
		case <-s.drained:
		case <-ctx.Done():
			s.abandonHandlers()
			<-s.drained
			err = fmt.Errorf("snssqs: shutdown ended before the subscriber drained; handlers still running were abandoned and their messages will be redelivered: %w", ctx.Err())
		}
	}
	s.finishOnce.Do(func() {
		if errs != nil {
			errs.close()
		}
		close(s.finished)
	})
	return err
}

// Close is Shutdown bounded by DrainTimeout.
func (s *Subscriber) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	return s.Shutdown(ctx)
}

// beginShutdown stops all polling, once, and returns the error reporter.
func (s *Subscriber) beginShutdown() *errorReporter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateClosed {
		s.state = stateClosed
		for q, p := range s.pollers {
			p.stop()
			delete(s.pollers, q)
		}
		close(s.closing) // after the pollers stopped: tests rely on the order
		if s.live == 0 {
			s.drainedOnce.Do(func() { close(s.drained) })
		}
	}
	return s.errs
}

// abandonHandlers cancels the contexts of running handlers.
func (s *Subscriber) abandonHandlers() {
	s.mu.Lock()
	cancel := s.abandonAll
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// abandoned reports whether shutdown gave up on running handlers.
func (s *Subscriber) abandoned() bool { return s.handlerCtx.Err() != nil }

// register adds reg with handler h and starts polling its queue if needed.
func (s *Subscriber) register(reg *Registration, h Handler) (*Registration, error) {
	if reg.queueURL == "" {
		return nil, fmt.Errorf("%w: empty queue URL", ErrInvalidOptions)
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidOptions)
	}
	r := &route{h: s.wrap(h), reg: reg}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return nil, ErrClosed
	}
	t, err := s.routes.Load().with(reg, r)
	if err != nil {
		return nil, err
	}
	s.routes.Store(&t)
	if s.state == stateRunning && s.pollers[reg.queueURL] == nil {
		s.startPollerLocked(reg.queueURL)
	}
	return reg, nil
}

// unregister removes reg; removing a queue's last handler stops its poller.
func (s *Subscriber) unregister(reg *Registration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.routes.Load().without(reg)
	if !ok {
		return
	}
	s.routes.Store(&t)
	if t[reg.queueURL] == nil {
		if p := s.pollers[reg.queueURL]; p != nil {
			delete(s.pollers, reg.queueURL)
			p.stop()
		}
	}
}

// startPollerLocked starts polling queueURL; s.mu must be held.
func (s *Subscriber) startPollerLocked(queueURL string) {
	p := newPoller(s, queueURL)
	s.pollers[queueURL] = p
	s.live++
	go func() {
		p.run()
		close(p.done)
		s.pollerExited()
	}()
}

func (s *Subscriber) pollerExited() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live--
	if s.state == stateClosed && s.live == 0 {
		s.drainedOnce.Do(func() { close(s.drained) })
	}
}

// report hands err to OnError, if set, without blocking.
func (s *Subscriber) report(err error) {
	if s.errs != nil {
		s.errs.report(err)
	}
}

// errorReporterQueue is how many errors may wait for a busy OnError.
const errorReporterQueue = 256

// errorReporter calls OnError from one goroutine, so a slow callback never
// blocks the subscriber.
type errorReporter struct {
	fn   func(error)
	log  logrus.FieldLogger
	ch   chan error
	done chan struct{}
}

func newErrorReporter(fn func(error), log logrus.FieldLogger) *errorReporter {
	return &errorReporter{fn: fn, log: log, ch: make(chan error, errorReporterQueue), done: make(chan struct{})}
}

func (r *errorReporter) run() {
	defer close(r.done)
	for err := range r.ch {
		r.call(err)
	}
}

func (r *errorReporter) call(err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.WithField("panic", fmt.Sprint(p)).Error("snssqs: OnError panicked")
		}
	}()
	r.fn(err)
}

// report queues err, dropping it (with a log line) when OnError lags behind.
func (r *errorReporter) report(err error) {
	select {
	case r.ch <- err:
	default:
		r.log.WithError(err).Warn("snssqs: OnError is falling behind; error not reported to it")
	}
}

// close delivers the queued errors and stops the reporter.
func (r *errorReporter) close() {
	close(r.ch)
	<-r.done
}

// maxUnknownTypesRemembered bounds the memory spent on logging unknown
// event types once: beyond it, every occurrence is logged.
const maxUnknownTypesRemembered = 1024

// onceSet remembers keys seen, up to max of them.
type onceSet struct {
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

// first reports whether key is new (always true once the set is full).
func (o *onceSet) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.seen[key]; ok {
		return false
	}
	if len(o.seen) >= o.max {
		return true
	}
	if o.seen == nil {
		o.seen = make(map[string]struct{})
	}
	o.seen[key] = struct{}{}
	return true
}

// poller receives and dispatches the messages of one queue: ReceiversPerQueue
// long polls, at most Concurrency messages handled and Prefetch more waiting
// at once, and one batcher each for deletes and visibility changes.
type poller struct {
	s         *Subscriber
	queueURL  string
	recvCtx   context.Context // canceled to stop starting receives
	stop      context.CancelFunc
	ackBase   context.Context // values for ack calls; never canceled
	capacity  *capacity
	receivers sync.WaitGroup // receive loops
	workers   *workerPool[[]*delivery]
	wg        sync.WaitGroup // heartbeats
	done      chan struct{}  // closed when run returned

	deletes    *ackBatcher
	visibility *ackBatcher
}

func newPoller(s *Subscriber, queueURL string) *poller {
	p := &poller{s: s, queueURL: queueURL, ackBase: s.base, done: make(chan struct{})}
	p.recvCtx, p.stop = context.WithCancel(s.base)
	p.capacity = newCapacity(s.opts.Concurrency, s.opts.Prefetch, s.opts.MaxMessages)
	p.workers = newWorkerPool(s.opts.Concurrency, p.runUnit)
	p.deletes = newAckBatcher(s.base, ackOpDelete, queueURL, deleteSender(s.client, queueURL), &s.opts, p.ackFailed)
	p.visibility = newAckBatcher(s.base, ackOpVisibility, queueURL, visibilitySender(s.client, queueURL), &s.opts, p.ackFailed)
	return p
}

// run polls until stop is called, waits for the messages held to be
// handled or released, and flushes the acks.
func (p *poller) run() {
	p.deletes.start()
	p.visibility.start()
	p.s.log.WithField("queue", p.queueURL).Debug("snssqs: polling queue")
	for range min(p.s.opts.ReceiversPerQueue, p.s.opts.Concurrency+p.s.opts.Prefetch) {
		p.receivers.Add(1)
		go p.receiveLoop()
	}
	p.receivers.Wait()
	p.workers.close() // after the last dispatch
	p.wg.Wait()
	p.deletes.close()
	p.visibility.close()
	p.s.log.WithField("queue", p.queueURL).Debug("snssqs: stopped polling queue")
}

// stopping reports whether the poller no longer receives.
func (p *poller) stopping() bool { return p.recvCtx.Err() != nil }

// receiveGather is how long a receive waits for busy workers to free up
// before asking for fewer than MaxMessages messages.
const receiveGather = 500 * time.Microsecond

// receiveLoop long-polls for as many messages as the poller's capacity
// allows (never while all workers are busy) until the poller stops. Failed
// receives are reported and retried with exponential backoff.
//
// Stopping does not cancel a long poll in progress: SQS keeps serving a
// poll whose client went away and hides the messages it hands to it for a
// whole visibility timeout (aws/aws-sdk-go-v2#2068), including those the
// subscriber itself releases at shutdown. The poll instead ends within
// WaitTime and what it brings is released at once; only abandoning the
// handlers at an expired shutdown deadline cancels it.
func (p *poller) receiveLoop() {
	defer p.receivers.Done()
	failures := 0
	for {
		n := p.capacity.reserve(p.recvCtx.Done(), receiveGather)
		if n == 0 {
			return
		}
		out, err := p.s.client.ReceiveMessage(p.s.handlerCtx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.queueURL),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             p.s.waitSeconds,
			VisibilityTimeout:           p.s.visibilitySeconds,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: receivedSystemAttributes(),
		})
		if err != nil {
			p.capacity.received(n, 0)
			if p.stopping() {
				return // e.g. a long poll canceled at an expired shutdown: not an error
			}
			failures++
			d := p.s.recvBackoff.delay(failures)
			p.s.log.WithField("queue", p.queueURL).WithField("retry_in", d).WithError(err).Warn("snssqs: receive failed")
			p.s.report(fmt.Errorf("snssqs: receive from %s: %w", p.queueURL, err))
			if !clock.Sleep(p.s.opts.Clock, d, p.recvCtx.Done()) {
				return
			}
			continue
		}
		failures = 0
		msgs := out.Messages
		if len(msgs) > n { // SQS never returns more than asked; do not overcommit workers if it did
			p.s.log.WithField("queue", p.queueURL).Error("snssqs: received more messages than requested; releasing the excess")
			p.releaseRaw(msgs[n:])
			msgs = msgs[:n]
		}
		p.capacity.received(n, len(msgs))
		if len(msgs) > 0 {
			p.dispatch(msgs)
		} else if p.s.waitSeconds == 0 {
			// Short polling an empty queue: pause rather than spin.
			if !clock.Sleep(p.s.opts.Clock, shortPollPause, p.recvCtx.Done()) {
				return
			}
		}
	}
}

// shortPollPause is the pause after an empty receive when WaitTime is 0.
const shortPollPause = 100 * time.Millisecond

// delivery is one received message on its way through a worker.
type delivery struct {
	msg       *Message
	decodeErr error
	hb        *heartbeat
}

// dispatch decodes msgs, starts their heartbeats and hands them to workers:
// one per message, except that messages of the same FIFO message group are
// handled in order by one worker.
func (p *poller) dispatch(msgs []types.Message) {
	abandon := p.s.handlerCtx.Done()
	ds := make([]*delivery, len(msgs))
	for i, sm := range msgs {
		m, err := decodeSQSMessage(p.queueURL, sm, p.s.allowed)
		ds[i] = &delivery{msg: m, decodeErr: err}
	}
	g := newHeartbeatGroup(p, ds)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		g.run(abandon)
	}()
	// Units wait here for a free worker (at most Prefetch messages do);
	// once the poller stops, the waiting ones are released instead.
	for _, unit := range groupDeliveries(ds) {
		if !p.workers.submit(unit, p.recvCtx.Done()) {
			p.release(unit)
		}
	}
}

// groupDeliveries splits ds into units handled by one worker each: a unit per
// message without a group, and a unit per FIFO group holding its messages
// in receive order.
func groupDeliveries(ds []*delivery) [][]*delivery {
	units := make([][]*delivery, 0, len(ds))
	var groups map[string]int
	for _, d := range ds {
		g := d.msg.MessageGroupID
		if g == "" {
			units = append(units, []*delivery{d})
			continue
		}
		if groups == nil {
			groups = make(map[string]int)
		}
		if i, ok := groups[g]; ok {
			units[i] = append(units[i], d)
			continue
		}
		groups[g] = len(units)
		units = append(units, []*delivery{d})
	}
	return units
}

// runUnit handles a unit's messages in order. Once the poller stops, or a
// message of the unit fails, the messages not yet started are released so
// that they (and, for FIFO queues, their order) are preserved.
func (p *poller) runUnit(unit []*delivery) {
	for i, d := range unit {
		if p.stopping() || p.s.abandoned() {
			p.release(unit[i:])
			return
		}
		ok := p.process(d)
		p.capacity.done(1)
		if !ok && i+1 < len(unit) {
			p.s.log.WithFields(messageFields(d.msg)).WithField("group", d.msg.MessageGroupID).
				WithField("released", len(unit)-i-1).Info("snssqs: message of FIFO group failed; releasing the group's later messages to keep order")
			p.release(unit[i+1:])
			return
		}
	}
}

// release makes unstarted messages visible again at once and frees their workers.
func (p *poller) release(ds []*delivery) {
	for _, d := range ds {
		p.stopHeartbeat(d)
		p.visibility.add(ackEntry{messageID: d.msg.SQSMessageID, receipt: d.msg.receiptHandle})
	}
	p.capacity.done(len(ds))
}

// releaseRaw makes undecoded messages visible again at once.
func (p *poller) releaseRaw(msgs []types.Message) {
	for _, sm := range msgs {
		p.visibility.add(ackEntry{messageID: aws.ToString(sm.MessageId), receipt: aws.ToString(sm.ReceiptHandle)})
	}
}

// stopHeartbeat stops d's heartbeat and waits until it can no longer change
// the message's visibility, so it cannot undo a nack or follow a delete.
func (p *poller) stopHeartbeat(d *delivery) {
	if d.hb == nil {
		return
	}
	d.hb.stop()
}

// process handles one message and acknowledges it. It reports whether the
// message is done with (deleted), as opposed to coming back later.
func (p *poller) process(d *delivery) bool {
	s, m := p.s, d.msg
	if d.decodeErr != nil {
		p.stopHeartbeat(d)
		return p.undeliverable(m, d.decodeErr, s.opts.MalformedPolicy)
	}
	h := s.routes.Load().lookup(p.queueURL, m.Type)
	if h == nil {
		p.stopHeartbeat(d)
		err := fmt.Errorf("%w: type %q on queue %s", ErrNoHandler, m.Type, p.queueURL)
		return p.undeliverable(m, err, s.opts.UnknownTypePolicy)
	}
	ctx, cancel := context.WithTimeout(s.handlerCtx, s.opts.HandlerTimeout)
	if d.hb != nil {
		d.hb.setDeadline(s.opts.Clock.Now().Add(s.opts.HandlerTimeout))
	}
	err := h(ctx, m)
	cancel()
	p.stopHeartbeat(d)
	if s.abandoned() {
		s.log.WithFields(messageFields(m)).Warn("snssqs: handler abandoned at shutdown; the message will be redelivered after its visibility timeout")
		return false
	}
	if err != nil {
		p.nackMessage(m, err)
		return false
	}
	p.deletes.add(ackEntry{messageID: m.SQSMessageID, receipt: m.receiptHandle})
	return true
}

// undeliverable applies policy to a message that cannot reach a handler.
func (p *poller) undeliverable(m *Message, err error, policy MessagePolicy) bool {
	s := p.s
	entry := s.log.WithFields(messageFields(m)).WithError(err).WithField("policy", policy.String())
	if m.TopicARN != "" {
		entry = entry.WithField("topic_arn", m.TopicARN)
	}
	if errors.Is(err, ErrNoHandler) {
		if s.unknown.first(p.queueURL + "\x00" + m.Type) {
			entry.Warn("snssqs: no handler for event type (logged once per queue and type)")
		}
	} else {
		entry.Warn("snssqs: cannot decode message")
		if debugEnabled(s.log) {
			s.log.WithFields(messageFields(m)).WithField("body", string(m.Data)).Debug("snssqs: undecodable message body")
		}
	}
	s.report(err)
	if policy == PolicyDelete {
		p.deletes.add(ackEntry{messageID: m.SQSMessageID, receipt: m.receiptHandle})
		return true
	}
	p.nackVisibility(m)
	return false
}

// nackMessage logs a handler failure and schedules the message's return.
func (p *poller) nackMessage(m *Message, err error) {
	vis := p.nackVisibility(m)
	p.s.log.WithFields(messageFields(m)).WithError(err).WithField("retry_in_seconds", vis).
		Warn("snssqs: handler failed; message will be redelivered")
}

// nackVisibility queues the backoff visibility change of m and returns it.
func (p *poller) nackVisibility(m *Message) int32 {
	vis := p.s.nack.nackVisibility(m.ReceiveCount)
	p.visibility.add(ackEntry{messageID: m.SQSMessageID, receipt: m.receiptHandle, visibility: vis})
	return vis
}

// ackFailed logs and reports an ack that failed for good.
func (p *poller) ackFailed(e *AckError) {
	entry := p.s.log.WithField("queue", e.QueueURL).WithField("sqs_message_id", e.SQSMessageID).
		WithField("op", e.Op).WithError(e.Err)
	if e.Code != "" {
		entry = entry.WithField("code", e.Code)
	}
	if e.Op == ackOpDelete {
		entry.Error("snssqs: delete failed; the message will be redelivered")
	} else {
		entry.Warn("snssqs: visibility change failed; the message returns after its current visibility timeout")
	}
	p.s.report(e)
}
