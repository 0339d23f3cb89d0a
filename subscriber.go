package snssqs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/internal/consume"
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
	rand func() float64

	routes  atomic.Pointer[routeTable]
	unknown onceSet

	mu          sync.Mutex
	state       subscriberState
	pollers     map[string]*poller // queues being consumed
	live        int                // pollers not yet exited, stopping ones included
	retired     consume.Stats      // counters of pollers that exited
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

// NewSubscriber returns a Subscriber that receives with client. optFns
// modify the zero SubscriberOptions; fields left zero get their documented
// defaults. Invalid options fail with an error wrapping ErrInvalidOptions.
func NewSubscriber(client SQSConsumeAPI, optFns ...func(*SubscriberOptions)) (*Subscriber, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil SQS client", ErrInvalidOptions)
	}
	var o SubscriberOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	o = o.withDefaults()
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
		return fmt.Errorf("%w: subscriber is shut down", ErrClosed)
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
		return nil, fmt.Errorf("%w: subscriber is shut down", ErrClosed)
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

// poller is the consume engine of one queue and the goroutine the
// Subscriber runs it in.
type poller struct {
	engine *consume.Engine
	queue  *queueInfo
	done   chan struct{} // closed when the engine's Run returned
}

// queueInfo is what the Subscriber learns of a queue it consumes.
type queueInfo struct {
	url string
	// maxReceive is the redrive policy's maxReceiveCount, read before the
	// engine runs when hooks want it; 0 when unknown.
	maxReceive atomic.Int64
}

// stop begins the engine's graceful stop.
func (p *poller) stop() { p.engine.Stop() }

// startPollerLocked starts consuming queueURL; s.mu must be held.
func (s *Subscriber) startPollerLocked(queueURL string) {
	q := &queueInfo{url: queueURL}
	p := &poller{engine: consume.New(s.engineConfig(q)), queue: q, done: make(chan struct{})}
	s.pollers[queueURL] = p
	s.live++
	ctx := s.handlerCtx
	go func() {
		if s.opts.Hooks.Received != nil || s.opts.Hooks.Handle != nil {
			q.maxReceive.Store(int64(s.maxReceiveCount(ctx, queueURL)))
		}
		p.engine.Run(ctx)
		close(p.done)
		s.pollerExited(p)
	}()
}

func (s *Subscriber) pollerExited(p *poller) {
	st := p.engine.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = addStats(s.retired, st)
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
