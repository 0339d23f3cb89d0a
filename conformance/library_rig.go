package conformance

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
)

// libraryScenarios are the scenarios of the snssqs library itself: the
// Publisher, Subscriber and Provision driven end to end through the Env's
// SDK clients, so they are proven against every target the suite runs on.
func libraryScenarios() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{
		libraryPubSubScenarios(),
		libraryRetryScenarios(),
		libraryFIFOScenarios(),
		libraryQueueScenarios(),
		libraryShutdownScenarios(),
		libraryProvisionScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}

// libraryWait bounds every wait of a library scenario for deliveries: long
// enough for moto's seconds-per-operation slowness, short enough to fail
// fast when something is lost.
const libraryWait = 30 * time.Second

// librarySource is the CloudEvents source of every event the library
// scenarios publish.
const librarySource = "snssqs-conformance"

// LibraryLogger returns a logrus logger at Warn level that writes to t.Log
// until the test ends (later lines, from goroutines outliving the test by
// mistake, are dropped instead of panicking the test binary).
func LibraryLogger(t *testing.T) logrus.FieldLogger {
	t.Helper()
	w := &testLogWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs after every other cleanup
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(logrus.WarnLevel)
	return l
}

// testLogWriter is an io.Writer onto t.Log that can be closed.
type testLogWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLogWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// Provision runs snssqs.Provision for spec with the Env's clients, fails the
// test on error, and deletes what it created (subscriptions, queues,
// dead-letter queues, topic) when the test ends.
func (e *Env) Provision(t *testing.T, spec provision.TopologySpec) *provision.Topology {
	t.Helper()
	topo, err := provision.Apply(e.Context(t), e.SNS, e.SQS, spec)
	require.NoError(t, err, "Provision %s", spec.TopicName)
	require.NotNil(t, topo)
	require.Len(t, topo.Queues, len(spec.Queues), "Provision returns every queue of the spec")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, q := range topo.Queues {
			if q.SubscriptionARN != "" {
				_, _ = e.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(q.SubscriptionARN)})
			}
			for _, url := range []string{q.URL, q.DeadLetterURL} {
				if url != "" {
					_, _ = e.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
				}
			}
		}
		_, _ = e.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topo.TopicARN)})
	})
	return topo
}

// NewLibraryPublisher returns a Publisher on the Env's SNS client with the
// test's logger and librarySource, closed when the test ends.
func (e *Env) NewLibraryPublisher(t *testing.T, optFns ...func(*snssqs.PublisherOptions)) *snssqs.Publisher {
	t.Helper()
	p, err := snssqs.NewPublisher(e.SNS, libraryPublisherOptions(t, optFns)...)
	require.NoError(t, err, "NewPublisher")
	t.Cleanup(func() { assert.NoError(t, p.Close(), "Publisher.Close") })
	return p
}

// libraryPublisherOptions are the test's logger and the library source,
// then optFns.
func libraryPublisherOptions(t *testing.T, optFns []func(*snssqs.PublisherOptions)) []func(*snssqs.PublisherOptions) {
	log := LibraryLogger(t)
	return append([]func(*snssqs.PublisherOptions){func(o *snssqs.PublisherOptions) {
		o.Logger = log
		o.Source = librarySource
	}}, optFns...)
}

// LibrarySubscriber is a running snssqs.Subscriber whose Run is watched by
// the test.
type LibrarySubscriber struct {
	*snssqs.Subscriber
	t    *testing.T
	done chan error
	once sync.Once
}

// librarySubscriberDefaults are the options every scenario's subscriber
// starts from: the test's logger and 1 s long polls, so a shutdown (which
// waits for the long polls in progress) takes about a second.
func librarySubscriberDefaults(log logrus.FieldLogger) func(*snssqs.SubscriberOptions) {
	return func(o *snssqs.SubscriberOptions) {
		o.Logger = log
		o.WaitTime = time.Second
		o.DrainTimeout = libraryWait
	}
}

// StartSubscriber builds a Subscriber on the Env's SQS client, lets
// register add its handlers, runs it and stops it gracefully when the test
// ends (or earlier, with Stop).
func (e *Env) StartSubscriber(t *testing.T, register func(*snssqs.Subscriber), optFns ...func(*snssqs.SubscriberOptions)) *LibrarySubscriber {
	t.Helper()
	return e.StartSubscriberWith(t, e.SQS, register, optFns...)
}

