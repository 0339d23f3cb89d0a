package snssqs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
)

// The batcher coalesces concurrent publishes to one destination (an SNS
// topic, or an SQS queue) into batch requests (PublishBatch,
// SendMessageBatch; see batchSender) by group commit:
//
//   - A message to an idle topic (no request in flight) is sent at once, so
//     a lone Publish adds no latency (a request of one message uses the
//     plain Publish API).
//   - While a request is in flight, new messages queue. A full batch (10
//     messages, or the sender's batch limit in bytes) goes out beside it, up to
//     maxInFlight requests per topic; a partial batch waits until a request
//     completes and then goes out whole.
//   - With linger > 0, a batch of fewer than 10 waits until its oldest
//     message has been queued for linger, unless the batcher is closing.
//   - On FIFO topics a message group is never in two requests at once, and
//     the messages of a group keep their queue order within a request, so
//     SNS receives each group in publish order.
//
// Nothing runs for an idle topic: a topic's state is created when a message
// arrives and dropped when it has no queued message and no request in
// flight. Goroutines exist for in-flight requests, armed linger timers and
// up to maxInFlight idle senders kept for the next requests (a sender keeps
// the stack an SDK call grew, tens of KiB, where a new goroutine would grow
// one again); all of them are counted in wg and end at shutdown.
type batcher struct {
	sender      batchSender
	clock       clock.Clock
	log         logrus.FieldLogger
	linger      time.Duration
	maxInFlight int
	hook        func(context.Context, PublishRequest) (context.Context, func(PublishRequestDone))
	publishHook func(context.Context, PublishInfo) (context.Context, func(PublishDone))
	stats       publisherCounters

	// base is the parent of every request's cancellation; abort cancels it
	// when a shutdown's deadline passes.
	base  context.Context
	abort context.CancelFunc

	closedFlag atomic.Bool // mirrors closed for lock-free checks

	mu      sync.Mutex
	topics  map[string]*topicQueue
	closed  bool
	aborted bool
	closing chan struct{} // closed when shutdown begins; wakes linger timers and idle senders
	idle    chan sendJob  // unbuffered: hands a request to an idle sender
	idlers  int           // idle senders

	wg        sync.WaitGroup // senders (busy or idle) and linger timers
	drainOnce sync.Once
	drained   chan struct{} // closed when wg reaches zero after shutdown began
}

// topicQueue is the state of one topic with work. It is guarded by
// batcher.mu.
type topicQueue struct {
	arn        string
	name       string // the topic or queue name, for hooks
	fifo       bool
	head, tail *queuedMessage
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

// queuedMessage is one message waiting in, or taken from, a topic queue.
type queuedMessage struct {
	ctx      context.Context
	msg      *outMessage
	done     chan publishResult // buffered: the result is never blocked on
	enqueued time.Time

	// Guarded by batcher.mu.
	state      queueState
	tq         *topicQueue
	prev, next *queuedMessage
}

// sendJob is a request for an idle sender to make.
type sendJob struct {
	tq    *topicQueue
	batch []*queuedMessage
}

// publishResult is the outcome of one message.
type publishResult struct {
	messageID      string
	sequenceNumber string
	err            error
}

func newBatcher(sender batchSender, o PublisherOptions) *batcher {
	base, abort := context.WithCancel(context.Background())
	return &batcher{
		sender:      sender,
		clock:       o.Clock,
		log:         o.Logger,
		linger:      o.Linger,
		maxInFlight: o.MaxInFlightBatches,
		hook:        o.Hooks.Request,
		publishHook: o.Hooks.Publish,
		base:        base,
		abort:       abort,
		topics:      make(map[string]*topicQueue),
		closing:     make(chan struct{}),
		idle:        make(chan sendJob),
		drained:     make(chan struct{}),
	}
}

func newQueuedMessage(ctx context.Context, m *outMessage) *queuedMessage {
	return &queuedMessage{ctx: ctx, msg: m, done: make(chan publishResult, 1)}
}

// isClosed reports whether shutdown has begun.
func (b *batcher) isClosed() bool { return b.closedFlag.Load() }

// enqueue queues messages for topic and sends what it can. It fails with
// ErrClosed once shutdown has begun.
func (b *batcher) enqueue(dest string, dst destination, qms []*queuedMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%w: publisher is shut down", ErrClosed)
	}
	tq := b.topics[dest]
	if tq == nil {
		tq = &topicQueue{arn: dest, name: dst.name, fifo: dst.fifo}
		b.topics[dest] = tq
	}
	now := b.clock.Now()
	for _, qm := range qms {
		qm.enqueued = now
		qm.tq = tq
		tq.push(qm)
	}
	b.dispatchLocked(tq)
	b.forgetIfIdleLocked(tq)
	return nil
}

