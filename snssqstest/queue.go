package snssqstest

import (
	"container/heap"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The queue engine. Every queue has its own mutex; no I/O happens under it.
//
// A live message is in exactly one state:
//   - delayed: in the timed heap, becomes visible at wakeAt;
//   - visible: standard queues keep it in the ready deque, FIFO queues in its
//     group's deque (which also holds the group's in-flight and delayed
//     messages, in order);
//   - in flight: in the timed heap, becomes visible again at wakeAt.
//
// Deleting a visible message only marks it; the deques skip (and
// periodically compact away) marked entries. Every operation first calls
// maintainLocked, which moves due messages out of the timed heap (O(log n)
// each) and drops messages past the retention period, so receiving is
// O(log n) per message returned, never a scan of the queue.

type msgState uint8

const (
	stateDelayed msgState = iota
	stateVisible
	stateInflight
	stateDeleted
)

// Limits and defaults from the SQS documentation.
const (
	defaultVisibilityTimeout = 30
	maxVisibilityTimeout     = 43200
	defaultRetentionSeconds  = 345600  // 4 days
	defaultMaxMessageSize    = 1048576 // SQS's default since August 2025
	maxMessageSizeLimit      = 1048576
	maxDelaySeconds          = 900
	maxWaitTimeSeconds       = 20
	maxReceiveMessages       = 10
	dedupWindow              = 5 * time.Minute
	firstSequenceNumber      = 18_000_000_000_000_000_000
)

type sqsMessage struct {
	id          string
	body        string
	attrs       map[string]messageAttribute
	sysAttrs    map[string]messageAttribute // AWSTraceHeader
	md5Body     string
	md5Attrs    string
	md5SysAttrs string
	sentAt      time.Time
	senderID    string
	groupID     string
	dedupID     string
	seq         string
	dlqSource   string // DeadLetterQueueSourceArn once redriven

	state          msgState
	wakeAt         time.Time
	heapIdx        int
	receiveCount   int
	firstReceiveAt time.Time
	token          uint64 // receipt token of the latest receive
	group          *fifoGroup
}

// delivery is one message handed out by a receive, copied under the lock.
type delivery struct {
	msg            *sqsMessage // immutable fields only may be read outside the lock
	receipt        string
	receiveCount   int
	firstReceiveAt time.Time
}

type fifoGroup struct {
	id       string
	msgs     deque[*sqsMessage]
	inflight int
	queued   bool // in readyGroups
}

type dedupEntry struct {
	messageID string
	seq       string
	expires   time.Time
}

type dedupKey struct {
	key     string
	expires time.Time
}

type queue struct {
	svc     *sqsService
	name    string
	arn     string
	url     string
	fifo    bool
	created time.Time

	mu           sync.Mutex
	attrs        map[string]string // canonical attribute values, defaults filled in
	cfg          queueConfig       // typed view of attrs
	lastModified time.Time
	lastPurge    time.Time // zero until the first PurgeQueue
	tags         map[string]string
	deleted      bool

	msgs      map[string]*sqsMessage // live messages by id
	ready     deque[*sqsMessage]     // standard: visible messages, oldest first
	timed     msgHeap                // delayed and in-flight messages by wakeAt
	bySent    deque[*sqsMessage]     // every message in send order, for retention
	nVisible  int
	nInflight int
	nDelayed  int

	groups      map[string]*fifoGroup
	readyGroups deque[*fifoGroup]
	dedup       map[string]dedupEntry
	dedupOrder  deque[dedupKey]
	seq         uint64

	nextToken uint64
	waiters   int
	notify    chan struct{} // closed and replaced when messages may have become available
}

// queueConfig is the typed view of the attributes the engine uses.
type queueConfig struct {
	visibilityTimeout int
	delaySeconds      int
	waitTimeSeconds   int
	retentionSeconds  int
	maxMessageSize    int
	contentDedup      bool
	dedupPerGroup     bool
	dlqARN            string
	maxReceiveCount   int
}

func newQueue(svc *sqsService, name string, fifo bool, attrs map[string]string, tags map[string]string, now time.Time) *queue {
	q := &queue{
		svc:          svc,
		name:         name,
		arn:          svc.queueARN(name),
		url:          svc.queueURL(name),
		fifo:         fifo,
		created:      now,
		lastModified: now,
		attrs:        attrs,
		tags:         tags,
		msgs:         make(map[string]*sqsMessage),
		notify:       make(chan struct{}),
	}
	if fifo {
		q.groups = make(map[string]*fifoGroup)
		q.dedup = make(map[string]dedupEntry)
		q.seq = firstSequenceNumber
	}
	q.cfg = configFromAttrs(attrs)
	return q
}

func configFromAttrs(a map[string]string) queueConfig {
	num := func(name string, def int) int {
		if v, err := strconv.Atoi(a[name]); err == nil {
			return v
		}
		return def
	}
	c := queueConfig{
		visibilityTimeout: num("VisibilityTimeout", defaultVisibilityTimeout),
		delaySeconds:      num("DelaySeconds", 0),
		waitTimeSeconds:   num("ReceiveMessageWaitTimeSeconds", 0),
		retentionSeconds:  num("MessageRetentionPeriod", defaultRetentionSeconds),
		maxMessageSize:    num("MaximumMessageSize", defaultMaxMessageSize),
		contentDedup:      a["ContentBasedDeduplication"] == "true",
		dedupPerGroup:     a["DeduplicationScope"] == "messageGroup",
	}
	if rp, ok := a["RedrivePolicy"]; ok {
		if p, err := parseRedrivePolicy(rp); err == nil {
			c.dlqARN, c.maxReceiveCount = p.arn, p.maxReceiveCount
		}
	}
	return c
}

// setAttributes replaces attribute values (already validated and
// canonical); an empty value removes an optional attribute.
func (q *queue) setAttributes(attrs map[string]string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, v := range attrs {
		if v == "" && (k == "RedrivePolicy" || k == "Policy" || k == "RedriveAllowPolicy" || k == "KmsMasterKeyId") {
			delete(q.attrs, k)
			continue
		}
		q.attrs[k] = v
	}
	q.cfg = configFromAttrs(q.attrs)
	q.lastModified = q.svc.clk.Now()
	q.signalLocked() // a shorter delay or visibility timeout changes nothing already queued, but waiters re-evaluate
}

// snapshotAttributes returns the canonical attributes plus the computed ones.
func (q *queue) snapshotAttributes() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maintainLocked(q.svc.clk.Now())
	out := make(map[string]string, len(q.attrs)+8)
	for k, v := range q.attrs {
		out[k] = v
	}
	out["QueueArn"] = q.arn
	out["ApproximateNumberOfMessages"] = strconv.Itoa(q.nVisible)
	out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(q.nInflight)
	out["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(q.nDelayed)
	out["CreatedTimestamp"] = strconv.FormatInt(q.created.Unix(), 10)
	out["LastModifiedTimestamp"] = strconv.FormatInt(q.lastModified.Unix(), 10)
	return out
}

// attrsMatch reports the first provided attribute whose value differs from
// the queue's, for CreateQueue's idempotency check.
func (q *queue) attrsMatch(attrs map[string]string) (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, v := range attrs {
		if q.attrs[k] != v {
			return k, false
		}
	}
	return "", true
}

// ---- sending ----

// enqueueResult tells what a send did.
type enqueueResult struct {
	messageID string
	seq       string
}

// enqueue adds m (fully validated, ids and checksums set) after delay.
// For FIFO queues it applies deduplication: a duplicate within the window
// returns the original message id and sequence number and adds nothing.
func (q *queue) enqueue(m *sqsMessage, delay time.Duration) (enqueueResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return enqueueResult{}, errQueueDoesNotExist()
	}
	now := q.svc.clk.Now()
	q.maintainLocked(now)
	if q.fifo {
		key := m.dedupID
		if q.cfg.dedupPerGroup {
			key = m.groupID + "\x00" + key
		}
		if e, ok := q.dedup[key]; ok && now.Before(e.expires) {
			return enqueueResult{messageID: e.messageID, seq: e.seq}, nil
		}
		q.seq++
		m.seq = strconv.FormatUint(q.seq, 10)
		exp := now.Add(dedupWindow)
		q.dedup[key] = dedupEntry{messageID: m.id, seq: m.seq, expires: exp}
		q.dedupOrder.pushBack(dedupKey{key: key, expires: exp})
	}
	m.sentAt = now
	q.insertLocked(m, now, delay)
	return enqueueResult{messageID: m.id, seq: m.seq}, nil
}

