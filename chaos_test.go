package snssqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// The chaos test publishes N events to a topic fanned out to two queues (one
// with SNS notification JSON, one with raw delivery), each with a
// dead-letter queue, while:
//
//   - every AWS operation fails 10% of the time with an injected AWS error
//     (500 InternalError, 503 ServiceUnavailable, throttling: SQS
//     RequestThrottled and ThrottlingException, which the SDK retries, and
//     SNS Throttled, which it does not) and drops 5% of connections, half
//     before the operation took effect and half after;
//   - 2% of receives use a zero visibility timeout, so messages come back
//     while their handler runs and its receipt handle goes stale;
//   - two subscribers per queue are shut down (or closed) and replaced at
//     random moments;
//   - on a message's first two deliveries its handler fails 10% of the time,
//     panics 1% of the time and runs past the visibility timeout 5% of the
//     time (the heartbeat must hold the message);
//   - 1% of the events are poison: their handler always fails, so they
//     must end in the dead-letter queues.
//
// It asserts that every event whose Publish succeeded was handled
// successfully at least once on each queue, that the dead-letter queues
// hold only poison events and every successfully published poison event,
// that every Publish returned (failures are counted), that no goroutine is
// left behind and that the heap stays bounded. Duplicates are counted and
// reported, not failed: delivery is at least once.
//
// Random failures are limited to the first two deliveries of a good event,
// and maxReceiveCount is 6, so a good event reaches a dead-letter queue only
// if four more deliveries are lost to faults — practically never — which
// keeps "dead-letter queues hold only poison events" a sharp assertion.
//
// Size: SNSSQS_CHAOS_N sets the number of events. Otherwise it is 10,000,
// or 4,000 under the race detector (which slows the emulator, the SDK and
// the library two to three times, and the test must stay well within a minute on
// two cores); SNSSQS_CHAOS=long forces 10,000 under -race too. -short uses
// 500. SNSSQS_CHAOS_SEED changes the seed (default 1). Run with -v to see
// the summary line:
//
//	chaos: published=N handled_q1=N handled_q2=N lost=0 duplicates=D dlq=K leaked_goroutines=0 ...

var errPoison = errors.New("chaos: poison event")

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func chaosSize(t *testing.T) int {
	if v := os.Getenv("SNSSQS_CHAOS_N"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "SNSSQS_CHAOS_N")
		require.Positive(t, n, "SNSSQS_CHAOS_N")
		return n
	}
	switch {
	case os.Getenv("SNSSQS_CHAOS") == "long":
		return 10000
	case testing.Short():
		return 500
	case raceEnabled():
		return 4000
	}
	return 10000
}

func chaosSeed(t *testing.T) uint64 {
	if v := os.Getenv("SNSSQS_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "SNSSQS_CHAOS_SEED")
		return n
	}
	return 1
}

// lockedRand is a seeded generator safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed+0x5eed))}
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) Duration(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(l.Float64()*float64(hi-lo))
}

// chaosQueue tracks what happened on one queue.
type chaosQueue struct {
	name, url, dlqURL string

	mu         sync.Mutex
	handled    map[int]int      // seq -> successful handler returns
	calls      map[int][]string // seq -> each handler call: message id, receive count, outcome
	deliveries int
	failed     int
	panicked   int
	slow       int
	poisoned   int
}

func (q *chaosQueue) record(f func(q *chaosQueue)) {
	q.mu.Lock()
	f(q)
	q.mu.Unlock()
}

