package snssqs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

// pubWaitUntil waits, in a synctest bubble, until every goroutine is
// blocked (those inside Publish among them) and fails t unless cond holds
// then.
func pubWaitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("not true once everything settled: %s", what)
	}
}

type publishOutcome struct {
	id  string
	err error
}

// publishAsync publishes in a goroutine; the outcome arrives on the channel.
func publishAsync(ctx context.Context, p *snssqs.Publisher, topic, envID string, opts ...snssqs.PublishOption) <-chan publishOutcome {
	ch := make(chan publishOutcome, 1)
	go func() {
		id, err := p.Publish(ctx, topic, "t", map[string]string{"ev": envID}, append(opts, snssqs.WithEventID(envID))...)
		ch <- publishOutcome{id, err}
	}()
	return ch
}

func entryIDs(c fakeCall) []string {
	ids := make([]string, len(c.entries))
	for i, e := range c.entries {
		ids[i] = e.envID
	}
	return ids
}

// heldPublisher returns a publisher over f whose requests are held until
// released through the returned channel, with at most maxInFlight requests
// in flight per topic.
func heldPublisher(t *testing.T, f *fakeSNS, maxInFlight int) (*snssqs.Publisher, <-chan heldCall) {
	t.Helper()
	held := holdCalls(f)
	return newTestPublisher(t, f, func(o *snssqs.PublisherOptions) { o.MaxInFlightBatches = maxInFlight }), held
}

// lingeringPublisher returns a publisher over f that lingers for linger
// before sending a partial batch.
func lingeringPublisher(t *testing.T, f *fakeSNS, linger time.Duration) *snssqs.Publisher {
	t.Helper()
	return newTestPublisher(t, f, func(o *snssqs.PublisherOptions) { o.Linger = linger })
}

// publishMany publishes events ev-0 … ev-(n-1) to pubTopic, each from its
// own goroutine.
func publishMany(ctx context.Context, p *snssqs.Publisher, n int) []<-chan publishOutcome {
	outcomes := make([]<-chan publishOutcome, n)
	for i := range outcomes {
		outcomes[i] = publishAsync(ctx, p, pubTopic, fmt.Sprintf("ev-%d", i))
	}
	return outcomes
}

// waitQueued waits until n messages wait in pubTopic's queue.
func waitQueued(t *testing.T, p *snssqs.Publisher, n int) {
	t.Helper()
	pubWaitUntil(t, fmt.Sprintf("%d messages are queued", n), func() bool { return p.Stats().Queued == n })
}

// queueBehindFirst publishes "first" and holds its request, then queues n
// more messages (ev-0 …) behind it and waits until they all wait in
// pubTopic's queue. It returns the outcomes and the held request of "first".
func queueBehindFirst(t *testing.T, p *snssqs.Publisher, held <-chan heldCall, n int) (<-chan publishOutcome, heldCall, []<-chan publishOutcome) {
	t.Helper()
	first := publishAsync(context.Background(), p, pubTopic, "first")
	h := <-held
	assert.Equal(t, []string{"first"}, entryIDs(h.call))
	outcomes := publishMany(context.Background(), p, n)
	waitQueued(t, p, n)
	return first, h, outcomes
}

// requireMessageIDs requires every outcome of publishMany to succeed with
// its own message id.
func requireMessageIDs(t *testing.T, outcomes []<-chan publishOutcome) {
	t.Helper()
	for i, ch := range outcomes {
		r := <-ch
		require.NoError(t, r.err)
		assert.Equal(t, fmt.Sprintf("mid-ev-%d", i), r.id, "each caller gets its own message id")
	}
}

func TestBatcherLonePublishIsSentAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := newTestPublisher(t, f)
		start := time.Now()
		id, err := p.Publish(context.Background(), pubTopic, "t", 1, snssqs.WithEventID("ev-0"))
		require.NoError(t, err)
		assert.Zero(t, time.Since(start), "no wait without Linger")
		assert.Equal(t, "mid-ev-0", id)
		calls := f.snapshot()
		require.Len(t, calls, 1)
		assert.False(t, calls[0].batch, "one message uses Publish")
	})
}

func TestBatcherCoalescesWhileRequestInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		first, h, outcomes := queueBehindFirst(t, p, held, 25)

		h.release <- nil
		var sizes []int
		for sent := 0; sent < 25; {
			h := <-held
			assert.True(t, h.call.batch)
			sizes = append(sizes, len(h.call.entries))
			sent += len(h.call.entries)
			h.release <- nil
		}
		assert.Equal(t, []int{10, 10, 5}, sizes, "the queue is drained in batches of 10, one request at a time")

		r := <-first
		require.NoError(t, r.err)
		assert.Equal(t, "mid-first", r.id)
		requireMessageIDs(t, outcomes)
		assert.Len(t, f.snapshot(), 4)
		assert.ElementsMatch(t, append(expectedEventIDs(25), "first"), f.sentEnvelopeIDs())
	})
}

func TestBatcherGathersWhileRequestInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 3)

		first := publishAsync(context.Background(), p, pubTopic, "ev-0")
		h0 := <-held
		assert.Equal(t, []string{"ev-0"}, entryIDs(h0.call), "an idle topic sends at once")

		var outcomes []<-chan publishOutcome
		var want []string
		for i := 1; i <= 9; i++ {
			outcomes = append(outcomes, publishAsync(context.Background(), p, pubTopic, fmt.Sprintf("ev-%d", i)))
			want = append(want, fmt.Sprintf("ev-%d", i))
		}
		pubWaitUntil(t, "partial batches gather while a request is in flight", func() bool { return p.Stats().Queued == 9 })
		select {
		case h := <-held:
			t.Fatalf("a partial batch was sent beside an in-flight request: %v", entryIDs(h.call))
		default:
		}

		outcomes = append(outcomes, publishAsync(context.Background(), p, pubTopic, "ev-10"))
		want = append(want, "ev-10")
		h1 := <-held
		assert.ElementsMatch(t, want, entryIDs(h1.call), "a full batch goes out beside the in-flight request")

		last := publishAsync(context.Background(), p, pubTopic, "ev-11")
		pubWaitUntil(t, "the next message gathers", func() bool { return p.Stats().Queued == 1 })
		h0.release <- nil
		require.NoError(t, (<-first).err)
		select {
		case h := <-held:
			t.Fatalf("a partial batch was sent while a request is still in flight: %v", entryIDs(h.call))
		default:
		}
		h1.release <- nil
		h2 := <-held
		assert.Equal(t, []string{"ev-11"}, entryIDs(h2.call), "what gathered goes out when the topic is idle again")
		h2.release <- nil
		for _, ch := range append(outcomes, last) {
			require.NoError(t, (<-ch).err)
		}
	})
}

func TestBatcherSeparateTopicsDoNotShareRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		other := "arn:aws:sns:eu-west-1:123456789012:other"
		a := publishAsync(context.Background(), p, pubTopic, "a")
		ha := <-held
		b := publishAsync(context.Background(), p, other, "b")
		hb := <-held // another topic has its own slots
		assert.Equal(t, other, hb.call.topic)
		ha.release <- nil
		hb.release <- nil
		require.NoError(t, (<-a).err)
		require.NoError(t, (<-b).err)
	})
}

func TestBatcherRoutesEntryFailureToItsCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{failEntry: func(envID string) *types.BatchResultErrorEntry {
			if envID == "ev-2" {
				return &types.BatchResultErrorEntry{Code: aws.String("KMSThrottling"), Message: aws.String("slow down")}
			}
			return nil
		}}
		p, held := heldPublisher(t, f, 1)
		first, h, outcomes := queueBehindFirst(t, p, held, 5)
		h.release <- nil
		h = <-held
		require.Len(t, h.call.entries, 5)
		h.release <- nil

		require.NoError(t, (<-first).err)
		for i, ch := range outcomes {
			r := <-ch
			if i != 2 {
				require.NoError(t, r.err, "entry %d", i)
				assert.Equal(t, fmt.Sprintf("mid-ev-%d", i), r.id)
				continue
			}
			require.Error(t, r.err)
			assert.Empty(t, r.id)
			var apiErr smithy.APIError
			require.ErrorAs(t, r.err, &apiErr)
			assert.Equal(t, "KMSThrottling", apiErr.ErrorCode())
			assert.Equal(t, "slow down", apiErr.ErrorMessage())
			assert.Equal(t, smithy.FaultServer, apiErr.ErrorFault())
		}
	})
}

func TestBatcherRequestFailureGoesToEveryCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		first, h, outcomes := queueBehindFirst(t, p, held, 3)
		h.release <- nil
		h = <-held
		require.Len(t, h.call.entries, 3)
		h.release <- &types.ThrottledException{Message: aws.String("rate exceeded")}

		require.NoError(t, (<-first).err)
		for _, ch := range outcomes {
			r := <-ch
			var te *types.ThrottledException
			require.ErrorAs(t, r.err, &te)
			assert.Empty(t, r.id)
		}
	})
}