// insertLocked places a new or redriven message.
func (q *queue) insertLocked(m *sqsMessage, now time.Time, delay time.Duration) {
	q.msgs[m.id] = m
	q.bySent.pushBack(m)
	if q.fifo {
		g := q.groups[m.groupID]
		if g == nil {
			g = &fifoGroup{id: m.groupID}
			q.groups[m.groupID] = g
		}
		m.group = g
		g.msgs.pushBack(m)
	}
	if delay > 0 {
		m.state = stateDelayed
		m.wakeAt = now.Add(delay)
		heap.Push(&q.timed, m)
		q.nDelayed++
	} else {
		q.makeVisibleLocked(m)
	}
	q.signalLocked()
}

// makeVisibleLocked turns a new, delayed or in-flight message visible.
func (q *queue) makeVisibleLocked(m *sqsMessage) {
	m.state = stateVisible
	q.nVisible++
	if q.fifo {
		q.markGroupReadyLocked(m.group)
		return
	}
	q.ready.pushBack(m)
}

// ---- maintenance ----

// maintainLocked makes due delayed and in-flight messages visible and drops
// messages older than the retention period.
func (q *queue) maintainLocked(now time.Time) {
	moved := false
	for len(q.timed) > 0 && !q.timed[0].wakeAt.After(now) {
		m := heap.Pop(&q.timed).(*sqsMessage)
		switch m.state {
		case stateDelayed:
			q.nDelayed--
		case stateInflight:
			q.nInflight--
			if m.group != nil {
				m.group.inflight--
			}
		}
		q.makeVisibleLocked(m)
		moved = true
	}
	retention := time.Duration(q.cfg.retentionSeconds) * time.Second
	for {
		m, ok := q.bySent.front()
		if !ok {
			break
		}
		if m.state != stateDeleted && now.Sub(m.sentAt) < retention {
			break
		}
		q.bySent.popFront()
		if m.state != stateDeleted {
			q.removeLocked(m)
		}
	}
	if q.bySent.len() > 1024 && q.bySent.len() > 4*len(q.msgs) {
		q.bySent.filter(func(m *sqsMessage) bool { return m.state != stateDeleted })
	}
	if q.fifo {
		for {
			k, ok := q.dedupOrder.front()
			if !ok || now.Before(k.expires) {
				break
			}
			q.dedupOrder.popFront()
			if e, ok := q.dedup[k.key]; ok && !now.Before(e.expires) {
				delete(q.dedup, k.key)
			}
		}
	}
	if moved {
		q.signalLocked()
	}
}

