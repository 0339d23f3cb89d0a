package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
	"github.com/snssqs/snssqs/internal/awslimits"
	"github.com/snssqs/snssqs/internal/batch"
	"github.com/snssqs/snssqs/internal/logx"
)

// Config configures a Batcher. Every field is required unless it says
// otherwise; the publishers fill it from their validated options.
type Config struct {
	// Sender makes the requests: SNSSender or SQSSender.
	Sender Sender
	// Clock stamps queued messages and drives Linger.
	Clock  clock.Clock
	Logger logrus.FieldLogger
	// Linger is how long a batch of fewer than 10 waits for more messages
	// to an idle destination; 0 sends at once.
	Linger time.Duration
	// MaxInFlight bounds the concurrent requests per destination, and the
	// idle senders kept for the next requests.
	MaxInFlight int
	// ErrClosed is wrapped by Enqueue once shutdown has begun, and by the
	// results of the messages a shutdown drops.
	ErrClosed error
	// Request, when set, is called before every request; the function it
	// returns, when not nil, after it.
	Request func(ctx context.Context, r Request) (context.Context, func(RequestDone))
}

// Request describes one request about to be sent, for Config.Request.
type Request struct {
	Destination     string // the topic ARN or queue URL
	DestinationName string // the topic or queue name
	// Batch reports a PublishBatch or SendMessageBatch request.
	Batch bool
	// Messages are the contexts of the request's messages, in order.
	Messages []context.Context
}

// RequestDone is the outcome of one request.
type RequestDone struct {
	Duration time.Duration
	// Failed is how many of the request's messages failed.
	Failed int
	// Err is the request's error; nil when the service answered.
	Err error
}

// Stats are a Batcher's counters, since it was made, and gauges, now.
type Stats struct {
	Published, Failed, Requests uint64
	Queued, InFlight            int
	Closed                      bool
}

// Batcher coalesces concurrent sends to one destination (an SNS topic, or
// an SQS queue) into batch requests (PublishBatch, SendMessageBatch; see
// Sender) by group commit:
//
//   - A message to an idle destination (no request in flight) is sent at
//     once, so a lone send adds no latency (a request of one message uses
//     the single-message API).
//   - While a request is in flight, new messages queue. A full batch (10
//     messages, or the sender's batch limit in bytes) goes out beside it,
//     up to MaxInFlight requests per destination; a partial batch waits
//     until a request completes and then goes out whole.
//   - With Linger > 0, a batch of fewer than 10 waits until its oldest
//     message has been queued for Linger, unless the batcher is closing.
//   - On FIFO destinations a message group is never in two requests at
//     once, and the messages of a group keep their queue order within a
//     request, so the service receives each group in send order.
//
// Nothing runs for an idle destination: its state is created when a
// message arrives and dropped when it has no queued message and no request
// in flight. Goroutines exist for in-flight requests (the senders, a
// batch.Pool that keeps up to MaxInFlight of them idle for the next
// requests) and armed linger timers (counted in wg); the Batcher owns them
// all and ends them at Shutdown.
type Batcher struct {
	sender      Sender
	clock       clock.Clock
	log         logrus.FieldLogger
	linger      time.Duration
	maxInFlight int
	errClosed   error
	hook        func(context.Context, Request) (context.Context, func(RequestDone))

	published, failed, requests atomic.Uint64
	inFlight                    atomic.Int64

	// base is the parent of every request's cancellation; abort cancels it
	// when a shutdown's deadline passes.
	base  context.Context
	abort context.CancelFunc

	closedFlag atomic.Bool // mirrors closed for lock-free checks

	mu      sync.Mutex
	topics  map[string]*topicQueue
	closed  bool
	aborted bool
	closing chan struct{} // closed when shutdown begins; wakes linger timers

	// senders make the requests: any number at once, at most maxInFlight
	// of them kept idle for the next ones.
	senders   *batch.Pool[sendJob]
	wg        sync.WaitGroup // linger timers
	drainOnce sync.Once
	drained   chan struct{} // closed when wg reaches zero after shutdown began
}

// topicQueue is the state of one destination with work. It is guarded by
// Batcher.mu.
type topicQueue struct {
	arn        string
	name       string // the topic or queue name, for hooks
	fifo       bool
	head, tail *Item
	queued     int // messages between head and tail
	inFlight   int
	busy       map[string]struct{} // FIFO groups in an in-flight request
	lingering  bool                // a linger timer goroutine is running
}

type queueState uint8

const (
	stateQueued  queueState = iota // in its topic's queue
	stateSent                      // taken into a request
	stateDropped                   // removed before sending (canceled or shut down)
)