// StartSubscriberWith is StartSubscriber on client, for scenarios that
// observe the subscriber's SQS calls through a wrapper around Env.SQS.
func (e *Env) StartSubscriberWith(t *testing.T, client snssqs.SQSConsumeAPI, register func(*snssqs.Subscriber), optFns ...func(*snssqs.SubscriberOptions)) *LibrarySubscriber {
	t.Helper()
	fns := append([]func(*snssqs.SubscriberOptions){librarySubscriberDefaults(LibraryLogger(t))}, optFns...)
	s, err := snssqs.NewSubscriber(client, fns...)
	require.NoError(t, err, "NewSubscriber")
	register(s)
	ls := &LibrarySubscriber{Subscriber: s, t: t, done: make(chan error, 1)}
	go func() { ls.done <- s.Run(context.Background()) }()
	t.Cleanup(ls.Stop)
	return ls
}

// Stop shuts the subscriber down gracefully (running handlers finish,
// pending deletes are flushed) and waits for Run to return; it asserts that
// both report no error. Later calls do nothing.
func (s *LibrarySubscriber) Stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), libraryWait)
		defer cancel()
		assert.NoError(s.t, s.Shutdown(ctx), "Subscriber.Shutdown")
		select {
		case err := <-s.done:
			assert.NoError(s.t, err, "Subscriber.Run")
		case <-ctx.Done():
			assert.Fail(s.t, "Subscriber.Run did not return after Shutdown")
		}
	})
}

// StopAll stops subs concurrently, so that their last long polls end
// together.
func StopAll(subs ...*LibrarySubscriber) {
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
}

// Handled is one handler invocation as a scenario records it.
type Handled struct {
	// Handler names the handler that ran.
	Handler string
	// Msg is a copy of the message the handler got.
	Msg snssqs.Message
	// Event is the decoded event, for HandleFunc handlers.
	Event any
	// At is when the handler started.
	At time.Time
}

// Recorder collects handler invocations from any goroutine and lets the
// scenario wait, without sleeping, until they satisfy a condition.
type Recorder struct {
	mu   sync.Mutex
	got  []Handled
	poke chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{poke: make(chan struct{}, 1)} }

// Add records h.
func (r *Recorder) Add(h Handled) {
	r.mu.Lock()
	r.got = append(r.got, h)
	r.mu.Unlock()
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// Record records that handler started on m (with its decoded event, if any).
func (r *Recorder) Record(handler string, m *snssqs.Message, event any) {
	r.Add(Handled{Handler: handler, Msg: *m, Event: event, At: time.Now()})
}

// All returns a copy of everything recorded so far.
func (r *Recorder) All() []Handled {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Handled(nil), r.got...)
}

// Len returns how many invocations were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// Await waits up to libraryWait (and the scenario's context) until cond
// holds for the invocations recorded, and returns them; it fails the test
// with what when it never does.
func (r *Recorder) Await(ctx context.Context, t *testing.T, what string, cond func([]Handled) bool) []Handled {
	t.Helper()
	timer := time.NewTimer(libraryWait)
	defer timer.Stop()
	for {
		got := r.All()
		if cond(got) {
			return got
		}
		select {
		case <-r.poke:
		case <-timer.C:
			require.FailNow(t, "timed out after "+libraryWait.String(), "%s: %d invocation(s) recorded", what, len(got))
		case <-ctx.Done():
			require.FailNow(t, "scenario context ended", "%s: %d invocation(s) recorded", what, len(got))
		}
	}
}

// AwaitN waits until at least n invocations are recorded.
func (r *Recorder) AwaitN(ctx context.Context, t *testing.T, what string, n int) []Handled {
	t.Helper()
	return r.Await(ctx, t, what, func(h []Handled) bool { return len(h) >= n })
}

// QueueDrained asserts that the queue at url eventually holds no message,
// visible or in flight: every message received was deleted.
func (e *Env) QueueDrained(t *testing.T, url string) {
	t.Helper()
	e.Eventually(t, "queue "+url+" holds no visible or in-flight message", func() bool {
		a := e.QueueAttributes(t, url,
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed)
		return a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)] == "0" &&
			a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0" &&
			a[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed)] == "0"
	})
}