// removeLocked deletes a live message from whatever structure holds it.
func (q *queue) removeLocked(m *sqsMessage) {
	switch m.state {
	case stateDeleted:
		return
	case stateVisible:
		q.nVisible--
	case stateDelayed:
		q.nDelayed--
		heap.Remove(&q.timed, m.heapIdx)
	case stateInflight:
		q.nInflight--
		heap.Remove(&q.timed, m.heapIdx)
		if m.group != nil {
			m.group.inflight--
		}
	}
	m.state = stateDeleted
	delete(q.msgs, m.id)
	if g := m.group; g != nil {
		q.markGroupReadyLocked(g)
		if g.msgs.len() > 64 && g.msgs.len() > 4*(g.live()+1) {
			g.msgs.filter(func(m *sqsMessage) bool { return m.state != stateDeleted })
		}
	} else if q.ready.len() > 1024 && q.ready.len() > 4*q.nVisible {
		q.ready.filter(func(m *sqsMessage) bool { return m.state == stateVisible })
	}
}

func (g *fifoGroup) live() int {
	n := 0
	for i := 0; i < g.msgs.len(); i++ {
		if g.msgs.at(i).state != stateDeleted {
			n++
		}
	}
	return n
}

// markGroupReadyLocked trims deleted messages off the group's head and
// queues the group for receiving when it is unlocked and its head is
// visible; it forgets empty groups.
func (q *queue) markGroupReadyLocked(g *fifoGroup) {
	for {
		m, ok := g.msgs.front()
		if !ok || m.state != stateDeleted {
			break
		}
		g.msgs.popFront()
	}
	head, ok := g.msgs.front()
	if !ok {
		if g.inflight == 0 && !g.queued {
			delete(q.groups, g.id)
		}
		return
	}
	if !g.queued && g.inflight == 0 && head.state == stateVisible {
		g.queued = true
		q.readyGroups.pushBack(g)
		q.signalLocked()
	}
}