// Item is one message waiting in, or taken from, a destination's queue.
type Item struct {
	ctx      context.Context
	msg      *Message
	done     chan Result // buffered: the result is never blocked on
	enqueued time.Time

	// Guarded by Batcher.mu.
	state      queueState
	tq         *topicQueue
	prev, next *Item
}

// sendJob is a request for a sender to make.
type sendJob struct {
	tq    *topicQueue
	batch []*Item
}

// New returns a Batcher that sends through c.Sender.
func New(c Config) *Batcher {
	base, abort := context.WithCancel(context.Background())
	b := &Batcher{
		sender:      c.Sender,
		clock:       c.Clock,
		log:         c.Logger,
		linger:      c.Linger,
		maxInFlight: c.MaxInFlight,
		errClosed:   c.ErrClosed,
		hook:        c.Request,
		base:        base,
		abort:       abort,
		topics:      make(map[string]*topicQueue),
		closing:     make(chan struct{}),
		drained:     make(chan struct{}),
	}
	b.senders = batch.NewPool(0, c.MaxInFlight, b.send)
	return b
}

// NewItem makes the item of m, sent for ctx: its values reach the request,
// and when it ends before m is sent, m is dropped (see Wait).
func NewItem(ctx context.Context, m *Message) *Item {
	return &Item{ctx: ctx, msg: m, done: make(chan Result, 1)}
}

// Closed reports whether shutdown has begun.
func (b *Batcher) Closed() bool { return b.closedFlag.Load() }

// Stats returns the counters and gauges.
func (b *Batcher) Stats() Stats {
	st := Stats{
		Published: b.published.Load(), Failed: b.failed.Load(), Requests: b.requests.Load(),
		InFlight: int(b.inFlight.Load()), Closed: b.Closed(),
	}
	b.mu.Lock()
	for _, tq := range b.topics {
		st.Queued += tq.queued
	}
	b.mu.Unlock()
	return st
}

// Enqueue queues items for dest (a topic ARN or queue URL, whose name is
// name and which is FIFO when fifo is set) and sends what it can. It fails
// with Config.ErrClosed once shutdown has begun.
func (b *Batcher) Enqueue(dest, name string, fifo bool, items []*Item) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%w: publisher is shut down", b.errClosed)
	}
	tq := b.topics[dest]
	if tq == nil {
		tq = &topicQueue{arn: dest, name: name, fifo: fifo}
		b.topics[dest] = tq
	}
	now := b.clock.Now()
	for _, qm := range items {
		qm.enqueued = now
		qm.tq = tq
		tq.push(qm)
	}
	b.dispatchLocked(tq)
	b.forgetIfIdleLocked(tq)
	return nil
}

// Wait returns the result of qm, or an error wrapping ctx.Err() if ctx ends
// first. A message still queued is then dropped and never sent; one already
// sent may still be published.
func (b *Batcher) Wait(ctx context.Context, qm *Item) Result {
	select {
	case r := <-qm.done:
		return r
	case <-ctx.Done():
	}
	b.mu.Lock()
	switch qm.state {
	case stateQueued:
		qm.tq.remove(qm)
		qm.state = stateDropped
		b.forgetIfIdleLocked(qm.tq)
		b.mu.Unlock()
		return Result{Err: fmt.Errorf("snssqs: publish canceled before the message was sent: %w", ctx.Err())}
	case stateDropped:
		b.mu.Unlock()
		select {
		case r := <-qm.done: // dropped by shutdown with its own error
			return r
		default:
			return Result{Err: fmt.Errorf("snssqs: publish canceled before the message was sent: %w", ctx.Err())}
		}
	}
	b.mu.Unlock()
	select {
	case r := <-qm.done:
		return r
	default:
		return Result{Err: fmt.Errorf("snssqs: publish canceled while the request was in flight (the message may still be published): %w", ctx.Err())}
	}
}

// dispatchLocked starts requests for tq while it has free slots and
// sendable messages, or arms a linger timer.
func (b *Batcher) dispatchLocked(tq *topicQueue) { b.nextLocked(tq, false) }