// handler is the chaos handler for q.
func (q *chaosQueue) handler(rnd *lockedRand) snssqs.Handler {
	return func(ctx context.Context, m *snssqs.Message) error {
		var ev chaosEvent
		if err := m.Decode(&ev); err != nil {
			return err
		}
		outcome := "panic"
		defer func() {
			call := fmt.Sprintf("%s rc=%d %s", m.SQSMessageID, m.ReceiveCount, outcome)
			q.record(func(q *chaosQueue) { q.calls[ev.Seq] = append(q.calls[ev.Seq], call) })
		}()
		q.record(func(q *chaosQueue) { q.deliveries++ })
		if ev.Poison {
			q.record(func(q *chaosQueue) { q.poisoned++ })
			outcome = "poison"
			return errPoison
		}
		if m.ReceiveCount <= 2 {
			switch r := rnd.Float64(); {
			case r < 0.01:
				q.record(func(q *chaosQueue) { q.panicked++ })
				panic(fmt.Sprintf("chaos: handler panic on event %d", ev.Seq))
			case r < 0.11:
				q.record(func(q *chaosQueue) { q.failed++ })
				outcome = "failed"
				return fmt.Errorf("chaos: handler failure on event %d", ev.Seq)
			case r < 0.16:
				q.record(func(q *chaosQueue) { q.slow++ })
				t := time.NewTimer(chaosSlowHandler) // simulated work, past the visibility timeout
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
					outcome = "slow, canceled"
					return ctx.Err()
				}
			}
		}
		q.record(func(q *chaosQueue) { q.handled[ev.Seq]++ })
		outcome = "ok"
		return nil
	}
}

// callsOf returns the handler calls recorded for event seq.
func (q *chaosQueue) callsOf(seq int) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.calls[seq]...)
}

// chaosSubscribers keeps two subscribers on one queue, replacing one at a
// random moment over and over until stop.
type chaosSubscribers struct {
	t       *testing.T
	client  snssqs.SQSConsumeAPI
	q       *chaosQueue
	rnd     *lockedRand
	onError func(error)

	mu       sync.Mutex
	slots    [2]*snssqs.Subscriber
	runs     sync.WaitGroup
	runErrs  []error
	replaced int
	closed   int
}

func (c *chaosSubscribers) start() *snssqs.Subscriber {
	s, err := snssqs.NewSubscriber(c.client, func(o *snssqs.SubscriberOptions) {
		o.WaitTime = time.Second
		o.Concurrency = chaosConcurrency
		o.ReceiversPerQueue = 2
		o.VisibilityTimeout = chaosVisibility
		o.BackoffMin = 250 * time.Millisecond
		o.BackoffMax = time.Second
		o.HandlerTimeout = 20 * time.Second
		o.DrainTimeout = 10 * time.Second
		o.OnError = c.onError
	})
	if err == nil {
		_, err = s.Handle(c.q.url, chaosEventType, c.q.handler(c.rnd))
	}
	if err != nil {
		c.t.Errorf("chaos: starting a subscriber: %v", err)
		return nil
	}
	c.runs.Add(1)
	go func() {
		defer c.runs.Done()
		if err := s.Run(context.Background()); err != nil {
			c.mu.Lock()
			c.runErrs = append(c.runErrs, err)
			c.mu.Unlock()
		}
	}()
	return s
}

// churn replaces subscribers at random moments until stop is closed.
func (c *chaosSubscribers) churn(stop <-chan struct{}) {
	c.mu.Lock()
	for i := range c.slots {
		c.slots[i] = c.start()
	}
	c.mu.Unlock()
	for {
		t := time.NewTimer(c.rnd.Duration(200*time.Millisecond, 1500*time.Millisecond))
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		i := 0
		if c.rnd.Float64() < 0.5 {
			i = 1
		}
		next := c.start()
		if next == nil {
			return
		}
		c.mu.Lock()
		old := c.slots[i]
		c.slots[i] = next
		c.replaced++
		c.mu.Unlock()
		if old == nil {
			continue
		}
		if c.rnd.Float64() < 0.5 {
			_ = old.Close()
		} else {
			// A short deadline abandons slow handlers: their messages must
			// come back.
			ctx, cancel := context.WithTimeout(context.Background(), c.rnd.Duration(10*time.Millisecond, 2*time.Second))
			_ = old.Shutdown(ctx)
			cancel()
		}
		c.mu.Lock()
		c.closed++
		c.mu.Unlock()
	}
}