// signalLocked wakes every long poll waiting on the queue.
func (q *queue) signalLocked() {
	if q.waiters == 0 {
		return
	}
	close(q.notify)
	q.notify = make(chan struct{})
}

// ---- receiving ----

// receiveOptions are a validated ReceiveMessage request.
type receiveOptions struct {
	max        int
	wait       time.Duration
	visibility time.Duration
}

// receive takes up to opts.max messages, long polling up to opts.wait. It
// returns early when the server closes, the queue is deleted or ctx ends.
func (q *queue) receive(ctx context.Context, opts receiveOptions) []delivery {
	clk := q.svc.clk
	var deadline time.Time
	registered := false
	defer func() {
		if registered {
			q.mu.Lock()
			q.waiters--
			q.mu.Unlock()
		}
	}()
	for {
		q.mu.Lock()
		now := clk.Now()
		if deadline.IsZero() {
			deadline = now.Add(opts.wait)
		}
		q.maintainLocked(now)
		out, dlq := q.takeLocked(now, opts)
		if len(dlq) > 0 {
			dlqARN := q.cfg.dlqARN
			q.mu.Unlock()
			q.redrive(dlqARN, dlq)
			if len(out) > 0 {
				return out
			}
			continue
		}
		remaining := deadline.Sub(now)
		if len(out) > 0 || remaining <= 0 || q.deleted {
			q.mu.Unlock()
			return out
		}
		if !registered {
			registered = true
			q.waiters++
		}
		wait := remaining
		if len(q.timed) > 0 {
			if d := q.timed[0].wakeAt.Sub(now); d < wait {
				wait = d
			}
		}
		notify := q.notify
		q.mu.Unlock()

		t := clk.NewTimer(wait)
		select {
		case <-notify:
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-q.svc.closing:
			t.Stop()
			return nil
		}
		t.Stop()
	}
}