// nextLocked starts requests for tq while it has free slots and sendable
// messages, or arms a linger timer. With mine set, the first request is not
// started but returned, for the calling sender goroutine to make: a sender
// that goes on with the next request keeps its grown stack (an SDK call runs
// tens of KiB deep) instead of a new goroutine growing one.
func (b *Batcher) nextLocked(tq *topicQueue, mine bool) (taken []*Item) {
	for tq.inFlight < b.maxInFlight && tq.head != nil && !b.aborted {
		batch, full := b.collectLocked(tq)
		if len(batch) == 0 {
			return taken // every queued message waits for its group
		}
		if !full && tq.inFlight > 0 && !b.closed {
			// Group commit: while a request is in flight only full batches
			// go out beside it; the rest gathers until a request completes.
			// An idle topic sends at once, so light load waits for nothing.
			return taken
		}
		if !full && b.linger > 0 && !b.closed {
			if wait := tq.head.enqueued.Add(b.linger).Sub(b.clock.Now()); wait > 0 {
				if !tq.lingering {
					tq.lingering = true
					b.wg.Add(1)
					go b.lingerTimer(tq, wait)
				}
				return taken
			}
		}
		for _, qm := range batch {
			tq.remove(qm)
			qm.state = stateSent
			if tq.fifo {
				if tq.busy == nil {
					tq.busy = make(map[string]struct{})
				}
				tq.busy[qm.msg.GroupID] = struct{}{}
			}
		}
		tq.inFlight++
		if mine && taken == nil {
			taken = batch
			continue
		}
		b.senders.Submit(sendJob{tq: tq, batch: batch}, nil) // unbounded: never waits
	}
	return taken
}

// collectLocked chooses the next request's messages without removing them:
// up to awslimits.MaxBatchEntries in queue order whose total size fits the
// sender's batch limit, skipping (on FIFO topics) groups already in flight and
// every later message of a group one of whose messages was skipped. Messages
// whose context has ended are dropped on the way. full reports that the
// batch cannot grow: it holds the maximum entries or the next message did
// not fit.
func (b *Batcher) collectLocked(tq *topicQueue) (batch []*Item, full bool) {
	size := 0
	var skipped map[string]struct{}
	for qm := tq.head; qm != nil && len(batch) < awslimits.MaxBatchEntries; {
		next := qm.next
		if qm.ctx.Err() != nil {
			tq.remove(qm)
			qm.state = stateDropped
			qm = next
			continue
		}
		g := qm.msg.GroupID
		if tq.fifo {
			_, inFlight := tq.busy[g]
			_, skip := skipped[g]
			if inFlight || skip {
				qm = next
				continue
			}
		}
		if size+qm.msg.Size > b.sender.MaxBatchBytes() {
			if !tq.fifo {
				return batch, true
			}
			full = true
			if skipped == nil {
				skipped = make(map[string]struct{})
			}
			skipped[g] = struct{}{}
			qm = next
			continue
		}
		batch = append(batch, qm)
		size += qm.msg.Size
		qm = next
	}
	return batch, full || len(batch) == awslimits.MaxBatchEntries
}

