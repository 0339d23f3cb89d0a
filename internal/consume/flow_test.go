package consume

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// never is a gather time no test reaches: only signals end a wait.
const never = time.Hour

// startReserve runs reserve in a goroutine and, in a synctest bubble,
// waits until it waits.
func startReserve(t *testing.T, f *flow, abort <-chan struct{}, gather time.Duration) <-chan int {
	t.Helper()
	got := make(chan int, 1)
	go func() { got <- f.reserve(abort, gather) }()
	synctest.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Positive(t, f.waiters, "reserve waits")
	return got
}

// signaled reports whether waiting receivers were woken since ch was taken.
func signaled(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (f *flow) changedChan() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// fixedFlow returns a flow whose receives target is set to receivers.
func fixedFlow(workers, prefetch, batch, receivers int) *flow {
	f := newFlow(workers, prefetch, batch, receivers)
	f.receivers = receivers
	return f
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFlowWakesReceiversOnlyWhenTheyMayReceive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		abort := make(chan struct{})
		defer close(abort)
		f := fixedFlow(10, 10, 10, 2) // 10 workers, prefetch 10, batches of 10
		require.Equal(t, 10, f.reserve(abort, never))
		f.received(10, 5, 0, t0)
		require.Equal(t, 10, f.reserve(abort, never), "prefetch: a full batch while a worker is free")
		f.received(10, 10, 0, t0) // 15 busy: 10 handled, 5 waiting for a worker

		got := startReserve(t, f, abort, never)
		ch := f.changedChan()
		for range 5 {
			f.done(1)
			require.False(t, signaled(ch), "no wake-up while every worker stays busy")
		}
		f.done(1) // 9 busy: a worker is free and 10 places are
		assert.True(t, signaled(ch))
		assert.Equal(t, 10, <-got)
	})
}

func TestFlowGathersFullBatches(t *testing.T) {
	abort := make(chan struct{})
	defer close(abort)
	f := fixedFlow(10, 0, 10, 1) // strict: no prefetch
	require.Equal(t, 10, f.reserve(abort, never))
	f.received(10, 10, 0, t0)
	f.waiters = 1 // a receiver waits (set by hand: its wake-ups are what is checked)

	ch := f.changedChan()
	f.done(3)
	require.True(t, signaled(ch), "3 places and a free worker: a receiver wakes to start gathering")
	ch = f.changedChan()
	for range 6 {
		f.done(1)
		require.False(t, signaled(ch), "no wake-up for a batch that is not yet full")
	}
	f.done(1)
	require.True(t, signaled(ch), "no message busy: all 10 places are free")
	f.waiters = 0
	assert.Equal(t, 10, f.reserve(abort, never))
}

func TestFlowGatherEnds(t *testing.T) {
	abort := make(chan struct{})
	defer close(abort)
	f := fixedFlow(10, 0, 10, 1)
	require.Equal(t, 10, f.reserve(abort, never))
	f.received(10, 10, 0, t0)
	f.done(3)
	assert.Equal(t, 3, f.reserve(abort, time.Millisecond), "once the gather time is over, a receive asks for the places free")
}

func TestFlowReceiveOfFewerFreesPlaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		abort := make(chan struct{})
		defer close(abort)
		f := fixedFlow(10, 10, 10, 2)
		require.Equal(t, 10, f.reserve(abort, never))
		require.Equal(t, 10, f.reserve(abort, never))
		got := startReserve(t, f, abort, never)
		f.received(10, 0, 0, t0) // empty: the target shrinks to the one still running
		f.received(10, 0, 0, t0) // empty receives give their places back
		assert.Equal(t, 10, <-got)
	})
}

func TestFlowLimitsConcurrentReceivesToTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		abort := make(chan struct{})
		defer close(abort)
		f := fixedFlow(10, 100, 10, 2)
		require.Equal(t, 10, f.reserve(abort, never))
		require.Equal(t, 10, f.reserve(abort, never))
		got := startReserve(t, f, abort, never)
		f.received(10, 0, 0, t0) // empty: the target shrinks to 1, and one receive still runs
		select {
		case n := <-got:
			t.Fatalf("a third receive started (%d) beside the target's", n)
		default:
		}
		f.received(10, 0, 0, t0)
		assert.Equal(t, 10, <-got)
	})
}

func TestFlowStopEndsReservesAndStartsNoReceive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fixedFlow(1, 0, 10, 1)
		require.Equal(t, 1, f.reserve(nil, never))
		got := startReserve(t, f, nil, never)
		f.stop()
		assert.Equal(t, 0, <-got)
		f.received(1, 0, 0, t0)
		assert.Equal(t, 0, f.reserve(nil, never), "no receive after stop")
	})
}