// wait returns the result of qm, or an error wrapping ctx.Err() if ctx ends
// first. A message still queued is then dropped and never sent; one already
// sent may still be published.
func (b *batcher) wait(ctx context.Context, qm *queuedMessage) publishResult {
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
		return publishResult{err: fmt.Errorf("snssqs: publish canceled before the message was sent: %w", ctx.Err())}
	case stateDropped:
		b.mu.Unlock()
		select {
		case r := <-qm.done: // dropped by shutdown with its own error
			return r
		default:
			return publishResult{err: fmt.Errorf("snssqs: publish canceled before the message was sent: %w", ctx.Err())}
		}
	}
	b.mu.Unlock()
	select {
	case r := <-qm.done:
		return r
	default:
		return publishResult{err: fmt.Errorf("snssqs: publish canceled while the request was in flight (the message may still be published): %w", ctx.Err())}
	}
}

// dispatchLocked starts requests for tq while it has free slots and
// sendable messages, or arms a linger timer.
func (b *batcher) dispatchLocked(tq *topicQueue) { b.nextLocked(tq, false) }

// nextLocked starts requests for tq while it has free slots and sendable
// messages, or arms a linger timer. With mine set, the first request is not
// started but returned, for the calling sender goroutine to make: a sender
// that goes on with the next request keeps its grown stack (an SDK call runs
// tens of KiB deep) instead of a new goroutine growing one.
func (b *batcher) nextLocked(tq *topicQueue, mine bool) (taken []*queuedMessage) {
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
				tq.busy[qm.msg.groupID] = struct{}{}
			}
		}
		tq.inFlight++
		if mine && taken == nil {
			taken = batch
			continue
		}
		select {
		case b.idle <- sendJob{tq: tq, batch: batch}:
		default:
			b.wg.Add(1)
			go b.send(tq, batch)
		}
	}
	return taken
}