func TestBatcherCancelBeforeSendDropsTheMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		first := publishAsync(context.Background(), p, pubTopic, "first")
		h := <-held

		ctx, cancel := context.WithCancel(context.Background())
		canceled := publishAsync(ctx, p, pubTopic, "canceled")
		kept := publishAsync(context.Background(), p, pubTopic, "kept")
		waitQueued(t, p, 2)
		cancel()
		r := <-canceled // returns while the first request is still held
		require.ErrorIs(t, r.err, context.Canceled)
		assert.Contains(t, r.err.Error(), "before the message was sent")
		assert.Equal(t, 1, p.Stats().Queued, "the canceled message left the queue")

		h.release <- nil
		h = <-held
		assert.Equal(t, []string{"kept"}, entryIDs(h.call))
		h.release <- nil
		require.NoError(t, (<-first).err)
		require.NoError(t, (<-kept).err)
		assert.NotContains(t, f.sentEnvelopeIDs(), "canceled", "a message canceled before sending is never sent")
	})
}

func TestBatcherCancelAfterSendReturnsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		first := publishAsync(context.Background(), p, pubTopic, "first")
		h := <-held

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a := publishAsync(ctx, p, pubTopic, "a") // first in the batch, whose context values the request carries
		pubWaitUntil(t, "a is queued", func() bool { return p.Stats().Queued == 1 })
		b := publishAsync(context.Background(), p, pubTopic, "b")
		pubWaitUntil(t, "b is queued", func() bool { return p.Stats().Queued == 2 })
		h.release <- nil
		batch := <-held
		require.Len(t, batch.call.entries, 2)

		cancel()
		r := <-a // while the batch request is still held
		require.ErrorIs(t, r.err, context.Canceled)
		assert.Contains(t, r.err.Error(), "may still be published")
		assert.NoError(t, batch.ctx.Err(), "a request shared with other callers is not canceled by one of them")

		batch.release <- nil
		require.NoError(t, (<-first).err)
		rb := <-b
		require.NoError(t, rb.err)
		assert.Equal(t, "mid-b", rb.id)
	})
}

func TestBatcherSingleRequestFollowsCallerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		held := holdCalls(f)
		p := newTestPublisher(t, f)
		ctx, cancel := context.WithCancel(context.Background())
		out := publishAsync(ctx, p, pubTopic, "only")
		h := <-held
		cancel()
		<-h.ctx.Done() // the request of a lone caller is canceled with its context
		require.ErrorIs(t, (<-out).err, context.Canceled)
	})
}

func TestBatcherLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := lingeringPublisher(t, f, 10*time.Millisecond)
		start := time.Now()
		a := publishAsync(context.Background(), p, pubTopic, "a")
		b := publishAsync(context.Background(), p, pubTopic, "b")
		waitQueued(t, p, 2)
		assert.Empty(t, f.snapshot(), "nothing is sent before Linger passes")

		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 2, p.Stats().Queued, "still lingering")
		require.NoError(t, (<-a).err)
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "sent when Linger passed")
		require.NoError(t, (<-b).err)
		calls := f.snapshot()
		require.Len(t, calls, 1)
		assert.ElementsMatch(t, []string{"a", "b"}, entryIDs(calls[0]), "lingering coalesced both")
	})
}

func TestBatcherLingerSendsFullBatchAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := lingeringPublisher(t, f, time.Hour)
		start := time.Now()
		outcomes := publishMany(context.Background(), p, 10)
		requireMessageIDs(t, outcomes)
		assert.Zero(t, time.Since(start), "10 messages make a full batch, sent at once")
		calls := f.snapshot()
		require.Len(t, calls, 1)
		assert.Len(t, calls[0].entries, 10)
	})
}

func TestBatcherFIFOKeepsGroupOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		active := map[string]bool{}
		var overlaps []string
		f := &fakeSNS{}
		f.hook = func(_ context.Context, c fakeCall) error {
			groups := map[string]bool{}
			for _, e := range c.entries {
				groups[aws.ToString(e.groupID)] = true
			}
			mu.Lock()
			for g := range groups {
				if active[g] {
					overlaps = append(overlaps, g)
				}
				active[g] = true
			}
			mu.Unlock()
			time.Sleep(time.Millisecond) // a round trip: other requests start meanwhile
			mu.Lock()
			for g := range groups {
				delete(active, g)
			}
			mu.Unlock()
			return nil
		}
		p := newTestPublisher(t, f, func(o *snssqs.PublisherOptions) { o.MaxInFlightBatches = 4 })

		// Three groups interleaved in one batch call, plus concurrent callers
		// publishing to a fourth group one message at a time.
		var entries []snssqs.Entry
		for i := 0; i < 60; i++ {
			g := []string{"a", "b", "c"}[(i*i+i/7)%3]
			entries = append(entries, snssqs.Entry{EventType: "t", Event: i, Options: []snssqs.PublishOption{
				snssqs.WithGroupID(g), snssqs.WithEventID(fmt.Sprintf("%s-%03d", g, i)),
			}})
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				_, err := p.Publish(context.Background(), pubFIFOTopic, "t", i, snssqs.WithGroupID("d"), snssqs.WithEventID(fmt.Sprintf("d-%03d", i)))
				assert.NoError(t, err)
			}
		}()
		results, err := p.PublishBatch(context.Background(), pubFIFOTopic, entries)
		require.NoError(t, err)
		wg.Wait()
		for _, r := range results {
			assert.NotEmpty(t, r.MessageID)
		}

		assert.Empty(t, overlaps, "a group is never in two requests at once")
		last := map[string]string{}
		n := 0
		for _, c := range f.snapshot() {
			for _, e := range c.entries {
				g := aws.ToString(e.groupID)
				require.True(t, strings.HasPrefix(e.envID, g+"-"))
				assert.Greater(t, e.envID, last[g], "group %s is sent in publish order", g)
				last[g] = e.envID
				n++
			}
		}
		assert.Equal(t, 90, n)
	})
}

func TestPublisherShutdownFlushesAndIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p := lingeringPublisher(t, f, time.Hour)
		outcomes := publishMany(context.Background(), p, 3)
		waitQueued(t, p, 3)

		start := time.Now()
		require.NoError(t, p.Shutdown(context.Background()), "flushes without waiting for Linger")
		assert.Zero(t, time.Since(start))
		requireMessageIDs(t, outcomes)
		calls := f.snapshot()
		require.Len(t, calls, 1)
		assert.Len(t, calls[0].entries, 3)

		require.NoError(t, p.Shutdown(context.Background()), "a second Shutdown is fine")
		require.NoError(t, p.Close(), "Close after Shutdown is fine")
		_, err := p.Publish(context.Background(), pubTopic, "t", 1)
		assert.ErrorIs(t, err, snssqs.ErrClosed)
		_, err = p.PublishBatch(context.Background(), pubTopic, batchEntries(2, "t"))
		assert.ErrorIs(t, err, snssqs.ErrClosed)
		assert.Len(t, f.snapshot(), 1, "nothing is sent after close")
	})
}

func TestPublisherShutdownWaitsForInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		a := publishAsync(context.Background(), p, pubTopic, "a")
		h := <-held
		b := publishAsync(context.Background(), p, pubTopic, "b")
		pubWaitUntil(t, "b is queued", func() bool { return p.Stats().Queued == 1 })

		done := make(chan error, 1)
		go func() { done <- p.Close() }()
		pubWaitUntil(t, "the publisher is closed", func() bool { return p.Stats().Closed })
		select {
		case <-done:
			t.Fatal("Close returned while a request was in flight")
		default:
		}
		h.release <- nil
		h = <-held // b is still sent after Close began
		assert.Equal(t, []string{"b"}, entryIDs(h.call))
		h.release <- nil
		require.NoError(t, <-done)
		require.NoError(t, (<-a).err)
		require.NoError(t, (<-b).err)
	})
}

func TestPublisherShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSNS{}
		p, held := heldPublisher(t, f, 1)
		inFlight := publishAsync(context.Background(), p, pubTopic, "in-flight")
		<-held // never released
		queued := publishAsync(context.Background(), p, pubTopic, "queued")
		pubWaitUntil(t, "a message is queued", func() bool { return p.Stats().Queued == 1 })

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := p.Shutdown(ctx)
		require.ErrorIs(t, err, context.Canceled, "Shutdown gives up when its context ends")

		r := <-queued
		require.ErrorIs(t, r.err, snssqs.ErrClosed, "queued messages are dropped")
		r = <-inFlight
		require.ErrorIs(t, r.err, context.Canceled, "in-flight requests are canceled")
		require.NoError(t, p.Close(), "all goroutines finish after the abort")
		assert.Equal(t, []string{"in-flight"}, f.sentEnvelopeIDs())
	})
}