// drive runs receives against a queue with a backlog: each takes rtt and
// comes back full, and the workers finish everything at once, so they starve
// for messages. The receives in flight overlap their round trips, and the
// client's CPU handles at most one message per perMsg; it returns the target
// reached.
func drive(f *flow, rtt, perMsg time.Duration, receives int) int {
	now := t0
	for range receives {
		n := f.reserve(nil, never)
		now = now.Add(max(rtt/time.Duration(max(1, f.receivers)), time.Duration(n)*perMsg))
		f.received(n, n, rtt, now)
		f.done(n)
	}
	_, receivers, _ := f.state()
	return receivers
}

func TestFlowGrowsReceivesWithRoundTrip(t *testing.T) {
	const perMsg = 200 * time.Microsecond // the client handles 5000 msg/s
	// On a 15 ms network a receive of 10 supplies ~670 msg/s; the workers
	// starve, so the target grows until twice the measured rate is supplied.
	far := drive(newFlow(10, 100, 10, 8), 15*time.Millisecond, perMsg, 4000)
	// On the loopback one receive supplies tens of thousands per second:
	// the target ramps up at first, then settles to what the CPU needs.
	near := drive(newFlow(10, 100, 10, 8), 100*time.Microsecond, perMsg, 4000)
	assert.Greater(t, far, 3, "a long round trip needs several receives in flight")
	assert.LessOrEqual(t, far, 8, "within the bound")
	assert.LessOrEqual(t, near, 2, "a short round trip needs few")
}

func TestFlowRampsUpABurstWithinRoundTrips(t *testing.T) {
	// Before any rate is measured, every full receive while the workers
	// starve adds one: the target doubles every round trip, so a burst into
	// an idle engine has 8 receives in flight after 3 round trips (45 ms on
	// a 15 ms network), not after several rate samples.
	f := newFlow(100, 100, 10, 8)
	abort := make(chan struct{})
	defer close(abort)
	for round, want := range []int{2, 4, 8} {
		_, inFlight, _ := f.state()
		ns := make([]int, inFlight)
		for i := range ns {
			ns[i] = f.reserve(abort, never)
		}
		for _, n := range ns {
			f.received(n, n, 15*time.Millisecond, t0.Add(time.Duration(round)*15*time.Millisecond))
		}
		_, receivers, _ := f.state()
		assert.Equal(t, want, receivers, "after round trip %d", round+1)
	}
}

func TestFlowWindowFollowsReceivesWithinPrefetch(t *testing.T) {
	f := fixedFlow(10, 25, 10, 4)
	_, _, window := f.state()
	assert.Equal(t, 25, window, "4 receives could fill 40 places, Prefetch bounds the window to 25")
	f = fixedFlow(10, 100, 10, 3)
	_, _, window = f.state()
	assert.Equal(t, 30, window)
}

func TestFlowShrinksOnEmptyReceives(t *testing.T) {
	f := fixedFlow(10, 100, 10, 5)
	for range 10 {
		n := f.reserve(nil, never)
		f.received(n, 0, time.Millisecond, t0)
	}
	_, receivers, _ := f.state()
	assert.Equal(t, 1, receivers, "an idle queue is polled by one receive")
}

func TestFlowBoundUsesLeastRoundTrip(t *testing.T) {
	// A CPU-bound client and server take longer per receive the more run at
	// once; the bound must not follow that queueing up.
	f := newFlow(10, 100, 10, 8)
	f.rate = 4000
	f.sampleRTTLocked(time.Millisecond, t0)
	f.sampleRTTLocked(12*time.Millisecond, t0.Add(time.Second))
	assert.Equal(t, time.Millisecond, f.minRTTLocked())
	assert.Equal(t, 2, f.neededLocked(), "ceil(2×4000×1ms/10)+1")

	// The least round trip is remembered for one more window, then a
	// network that became slower counts.
	f.sampleRTTLocked(15*time.Millisecond, t0.Add(rttWindow))
	assert.Equal(t, time.Millisecond, f.minRTTLocked())
	f.sampleRTTLocked(15*time.Millisecond, t0.Add(2*rttWindow))
	assert.Equal(t, 15*time.Millisecond, f.minRTTLocked())
	assert.Equal(t, 13, f.neededLocked(), "ceil(2×4000×15ms/10)+1")
}

func TestFlowFillPause(t *testing.T) {
	f := newFlow(10, 100, 10, 8)
	assert.Zero(t, f.fillPauseLocked(10, 5), "no rate measured yet")
	f.rate = 4000
	assert.Equal(t, 1250*time.Microsecond, f.fillPauseLocked(10, 5), "5 messages at 4000/s")
	assert.Zero(t, f.fillPauseLocked(10, 10), "a full receive")
	assert.Zero(t, f.fillPauseLocked(10, 0), "an empty receive pauses otherwise")
	f.rate = 100
	assert.Zero(t, f.fillPauseLocked(10, 5), "a slow stream is received from at once: 50 ms is past maxFillPause")
}