// collectLocked chooses the next request's messages without removing them:
// up to MaxPublishBatchEntries in queue order whose total size fits the
// sender's batch limit, skipping (on FIFO topics) groups already in flight and
// every later message of a group one of whose messages was skipped. Messages
// whose context has ended are dropped on the way. full reports that the
// batch cannot grow: it holds the maximum entries or the next message did
// not fit.
func (b *batcher) collectLocked(tq *topicQueue) (batch []*queuedMessage, full bool) {
	size := 0
	var skipped map[string]struct{}
	for qm := tq.head; qm != nil && len(batch) < MaxPublishBatchEntries; {
		next := qm.next
		if qm.ctx.Err() != nil {
			tq.remove(qm)
			qm.state = stateDropped
			qm = next
			continue
		}
		g := qm.msg.groupID
		if tq.fifo {
			_, inFlight := tq.busy[g]
			_, skip := skipped[g]
			if inFlight || skip {
				qm = next
				continue
			}
		}
		if size+qm.msg.size > b.sender.maxBatchBytes() {
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
		size += qm.msg.size
		qm = next
	}
	return batch, full || len(batch) == MaxPublishBatchEntries
}

// lingerTimer waits d (or until shutdown begins), then dispatches tq again.
func (b *batcher) lingerTimer(tq *topicQueue, d time.Duration) {
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

// send makes the request for batch, delivers each message's result and
// frees the slot; then it goes on with the topic's next request, if any, or
// waits idle for another one, unless maxInFlight senders already wait or
// shutdown has begun.
func (b *batcher) send(tq *topicQueue, batch []*queuedMessage) {
	defer b.wg.Done()
	for {
		results := b.request(tq, batch)
		for i, qm := range batch {
			b.logResult(tq.arn, qm, results[i]) // before the caller can return
			qm.done <- results[i]
		}
		b.mu.Lock()
		tq.inFlight--
		if tq.fifo {
			for _, qm := range batch {
				delete(tq.busy, qm.msg.groupID)
			}
		}
		next := b.nextLocked(tq, true)
		b.forgetIfIdleLocked(tq)
		if next != nil {
			b.mu.Unlock()
			batch = next
			continue
		}
		if b.closed || b.idlers >= b.maxInFlight {
			b.mu.Unlock()
			return
		}
		b.idlers++
		b.mu.Unlock()
		job, ok := b.awaitJob()
		if !ok {
			return
		}
		tq, batch = job.tq, job.batch
	}
}

// awaitJob waits, as an idle sender, for a request to make; it reports
// false when shutdown begins first.
func (b *batcher) awaitJob() (sendJob, bool) {
	var job sendJob
	ok := true
	select {
	case job = <-b.idle:
	case <-b.closing:
		ok = false
	}
	b.mu.Lock()
	b.idlers--
	b.mu.Unlock()
	return job, ok
}

// requestContext returns the context of a request for batch: canceled when
// the batcher aborts and, for a single message, when its caller's context
// ends. A request for several callers outlives any one of them; it carries
// the values (e.g. trace spans) of the first message's context.
func (b *batcher) requestContext(batch []*queuedMessage) (context.Context, context.CancelFunc) {
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
func (b *batcher) request(tq *topicQueue, batch []*queuedMessage) []publishResult {
	ctx, cancel := b.requestContext(batch)
	defer cancel()
	var done func(PublishRequestDone)
	var start time.Time
	if b.hook != nil {
		ctx, done = b.hookRequest(ctx, tq, batch)
		start = time.Now()
	}
	b.stats.requests.Add(1)
	b.stats.inFlight.Add(1)
	var results []publishResult
	var err error
	if len(batch) == 1 {
		results = []publishResult{b.sender.sendOne(ctx, tq.arn, batch[0].msg)}
		err = results[0].err
	} else {
		ms := make([]*outMessage, len(batch))
		for i, qm := range batch {
			ms[i] = qm.msg
		}
		results, err = b.sender.sendBatch(ctx, tq.arn, ms)
	}
	b.stats.inFlight.Add(-1)
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
		}
	}
	b.stats.published.Add(uint64(len(results) - failed))
	b.stats.failed.Add(uint64(failed))
	if done != nil {
		done(PublishRequestDone{Duration: time.Since(start), Failed: failed, Err: err})
	}
	return results
}

// hookRequest calls the Request hook for a request of batch.
func (b *batcher) hookRequest(ctx context.Context, tq *topicQueue, batch []*queuedMessage) (context.Context, func(PublishRequestDone)) {
	ctxs := make([]context.Context, len(batch))
	for i, qm := range batch {
		ctxs[i] = qm.ctx
	}
	return b.hook(ctx, PublishRequest{
		Service: b.sender.service(), Destination: tq.arn, DestinationName: tq.name,
		Batch: len(batch) > 1, Messages: ctxs,
	})
}

func (b *batcher) logResult(arn string, qm *queuedMessage, r publishResult) {
	m := qm.msg
	if r.err != nil {
		if qm.ctx.Err() != nil || errors.Is(r.err, context.Canceled) {
			if debugEnabled(b.log) {
				b.log.WithFields(logrus.Fields{"topic": arn, "type": m.eventType, "id": m.id}).
					WithError(r.err).Debug("snssqs: publish canceled")
			}
			return
		}
		b.log.WithFields(logrus.Fields{"topic": arn, "type": m.eventType, "id": m.id}).
			WithError(r.err).Error("snssqs: publish failed")
		return
	}
	if debugEnabled(b.log) {
		b.log.WithFields(logrus.Fields{
			"topic": arn, "type": m.eventType, "id": m.id, "message_id": r.messageID, "body": m.body,
		}).Debug("snssqs: published")
	}
}

// forgetIfIdleLocked drops tq's state when it has nothing queued, in
// flight or lingering.
func (b *batcher) forgetIfIdleLocked(tq *topicQueue) {
	if tq.head == nil && tq.inFlight == 0 && !tq.lingering && b.topics[tq.arn] == tq {
		delete(b.topics, tq.arn)
	}
}

// shutdown stops accepting messages, sends everything queued (ignoring
// linger) and waits for all requests. If ctx ends first it drops what is
// still queued (failing it with ErrClosed), cancels in-flight requests and
// returns an error wrapping ctx.Err(). It is safe to call more than once
// and concurrently.
func (b *batcher) shutdown(ctx context.Context) error {
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
			b.wg.Wait()
			b.abort() // release the base context
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
			qm.done <- publishResult{err: fmt.Errorf("%w: shutdown deadline passed before the message was sent: %w", ErrClosed, ctx.Err())}
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
func (tq *topicQueue) push(qm *queuedMessage) {
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
func (tq *topicQueue) remove(qm *queuedMessage) {
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

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func stringOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
