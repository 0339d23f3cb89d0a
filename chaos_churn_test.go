package snssqs_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// The churn variant of the chaos test: no faults, but each queue's
// subscriber is replaced every second, the way a rolling deployment replaces
// a service, while events keep coming (the replacement starts first, then
// the old one shuts down gracefully). The emulator answers after 1–5 ms, so
// that receives are in flight when a shutdown begins.
//
// It counts the receives that reached no handler — messages a ReceiveMessage
// returned to a subscriber minus its handler calls — and asserts that they
// are at most the messages in flight at each shutdown: those the subscriber
// held when Shutdown was called, plus those its receives brought back after
// that. It asserts as well that each of them was an explicit release
// (Stats().Released), so none was dropped silently, that nothing is lost and
// that no event reaches a dead-letter queue, and that no subscriber receives
// again, while it shuts down, a message it received before.
func TestChaosChurnBurnsOnlyWhatShutdownHeld(t *testing.T) {
	const (
		rate     = 400 // events per second
		every    = time.Second
		maxRecvs = 5
	)
	seconds := 6
	if testing.Short() {
		seconds = 2
	}
	n := rate * seconds
	baseline := runtime.NumGoroutine()
	srv, err := snssqstest.NewServer(snssqstest.WithLatency(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	defer srv.Close()
	clients := newEmulatorClients(srv, nil)
	defer clients.Close()
	ctx := context.Background()
	topo, err := provision.Apply(ctx, clients.SNS, clients.SQS, provision.TopologySpec{
		TopicName: "churn",
		Queues: []provision.QueueSpec{
			{Name: "churn-q1", DeadLetterQueue: true, MaxReceiveCount: maxRecvs},
			{Name: "churn-q2", DeadLetterQueue: true, MaxReceiveCount: maxRecvs, RawMessageDelivery: true},
		},
	})
	require.NoError(t, err)

	var churns []*churner
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, name := range []string{"churn-q1", "churn-q2"} {
		c := &churner{t: t, client: clients.SQS, url: topo.Queues[name].URL, events: n, handled: make(map[int]int), complete: make(chan struct{})}
		churns = append(churns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(stop, every)
		}()
	}

	pub, err := snssqs.NewPublisher(clients.SNS, func(o *snssqs.PublisherOptions) { o.Source = "churn" })
	require.NoError(t, err)
	tick := time.NewTicker(time.Second / rate)
	for seq := range n {
		<-tick.C
		_, err := pub.Publish(ctx, topo.TopicARN, chaosEventType, chaosEvent{Seq: seq})
		require.NoError(t, err)
	}
	tick.Stop()
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	require.NoError(t, pub.Shutdown(shutdownCtx))
	cancel()

	deadline := time.After(time.Minute) // the assertions below name what is missing
	for _, c := range churns {
		select {
		case <-c.complete:
		case <-deadline:
		}
	}
	close(stop)
	wg.Wait()

	var unhandled, bound, released, shutdowns int
	for _, c := range churns {
		c.mu.Lock()
		for seq := range n {
			assert.Positive(t, c.handled[seq], "%s: event %d was published but never handled", c.url, seq)
		}
		u := c.received - c.calls
		t.Logf("churn: %s: shutdowns=%d received=%d handler_calls=%d unhandled_receives=%d in_flight_at_shutdowns=%d released=%d",
			c.url, c.shutdowns, c.received, c.calls, u, c.bound, c.released)
		assert.Zero(t, c.again, "%s: a shutting-down subscriber received again a message it had received", c.url)
		unhandled += u
		bound += c.bound
		released += c.released
		shutdowns += c.shutdowns
		c.mu.Unlock()
	}
	assert.GreaterOrEqual(t, shutdowns, 2*(seconds-1), "each queue's subscriber was replaced every second")
	assert.LessOrEqual(t, unhandled, bound, "receives that reached no handler, against the messages in flight at each shutdown")
	assert.Equal(t, unhandled, released, "every receive that reached no handler was released, none dropped silently")
	for _, name := range []string{"churn-q1", "churn-q2"} {
		assert.Empty(t, dlqBodies(srv, topo.Queues[name].DeadLetterURL), "%s: no event reaches the DLQ", name)
		depth, err := queueDepth(ctx, clients.SQS, topo.Queues[name].URL)
		require.NoError(t, err)
		assert.Zero(t, depth, "%s is empty", name)
	}
	srv.Close()
	clients.Close()
	leaked, dump := waitForGoroutines(baseline, 10*time.Second)
	assert.Zero(t, leaked, "goroutines left behind:\n%s", dump)
}

// churner keeps one subscriber on a queue and replaces it every interval.
type churner struct {
	t        *testing.T
	client   *sqs.Client
	url      string
	events   int // published: complete closes once each was handled
	complete chan struct{}

	mu        sync.Mutex
	handled   map[int]int // seq -> successful handler returns
	calls     int         // handler calls
	received  int         // messages ReceiveMessage returned
	bound     int         // messages in flight at the shutdowns
	released  int         // Stats().Released of the replaced subscribers
	again     int         // messages a subscriber received again while shutting down
	shutdowns int
}

func (c *churner) run(stop <-chan struct{}, every time.Duration) {
	cur, err := c.start()
	if err != nil {
		c.t.Errorf("churn: %v", err)
		return
	}
	for {
		t := time.NewTimer(every)
		select {
		case <-stop:
			t.Stop()
			c.retire(cur)
			return
		case <-t.C:
		}
		next, err := c.start()
		if err != nil {
			c.t.Errorf("churn: %v", err)
			next = cur
		} else {
			c.retire(cur)
		}
		cur = next
	}
}

// churnSub is one subscriber and what its client counted.
type churnSub struct {
	s      *snssqs.Subscriber
	client *countingReceives
	done   chan struct{}
}

func (c *churner) start() (*churnSub, error) {
	cl := &countingReceives{SQSConsumeAPI: c.client}
	s, err := snssqs.NewSubscriber(cl, func(o *snssqs.SubscriberOptions) {
		o.WaitTime = time.Second
		o.Concurrency = 20
		o.DrainTimeout = 10 * time.Second
	})
	if err != nil {
		return nil, err
	}
	_, err = s.Handle(c.url, chaosEventType, func(ctx context.Context, m *snssqs.Message) error {
		var ev chaosEvent
		if err := m.Decode(&ev); err != nil {
			return err
		}
		c.mu.Lock()
		c.calls++
		c.mu.Unlock()
		time.Sleep(time.Duration(ev.Seq%5) * time.Millisecond) // simulated work
		c.mu.Lock()
		c.handled[ev.Seq]++
		if c.handled[ev.Seq] == 1 && len(c.handled) == c.events {
			close(c.complete)
		}
		c.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	cs := &churnSub{s: s, client: cl, done: make(chan struct{})}
	go func() {
		defer close(cs.done)
		if err := s.Run(context.Background()); err != nil {
			c.t.Errorf("churn: Run: %v", err)
		}
	}()
	return cs, nil
}

// retire shuts cs down gracefully and adds up what it counted.
func (c *churner) retire(cs *churnSub) {
	held := cs.s.Stats().InFlight
	cs.client.shutdown.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cs.s.Shutdown(ctx); err != nil {
		c.t.Errorf("churn: Shutdown: %v", err)
	}
	<-cs.done
	st := cs.s.Stats()
	received, late, again := cs.client.counts()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received += received
	c.again += again
	c.bound += held + late
	c.released += int(st.Released)
	c.shutdowns++
}

// countingReceives counts the messages ReceiveMessage returns, those it
// returns once shutdown is set, and how many of those it had returned before
// (a message the shutting-down subscriber released and received again).
type countingReceives struct {
	snssqs.SQSConsumeAPI
	shutdown atomic.Bool

	mu                    sync.Mutex
	received, late, again int
	seen                  map[string]bool
}

func (c *countingReceives) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := c.SQSConsumeAPI.ReceiveMessage(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	late := c.shutdown.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	for _, m := range out.Messages {
		id := aws.ToString(m.MessageId)
		c.received++
		if late {
			c.late++
			if c.seen[id] {
				c.again++
			}
		}
		c.seen[id] = true
	}
	return out, err
}

func (c *countingReceives) counts() (received, late, again int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received, c.late, c.again
}
