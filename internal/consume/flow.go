package consume

import (
	"math"
	"sync"
	"time"
)

// flow is the back-pressure and flow control of one engine: it decides when
// a receive may be made, how many messages it may ask for, and how many
// receives may run at once.
//
// A message is busy from its arrival until finish; places are reserved for
// the messages a receive in progress may bring. A receive is made only while
// a worker is free (fewer busy messages than workers), while fewer receives
// than the current target run, and for at most the batch size and the places
// left under workers+window busy or reserved messages.
//
// The target number of receives adapts (Little's law: messages in flight ≈
// throughput × round trip). It grows by one when a receive comes back full
// while a worker is idle — the workers starve for messages the queue has —
// as long as it stays within what twice the measured handling rate needs at
// the measured round trip; it shrinks by one after an empty receive, and
// after a full one while it is above that need (a burst into an idle engine
// ramps up before the rate is measured, then settles). The
// prefetch window follows it: as many places as the target receives can fill,
// within the Prefetch bound. Measurements use the time passed to received, so
// they shape throughput only, never correctness.
type flow struct {
	workers  int // Concurrency
	prefetch int // bound of the window
	batch    int // MaxMessages
	maxRecv  int // bound of the receives target

	mu        sync.Mutex
	busy      int
	reserved  int
	receiving int // receives in progress
	receivers int // target: how many receives may run at once
	stopped   bool
	waiters   int
	changed   chan struct{} // closed and replaced when a waiter may go on

	// rtt is the least round trip of a full receive over the current and
	// the previous rttWindow (as BBR takes the path's min RTT): a moving
	// average would take in the queueing a CPU-bound client and server add
	// when more receives run, and so ask for more receives still.
	rtt, rttPrev time.Duration
	rttStart     time.Time
	rate         float64 // moving average of messages finished per second
	finished     int     // messages finished since sampleStart
	sampleStart  time.Time
}

// maxFillPause bounds the pause after a receive that came back short: a
// queue that fills a batch within it is fast enough for the pause to cost
// less latency than the extra receives would cost requests and CPU.
const maxFillPause = 5 * time.Millisecond

// rttWindow is how long a least round trip is remembered.
const rttWindow = 10 * time.Second

// rateSample is the shortest interval over which the handling rate is
// measured.
const rateSample = 100 * time.Millisecond

func newFlow(workers, prefetch, batch, maxReceivers int) *flow {
	return &flow{
		workers: workers, prefetch: prefetch, batch: batch, maxRecv: max(1, maxReceivers),
		receivers: 1, changed: make(chan struct{}),
	}
}

// windowLocked is the current prefetch window: the places the target
// receives can fill, within the Prefetch bound.
func (f *flow) windowLocked() int { return min(f.prefetch, f.receivers*f.batch) }

// freeLocked is the number of messages a receive may ask for now.
func (f *flow) freeLocked() int {
	return min(f.batch, f.workers+f.windowLocked()-f.busy-f.reserved)
}

// mayReceiveLocked reports whether a receive may be made now: the engine has
// not stopped, fewer receives than the target run, a worker is free and there
// are places left, and either they make a full batch, or no message is busy
// (so none will free more places), or gathering is over.
func (f *flow) mayReceiveLocked(late bool) bool {
	if f.stopped || f.receiving >= f.receivers || f.busy >= f.workers {
		return false
	}
	free := f.freeLocked()
	return free > 0 && (late || free == f.batch || f.busy == 0)
}

// reserve waits until a receive may be made and reserves places for it; it
// returns their number, or 0 once the flow is stopped or abort is closed.
// When fewer than a batch of places are free while messages are busy, it
// waits up to gather for more to free up, so that a loaded queue is received
// from in full batches rather than one message per request.
func (f *flow) reserve(abort <-chan struct{}, gather time.Duration) int {
	var (
		timer   *time.Timer
		expired <-chan time.Time
		late    bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		f.mu.Lock()
		if f.stopped {
			f.mu.Unlock()
			return 0
		}
		if f.mayReceiveLocked(late) {
			free := f.freeLocked()
			f.reserved += free
			f.receiving++
			f.mu.Unlock()
			return free
		}
		if timer == nil && f.mayReceiveLocked(true) { // gather for a fuller batch
			timer = time.NewTimer(gather)
			expired = timer.C
		}
		f.waiters++
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-abort:
			f.mu.Lock()
			f.waiters--
			f.mu.Unlock()
			return 0
		case <-ch:
		case <-expired:
			late, expired = true, nil
		}
		f.mu.Lock()
		f.waiters--
		f.mu.Unlock()
	}
}