// shutdownAll stops the remaining subscribers and waits for their Run calls.
func (c *chaosSubscribers) shutdownAll() {
	c.mu.Lock()
	slots := c.slots
	c.mu.Unlock()
	for _, s := range slots {
		if s != nil {
			_ = s.Close()
		}
	}
	c.runs.Wait()
}

// chaosSeqOf extracts the event of a dead-lettered body: an SNS
// notification wrapping an envelope, or a raw envelope.
func chaosSeqOf(body string) (chaosEvent, error) {
	var n struct {
		Type    string
		Message string
	}
	raw := []byte(body)
	if json.Unmarshal(raw, &n) == nil && n.Type == "Notification" {
		raw = []byte(n.Message)
	}
	var env struct {
		Data chaosEvent `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return chaosEvent{}, err
	}
	return env.Data, nil
}

func TestChaosNothingIsLost(t *testing.T) {
	r := newChaosRun(t)
	r.sampleHeap()
	r.startChurn()
	r.publishAll()
	status := r.awaitComplete(3 * time.Minute)
	r.stop()
	if status != "" {
		chaosExplainIncomplete(t, r.srv, r.queues, r.n, r.pubOK)
	}
	require.Equal(t, "", status, "chaos: processing did not complete within 3 minutes")
	require.NoError(t, r.srv.SetFaults(snssqstest.Faults{})) // verify without faults
	r.injected = r.srv.InjectedFaults()
	r.verifyDelivered()
	r.verifyPublishes()
	r.verifyResources()
	r.report()
}

// chaosRun is one run of TestChaosNothingIsLost: an emulator injecting
// faults, a topic with two queues, churning subscribers on each, and n
// events published; then what happened.
type chaosRun struct {
	t        *testing.T
	n        int
	seed     uint64
	start    time.Time
	baseline int // goroutines before the run

	srv          *snssqstest.Server
	clients      *emulatorClients
	watch        *emulatorClients // fault-free, retrying: watches the queues
	topicARN     string
	queues       []*chaosQueue
	subs         []*chaosSubscribers
	stopChurn    chan struct{}
	churners     sync.WaitGroup
	pub          *snssqs.Publisher
	peakHeap     atomic.Uint64
	stopSampling chan struct{}
	sampled      chan struct{}
	bgErrors     atomic.Int64

	pubOK                      []bool
	pubErrs                    []error
	publishDone, processDone   time.Duration
	injected                   map[string]int64
	lost, duplicates, dlqTotal int
	handledCounts              []int
	leaked                     int
}

// newChaosRun provisions the topic and queues and arms the faults.
func newChaosRun(t *testing.T) *chaosRun {
	r := &chaosRun{t: t, n: chaosSize(t), seed: chaosSeed(t), start: time.Now(), baseline: runtime.NumGoroutine()}
	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	r.srv = srv
	r.clients = newEmulatorClients(srv, nil)
	t.Cleanup(r.clients.Close)
	r.watch = newEmulatorClients(srv, func() aws.Retryer { return retry.AddWithMaxAttempts(chaosRetryer(), 10) })
	t.Cleanup(r.watch.Close)

	topo, err := provision.Apply(context.Background(), r.clients.SNS, r.clients.SQS, provision.TopologySpec{
		TopicName: "chaos",
		Queues: []provision.QueueSpec{
			{Name: "chaos-q1", DeadLetterQueue: true, MaxReceiveCount: chaosMaxReceives},
			{Name: "chaos-q2", DeadLetterQueue: true, MaxReceiveCount: chaosMaxReceives, RawMessageDelivery: true},
		},
	})
	require.NoError(t, err)
	r.topicARN = topo.TopicARN
	for _, name := range []string{"chaos-q1", "chaos-q2"} {
		pq := topo.Queues[name]
		require.NotEmpty(t, pq.DeadLetterURL)
		r.queues = append(r.queues, &chaosQueue{name: name, url: pq.URL, dlqURL: pq.DeadLetterURL, handled: make(map[int]int), calls: make(map[int][]string)})
	}

	everything := snssqstest.FaultRule{
		ErrorRate:      0.10,
		DropBeforeRate: 0.025,
		DropAfterRate:  0.025,
		Errors: []snssqstest.FaultError{snssqstest.FaultInternalError, snssqstest.FaultServiceUnavailable,
			snssqstest.FaultThrottled, snssqstest.FaultThrottling},
	}
	receive := everything
	receive.ShortVisibilityRate = 0.02
	require.NoError(t, srv.SetFaults(snssqstest.Faults{Seed: r.seed, Rules: map[string]snssqstest.FaultRule{
		"*": everything, "sqs:ReceiveMessage": receive,
	}}))
	return r
}

// sampleHeap records the peak heap in use until stop.
func (r *chaosRun) sampleHeap() {
	r.stopSampling, r.sampled = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > r.peakHeap.Load() {
				r.peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-r.stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
}

// startChurn starts each queue's churning subscribers.
func (r *chaosRun) startChurn() {
	onError := func(error) { r.bgErrors.Add(1) }
	rnd := newLockedRand(r.seed)
	r.stopChurn = make(chan struct{})
	r.subs = make([]*chaosSubscribers, len(r.queues))
	for i, q := range r.queues {
		r.subs[i] = &chaosSubscribers{t: r.t, client: r.clients.SQS, q: q, rnd: rnd, onError: onError}
		r.churners.Add(1)
		go func() {
			defer r.churners.Done()
			r.subs[i].churn(r.stopChurn)
		}()
	}
}

// publishAll publishes the n events from chaosPublishers goroutines and
// records each Publish's outcome.
func (r *chaosRun) publishAll() {
	t := r.t
	pub, err := snssqs.NewPublisher(r.clients.SNS, func(o *snssqs.PublisherOptions) { o.Source = "chaos" })
	require.NoError(t, err)
	r.pub = pub
	r.pubOK, r.pubErrs = make([]bool, r.n), make([]error, r.n)
	next := atomic.Int64{}
	var publishers sync.WaitGroup
	for range chaosPublishers {
		publishers.Add(1)
		go func() {
			defer publishers.Done()
			for {
				seq := int(next.Add(1) - 1)
				if seq >= r.n {
					return
				}
				ev := chaosEvent{Seq: seq, Poison: seq%chaosPoisonEvery == chaosPoisonAt}
				pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := pub.Publish(pctx, r.topicARN, chaosEventType, ev)
				cancel()
				r.pubOK[seq], r.pubErrs[seq] = err == nil, err
			}
		}()
	}
	published := make(chan struct{})
	go func() { publishers.Wait(); close(published) }()
	select {
	case <-published:
	case <-time.After(2 * time.Minute):
		t.Fatal("chaos: Publish calls did not all return")
	}
	r.publishDone = time.Since(r.start)
}

// awaitComplete waits, up to limit, until every successfully published
// event was handled on every queue and both queues are empty (poison events
// moved to the DLQs); it returns what is still missing, or "".
func (r *chaosRun) awaitComplete(limit time.Duration) string {
	complete := func() (bool, string) {
		for _, q := range r.queues {
			q.mu.Lock()
			missing := 0
			for seq := range r.n {
				if r.pubOK[seq] && seq%chaosPoisonEvery != chaosPoisonAt && q.handled[seq] == 0 {
					missing++
				}
			}
			q.mu.Unlock()
			if missing > 0 {
				return false, fmt.Sprintf("%s: %d events not handled yet", q.name, missing)
			}
			depth, err := queueDepth(context.Background(), r.watch.SQS, q.url)
			if err != nil {
				return false, err.Error()
			}
			if depth > 0 {
				return false, fmt.Sprintf("%s: %d messages left", q.name, depth)
			}
		}
		return true, ""
	}
	deadline := time.After(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	defer func() { r.processDone = time.Since(r.start) }()
	for {
		done, status := complete()
		if done {
			return ""
		}
		select {
		case <-tick.C:
		case <-deadline:
			return status
		}
	}
}

// stop ends the churn, the subscribers, the publisher and the sampling.
func (r *chaosRun) stop() {
	close(r.stopChurn)
	r.churners.Wait()
	for _, c := range r.subs {
		c.shutdownAll()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(r.t, r.pub.Shutdown(shutdownCtx))
	close(r.stopSampling)
	<-r.sampled
}

// verifyDelivered checks that every published good event was handled and
// every published poison event is in its queue's DLQ, and counts duplicates.
func (r *chaosRun) verifyDelivered() {
	t, ctx := r.t, context.Background()
	r.handledCounts = make([]int, len(r.queues))
	for i, q := range r.queues {
		for seq := range r.n {
			if seq%chaosPoisonEvery == chaosPoisonAt {
				continue
			}
			c := q.handled[seq]
			if c > 0 {
				r.handledCounts[i]++
				r.duplicates += c - 1
			} else if r.pubOK[seq] {
				r.lost++
				t.Errorf("%s: event %d was published but never handled", q.name, seq)
			}
		}
		// The DLQ is read from the emulator's store, in flight or not: a
		// drain by ReceiveMessage came back short twice (nine poison events
		// in the DLQ, in flight with ReceiveCount 1, missing from what the
		// drain returned), which is a fault of the reading path, not of
		// where the events ended; the drain's count is logged when it
		// differs, to keep that visible.
		inDLQ := map[int]bool{}
		stored := dlqBodies(r.srv, q.dlqURL)
		if drained := drainQueue(ctx, t, r.watch.SQS, q.dlqURL); len(drained) != len(stored) {
			t.Logf("chaos: %s: a drain of its DLQ by ReceiveMessage returned %d messages, the DLQ holds %d", q.name, len(drained), len(stored))
		}
		for _, body := range stored {
			ev, err := chaosSeqOf(body)
			require.NoError(t, err, "%s DLQ: undecodable body %q", q.name, body)
			if !assert.True(t, ev.Poison, "%s DLQ holds good event %d", q.name, ev.Seq) {
				t.Logf("chaos: %s: handler calls of event %d: %q", q.name, ev.Seq, q.callsOf(ev.Seq))
				chaosLocate(t, r.srv, ev.Seq)
			}
			inDLQ[ev.Seq] = true
			r.dlqTotal++
		}
		for seq := chaosPoisonAt; seq < r.n; seq += chaosPoisonEvery {
			if r.pubOK[seq] && !inDLQ[seq] {
				r.lost++
				t.Errorf("%s: poison event %d was published but is not in the DLQ", q.name, seq)
				chaosLocate(t, r.srv, seq)
			}
		}
		depth, err := queueDepth(ctx, r.watch.SQS, q.url)
		require.NoError(t, err)
		assert.Zero(t, depth, "%s must be empty", q.name)
	}
}

// verifyPublishes checks that every Publish returned and that failures
// reached their callers as errors.
func (r *chaosRun) verifyPublishes() {
	t := r.t
	failCount := 0
	for seq := range r.n {
		if !r.pubOK[seq] {
			failCount++
			require.Error(t, r.pubErrs[seq])
		}
	}
	if r.injected["sns:PublishBatch/error:Throttled"]+r.injected["sns:Publish/error:Throttled"] > 0 {
		assert.Positive(t, failCount, "SNS Throttled is not retried by the SDK: it must reach Publish callers")
	}
	for _, c := range r.subs {
		assert.Empty(t, c.runErrs, "Run returned errors")
	}
}

// verifyResources checks that no goroutine is left and the heap stayed
// bounded.
func (r *chaosRun) verifyResources() {
	t := r.t
	r.srv.Close()
	r.clients.Close()
	r.watch.Close()
	leaked, dump := waitForGoroutines(r.baseline, 10*time.Second)
	r.leaked = leaked
	assert.Zero(t, leaked, "goroutines left behind:\n%s", dump)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	assert.Less(t, r.peakHeap.Load(), uint64(chaosHeapBound), "peak heap in use")
	assert.Less(t, ms.HeapInuse, uint64(chaosHeapBound/4), "heap in use after the run")
}

// report logs the run's figures.
func (r *chaosRun) report() {
	okCount, failCount := 0, 0
	failCodes := map[string]int{}
	for seq := range r.n {
		if r.pubOK[seq] {
			okCount++
			continue
		}
		failCount++
		failCodes[errorKind(r.pubErrs[seq])]++
	}
	var injectedTotal int64
	kinds := map[string]int64{}
	for k, v := range r.injected {
		injectedTotal += v
		kinds[k[len(opOf(k))+1:]] += v
	}
	qs, subs := r.queues, r.subs
	r.t.Logf("chaos: published=%d handled_q1=%d handled_q2=%d lost=%d duplicates=%d dlq=%d leaked_goroutines=%d "+
		"publish_failed=%d publish_failures=%v poison=%d injected_faults=%d %v deliveries=%d/%d handler_failures=%d panics=%d slow=%d "+
		"subscribers_replaced=%d background_errors=%d peak_heap_mib=%d requests=%d seed=%d race=%v publish_s=%.1f total_s=%.1f",
		okCount, r.handledCounts[0], r.handledCounts[1], r.lost, r.duplicates, r.dlqTotal, r.leaked,
		failCount, failCodes, (r.n+chaosPoisonEvery-1-chaosPoisonAt)/chaosPoisonEvery, injectedTotal, sortedCounts(kinds),
		qs[0].deliveries, qs[1].deliveries, qs[0].failed+qs[1].failed,
		qs[0].panicked+qs[1].panicked, qs[0].slow+qs[1].slow,
		subs[0].replaced+subs[1].replaced, r.bgErrors.Load(), r.peakHeap.Load()>>20, r.srv.TotalRequests(), r.seed, raceEnabled(),
		r.publishDone.Seconds(), r.processDone.Seconds())
}

// chaosExplainIncomplete logs, for each queue, the published good events
// not handled yet (up to 20): how often a handler saw them and where the
// emulator holds them now.
func chaosExplainIncomplete(t *testing.T, srv *snssqstest.Server, queues []*chaosQueue, n int, pubOK []bool) {
	t.Helper()
	for _, q := range queues {
		q.mu.Lock()
		var missing []int
		for seq := range n {
			if pubOK[seq] && seq%chaosPoisonEvery != chaosPoisonAt && q.handled[seq] == 0 {
				missing = append(missing, seq)
			}
		}
		q.mu.Unlock()
		for i, seq := range missing {
			if i == 20 {
				t.Logf("chaos: %s: %d more events not handled", q.name, len(missing)-i)
				break
			}
			t.Logf("chaos: %s: event %d not handled; handler calls: %q", q.name, seq, q.callsOf(seq))
			chaosLocate(t, srv, seq)
		}
	}
}

// chaosLocate logs every queue holding a message of event seq, to tell a
// lost event from a misplaced one when the test fails.
func chaosLocate(t *testing.T, srv *snssqstest.Server, seq int) {
	t.Helper()
	found := false
	for _, name := range srv.Queues() {
		for _, m := range srv.Messages(name) {
			if ev, err := chaosSeqOf(m.Body); err == nil && ev.Seq == seq {
				t.Logf("chaos: event %d is in %s: %+v", seq, name, m)
				found = true
			}
		}
	}
	if !found {
		t.Logf("chaos: event %d is in no queue", seq)
	}
}

// errorKind names the cause of a failed call for the summary.
func errorKind(err error) string {
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode()
	case retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary:
		return "connection"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "other"
}

func opOf(key string) string {
	for i := range key {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

func sortedCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}