// takeLocked hands out visible messages, and returns separately the ones
// that exceeded the redrive policy's maxReceiveCount (already removed).
func (q *queue) takeLocked(now time.Time, opts receiveOptions) (out []delivery, dlq []*sqsMessage) {
	redrive := q.cfg.dlqARN != "" && q.cfg.maxReceiveCount > 0 && q.svc.queueByARN(q.cfg.dlqARN) != nil
	take := func(m *sqsMessage) bool {
		if redrive && m.receiveCount >= q.cfg.maxReceiveCount {
			// m is visible: off the ready deque already (standard) or a
			// stale entry of its group's deque (FIFO), which the caller
			// is iterating and so must not be reshaped here.
			q.nVisible--
			m.state = stateDeleted
			delete(q.msgs, m.id)
			dlq = append(dlq, m)
			return false
		}
		q.nVisible--
		q.nInflight++
		m.state = stateInflight
		m.receiveCount++
		if m.firstReceiveAt.IsZero() {
			m.firstReceiveAt = now
		}
		q.nextToken++
		m.token = q.nextToken
		m.wakeAt = now.Add(opts.visibility)
		heap.Push(&q.timed, m)
		if m.group != nil {
			m.group.inflight++
		}
		out = append(out, delivery{msg: m, receipt: encodeReceipt(m.id, m.token), receiveCount: m.receiveCount, firstReceiveAt: m.firstReceiveAt})
		return true
	}
	if !q.fifo {
		for len(out) < opts.max {
			m, ok := q.ready.popFront()
			if !ok {
				break
			}
			if m.state == stateVisible {
				take(m)
			}
		}
		return out, dlq
	}
	for len(out) < opts.max {
		g, ok := q.readyGroups.popFront()
		if !ok {
			break
		}
		g.queued = false
		if g.inflight > 0 {
			continue
		}
		for i := 0; i < g.msgs.len() && len(out) < opts.max; i++ {
			m := g.msgs.at(i)
			if m.state == stateDeleted {
				continue
			}
			if m.state != stateVisible {
				break
			}
			take(m)
		}
		q.markGroupReadyLocked(g)
	}
	return out, dlq
}

// redrive moves messages to the dead-letter queue, keeping body,
// attributes, ids and the original send time (retention counts from it, as
// in AWS). The receive count starts again at zero.
func (q *queue) redrive(dlqARN string, msgs []*sqsMessage) {
	dlq := q.svc.queueByARN(dlqARN)
	if dlq == nil {
		return // the DLQ was deleted meanwhile; the messages are dropped, as AWS does
	}
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	if dlq.deleted {
		return
	}
	now := dlq.svc.clk.Now()
	for _, m := range msgs {
		c := &sqsMessage{
			id: m.id, body: m.body, attrs: m.attrs, sysAttrs: m.sysAttrs,
			md5Body: m.md5Body, md5Attrs: m.md5Attrs, md5SysAttrs: m.md5SysAttrs,
			sentAt: m.sentAt, senderID: m.senderID, groupID: m.groupID, dedupID: m.dedupID,
			dlqSource: q.arn,
		}
		if dlq.fifo {
			dlq.seq++
			c.seq = strconv.FormatUint(dlq.seq, 10)
			if c.groupID == "" {
				c.groupID = "redrive"
			}
		}
		if _, dup := dlq.msgs[c.id]; dup {
			continue
		}
		dlq.insertLocked(c, now, 0)
	}
}

// ---- deleting and visibility ----

// lookupReceiptLocked resolves a receipt handle.
func (q *queue) lookupReceiptLocked(handle string) (*sqsMessage, uint64, *sqsError) {
	id, token, ok := decodeReceipt(handle)
	if !ok {
		return nil, 0, errReceiptHandleIsInvalid(handle)
	}
	return q.msgs[id], token, nil
}

// deleteMessage deletes the message behind a receipt handle. Standard
// queues accept any handle the message was ever received with; FIFO queues
// only the latest one while the message is in flight.
func (q *queue) deleteMessage(handle string) *sqsError {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maintainLocked(q.svc.clk.Now())
	m, token, err := q.lookupReceiptLocked(handle)
	if err != nil {
		return err
	}
	if m == nil {
		return nil // already deleted: AWS answers success
	}
	if q.fifo && (m.state != stateInflight || m.token != token) {
		return errInvalidParameterValue("Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", handle)
	}
	q.removeLocked(m)
	return nil
}

// changeVisibility sets the remaining visibility timeout of an in-flight
// message, counted from now. As with deleteMessage, standard queues accept
// any handle the message was received with (an earlier receive's too, as
// moto does); FIFO queues only the latest.
func (q *queue) changeVisibility(handle string, timeout time.Duration) *sqsError {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.svc.clk.Now()
	q.maintainLocked(now)
	m, token, err := q.lookupReceiptLocked(handle)
	if err != nil {
		return err
	}
	if m == nil || q.fifo && m.token != token && m.state == stateInflight {
		return errInvalidParameterValue("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", handle)
	}
	if m.state != stateInflight {
		return errMessageNotInflight()
	}
	m.wakeAt = now.Add(timeout)
	heap.Fix(&q.timed, m.heapIdx)
	if timeout <= 0 {
		q.maintainLocked(now)
	}
	q.signalLocked()
	return nil
}