// received ends a receive that reserved n places and got messages, taking
// rtt at time now, and adapts the receives target. It returns the pause the
// receiver makes before its next receive (fillPauseLocked).
func (f *flow) received(n, got int, rtt time.Duration, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	gathering, waiting := f.mayReceiveLocked(false), f.mayReceiveLocked(true)
	starving := f.busy < f.workers
	f.reserved -= n
	f.receiving--
	f.busy += got
	f.sampleLocked(now)
	switch {
	case got == 0:
		f.receivers = max(1, f.receivers-1)
	case got == n && n == f.batch:
		f.sampleRTTLocked(rtt, now)
		switch needed := f.neededLocked(); {
		case f.receivers > needed: // ramped up past what the measured rate needs
			f.receivers--
		case starving && f.receivers < f.maxRecv && f.receivers < needed:
			f.receivers++
		}
	}
	f.signalLocked(gathering, waiting)
	return f.fillPauseLocked(n, got)
}

// fillPauseLocked is how long a receiver waits after a receive of n that brought
// got messages, 0 < got < n, before it receives again: the time the measured
// rate takes to bring the messages missing from a full batch, when that is
// at most maxFillPause, and none otherwise. A fast stream that the consumer
// keeps up with is then received from in full batches (requests per message
// stay at the floor); a slow one is received from at once.
func (f *flow) fillPauseLocked(n, got int) time.Duration {
	if got == 0 || got >= n || f.rate <= 0 {
		return 0
	}
	d := time.Duration(float64(n-got) / f.rate * float64(time.Second))
	if d > maxFillPause {
		return 0
	}
	return d
}

// failed ends a receive that reserved n places and failed.
func (f *flow) failed(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gathering, waiting := f.mayReceiveLocked(false), f.mayReceiveLocked(true)
	f.reserved -= n
	f.receiving--
	f.signalLocked(gathering, waiting)
}

// neededLocked is how many receives keep twice the measured handling rate
// supplied at the measured round trip, plus one: the most the target grows to.
// Before the first rate sample there is no bound but maxRecv, so that a burst
// into an idle engine ramps up within a few round trips (each full receive
// while starving adds one receive: the target doubles every round trip).
func (f *flow) neededLocked() int {
	if f.rate == 0 {
		return f.maxRecv
	}
	inFlight := 2 * f.rate * f.minRTTLocked().Seconds() // messages on their way
	return int(math.Ceil(inFlight/float64(f.batch))) + 1
}

// sampleLocked updates the handling rate once rateSample has passed.
func (f *flow) sampleLocked(now time.Time) {
	if f.sampleStart.IsZero() {
		f.sampleStart = now
		return
	}
	elapsed := now.Sub(f.sampleStart)
	if elapsed < rateSample {
		return
	}
	inst := float64(f.finished) / elapsed.Seconds()
	if f.rate == 0 {
		f.rate = inst
	} else {
		f.rate = 0.7*f.rate + 0.3*inst
	}
	f.finished, f.sampleStart = 0, now
}

// sampleRTTLocked takes the round trip of a full receive.
func (f *flow) sampleRTTLocked(rtt time.Duration, now time.Time) {
	if f.rttStart.IsZero() || now.Sub(f.rttStart) >= rttWindow {
		f.rttPrev, f.rtt, f.rttStart = f.rtt, 0, now
	}
	if f.rtt == 0 || rtt < f.rtt {
		f.rtt = rtt
	}
}

// minRTTLocked is the least round trip of the current and previous window.
func (f *flow) minRTTLocked() time.Duration {
	if f.rttPrev > 0 && f.rttPrev < f.rtt {
		return f.rttPrev
	}
	return f.rtt
}

// done frees the places of k busy messages.
func (f *flow) done(k int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gathering, waiting := f.mayReceiveLocked(false), f.mayReceiveLocked(true)
	f.busy -= k
	f.finished += k
	f.signalLocked(gathering, waiting)
}

// stop makes every reserve return 0 from now on; no receive starts after it.
func (f *flow) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	close(f.changed)
	f.changed = make(chan struct{})
}

// state returns the busy messages, the receives target and the window.
func (f *flow) state() (busy, receivers, window int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.busy, f.receivers, f.windowLocked()
}

// signalLocked wakes the waiting receivers when a change let one of them
// receive: before tells whether a gathering and a late receiver could
// receive before the change. Changes that let none of them receive wake no
// one, so a loaded engine does not wake its receivers for every message
// handled.
func (f *flow) signalLocked(gatheringBefore, lateBefore bool) {
	if f.waiters == 0 {
		return
	}
	if (!gatheringBefore && f.mayReceiveLocked(false)) || (!lateBefore && f.mayReceiveLocked(true)) {
		close(f.changed)
		f.changed = make(chan struct{})
	}
}