// lingerTimer waits d (or until shutdown begins), then dispatches tq again.
func (b *Batcher) lingerTimer(tq *topicQueue, d time.Duration) {
	defer b.wg.Done()
	t := b.clock.NewTimer(d)
	select {
	case <-t.C():
	case <-b.closing:
		t.Stop()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tq.lingering = false
	b.dispatchLocked(tq)
	b.forgetIfIdleLocked(tq)
}

// send makes the request of job, delivers each message's result and frees
// the slot; then it goes on with the topic's next request, if any, keeping
// the stack it grew. It runs in one of the senders.
func (b *Batcher) send(job sendJob) {
	tq, batch := job.tq, job.batch
	for batch != nil {
		results := b.request(tq, batch)
		for i, qm := range batch {
			b.logResult(tq.arn, qm, results[i]) // before the caller can return
			qm.done <- results[i]
		}
		b.mu.Lock()
		tq.inFlight--
		if tq.fifo {
			for _, qm := range batch {
				delete(tq.busy, qm.msg.GroupID)
			}
		}
		batch = b.nextLocked(tq, true)
		b.forgetIfIdleLocked(tq)
		b.mu.Unlock()
	}
}

// requestContext returns the context of a request for batch: canceled when
// the batcher aborts and, for a single message, when its caller's context
// ends. A request for several callers outlives any one of them; it carries
// the values (e.g. trace spans) of the first message's context.
func (b *Batcher) requestContext(batch []*Item) (context.Context, context.CancelFunc) {
	var ctx context.Context
	var cancel context.CancelFunc
	if len(batch) == 1 {
		ctx, cancel = context.WithCancel(batch[0].ctx)
	} else {
		ctx, cancel = context.WithCancel(context.WithoutCancel(batch[0].ctx))
	}
	stop := context.AfterFunc(b.base, cancel)
	return ctx, func() { stop(); cancel() }
}

// request sends batch to its destination, a single-message request for one
// message, a batch request for more, and returns one result per message, in
// order.
func (b *Batcher) request(tq *topicQueue, batch []*Item) []Result {
	ctx, cancel := b.requestContext(batch)
	defer cancel()
	var done func(RequestDone)
	var start time.Time
	if b.hook != nil {
		ctx, done = b.hookRequest(ctx, tq, batch)
		start = time.Now()
	}
	b.requests.Add(1)
	b.inFlight.Add(1)
	var results []Result
	var err error
	if len(batch) == 1 {
		results = []Result{b.sender.SendOne(ctx, tq.arn, batch[0].msg)}
		err = results[0].Err
	} else {
		ms := make([]*Message, len(batch))
		for i, qm := range batch {
			ms[i] = qm.msg
		}
		results, err = b.sender.SendBatch(ctx, tq.arn, ms)
	}
	b.inFlight.Add(-1)
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	b.published.Add(uint64(len(results) - failed))
	b.failed.Add(uint64(failed))
	if done != nil {
		done(RequestDone{Duration: time.Since(start), Failed: failed, Err: err})
	}
	return results
}

// hookRequest calls the Request hook for a request of batch.
func (b *Batcher) hookRequest(ctx context.Context, tq *topicQueue, batch []*Item) (context.Context, func(RequestDone)) {
	ctxs := make([]context.Context, len(batch))
	for i, qm := range batch {
		ctxs[i] = qm.ctx
	}
	return b.hook(ctx, Request{
		Destination: tq.arn, DestinationName: tq.name,
		Batch: len(batch) > 1, Messages: ctxs,
	})
}

func (b *Batcher) logResult(arn string, qm *Item, r Result) {
	m := qm.msg
	if r.Err != nil {
		if qm.ctx.Err() != nil || errors.Is(r.Err, context.Canceled) {
			if logx.DebugEnabled(b.log) {
				b.log.WithFields(logrus.Fields{"topic": arn, "type": m.EventType, "id": m.ID}).
					WithError(r.Err).Debug("snssqs: publish canceled")
			}
			return
		}
		b.log.WithFields(logrus.Fields{"topic": arn, "type": m.EventType, "id": m.ID}).
			WithError(r.Err).Error("snssqs: publish failed")
		return
	}
	if logx.DebugEnabled(b.log) {
		b.log.WithFields(logrus.Fields{
			"topic": arn, "type": m.EventType, "id": m.ID, "message_id": r.MessageID, "body": m.Body,
		}).Debug("snssqs: published")
	}
}

// forgetIfIdleLocked drops tq's state when it has nothing queued, in
// flight or lingering.
func (b *Batcher) forgetIfIdleLocked(tq *topicQueue) {
	if tq.head == nil && tq.inFlight == 0 && !tq.lingering && b.topics[tq.arn] == tq {
		delete(b.topics, tq.arn)
	}
}

// Shutdown stops accepting messages, sends everything queued (ignoring
// linger) and waits for all requests. If ctx ends first it drops what is
// still queued (failing it with ErrClosed), cancels in-flight requests and
// returns an error wrapping ctx.Err(). It is safe to call more than once
// and concurrently.
func (b *Batcher) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.closedFlag.Store(true)
		close(b.closing)
		for _, tq := range b.topics {
			b.dispatchLocked(tq)
			b.forgetIfIdleLocked(tq)
		}
	}
	b.mu.Unlock()
	b.drainOnce.Do(func() {
		go func() {
			b.wg.Wait()       // linger timers, which dispatch before they end
			b.senders.Close() // ends the idle senders, waits for the busy ones
			b.abort()         // release the base context
			close(b.drained)
		}()
	})
	select {
	case <-b.drained:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.aborted = true
	dropped := 0
	for _, tq := range b.topics {
		for qm := tq.head; qm != nil; {
			next := qm.next
			tq.remove(qm)
			qm.state = stateDropped
			qm.done <- Result{Err: fmt.Errorf("%w: shutdown deadline passed before the message was sent: %w", b.errClosed, ctx.Err())}
			dropped++
			qm = next
		}
		b.forgetIfIdleLocked(tq)
	}
	b.mu.Unlock()
	b.abort()
	b.log.WithFields(logrus.Fields{"dropped": dropped}).
		Warn("snssqs: publisher shutdown deadline passed; queued messages dropped, in-flight requests canceled")
	return fmt.Errorf("snssqs: publisher shutdown: %w", ctx.Err())
}

// push appends qm to the queue.
func (tq *topicQueue) push(qm *Item) {
	qm.prev, qm.next = tq.tail, nil
	if tq.tail != nil {
		tq.tail.next = qm
	} else {
		tq.head = qm
	}
	tq.tail = qm
	tq.queued++
}

// remove unlinks qm from the queue.
func (tq *topicQueue) remove(qm *Item) {
	if qm.prev != nil {
		qm.prev.next = qm.next
	} else {
		tq.head = qm.next
	}
	if qm.next != nil {
		qm.next.prev = qm.prev
	} else {
		tq.tail = qm.prev
	}
	qm.prev, qm.next = nil, nil
	tq.queued--
}