// purgeInterval is how often AWS lets a queue be purged.
const purgeInterval = 60 * time.Second

// purge deletes every message. Like SQS it allows one purge per queue every
// 60 seconds; a second one within that window fails with PurgeQueueInProgress.
func (q *queue) purge() *sqsError {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.svc.clk.Now()
	if !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < purgeInterval {
		return errPurgeQueueInProgress(q.url)
	}
	q.lastPurge = now
	for _, m := range q.msgs {
		m.state = stateDeleted
	}
	q.msgs = make(map[string]*sqsMessage)
	q.ready = deque[*sqsMessage]{}
	q.timed = nil
	q.bySent = deque[*sqsMessage]{}
	q.nVisible, q.nInflight, q.nDelayed = 0, 0, 0
	if q.fifo {
		q.groups = make(map[string]*fifoGroup)
		q.readyGroups = deque[*fifoGroup]{}
	}
	q.lastModified = now
	return nil
}

// markDeleted ends the queue: long polls on it return.
func (q *queue) markDeleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = true
	q.signalLocked()
}

// ---- receipt handles ----

func encodeReceipt(id string, token uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id + ":" + strconv.FormatUint(token, 10) + ":snssqstest"))
}

func decodeReceipt(h string) (id string, token uint64, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", 0, false
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[2] != "snssqstest" || parts[0] == "" {
		return "", 0, false
	}
	token, err = strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return parts[0], token, true
}

// ---- containers ----

// msgHeap orders delayed and in-flight messages by wakeAt.
type msgHeap []*sqsMessage

func (h msgHeap) Len() int           { return len(h) }
func (h msgHeap) Less(i, j int) bool { return h[i].wakeAt.Before(h[j].wakeAt) }
func (h msgHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *msgHeap) Push(x any) {
	m := x.(*sqsMessage)
	m.heapIdx = len(*h)
	*h = append(*h, m)
}
func (h *msgHeap) Pop() any {
	old := *h
	n := len(old)
	m := old[n-1]
	old[n-1] = nil
	m.heapIdx = -1
	*h = old[:n-1]
	return m
}

// deque is a slice-backed FIFO with amortised O(1) push and pop.
type deque[T any] struct {
	items []T
	head  int
}

func (d *deque[T]) len() int { return len(d.items) - d.head }

func (d *deque[T]) pushBack(v T) { d.items = append(d.items, v) }

func (d *deque[T]) front() (T, bool) {
	if d.len() == 0 {
		var zero T
		return zero, false
	}
	return d.items[d.head], true
}

func (d *deque[T]) at(i int) T { return d.items[d.head+i] }

func (d *deque[T]) popFront() (T, bool) {
	var zero T
	if d.len() == 0 {
		return zero, false
	}
	v := d.items[d.head]
	d.items[d.head] = zero
	d.head++
	if d.head == len(d.items) {
		d.items, d.head = d.items[:0], 0
	} else if d.head >= 64 && d.head*2 >= len(d.items) {
		n := copy(d.items, d.items[d.head:])
		clear(d.items[n:])
		d.items, d.head = d.items[:n], 0
	}
	return v, true
}

// filter keeps the elements for which keep is true, in order.
func (d *deque[T]) filter(keep func(T) bool) {
	out := d.items[:0]
	for _, v := range d.items[d.head:] {
		if keep(v) {
			out = append(out, v)
		}
	}
	clear(d.items[len(out):])
	d.items, d.head = out, 0
}

// String helps debugging.
func (m *sqsMessage) String() string { return fmt.Sprintf("msg(%s,%d)", m.id, m.state) }
