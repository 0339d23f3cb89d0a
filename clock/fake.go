package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a Clock whose time only moves when Advance is called. It is safe
// for concurrent use. Timers fire (in deadline order) during Advance; their
// channels are buffered so Advance never blocks on a slow receiver.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created map[time.Duration]int // timers made by NewTimer, by duration
	changed chan struct{}         // closed and replaced whenever the set of timers changes
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, created: map[time.Duration]int{}, changed: make(chan struct{})}
}

var _ Clock = (*Fake)(nil)

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, ch: make(chan time.Time, 1)}
	f.created[d]++
	if d <= 0 {
		t.ch <- f.now
		f.notifyLocked()
		return t
	}
	t.deadline = f.now.Add(d)
	t.active = true
	f.timers = append(f.timers, t)
	f.notifyLocked()
	return t
}

// Advance moves the fake time forward by d, firing every timer whose deadline
// is reached, earliest first.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		sort.Slice(f.timers, func(i, j int) bool { return f.timers[i].deadline.Before(f.timers[j].deadline) })
		if len(f.timers) == 0 || f.timers[0].deadline.After(end) {
			break
		}
		t := f.timers[0]
		f.timers = f.timers[1:]
		f.now = t.deadline
		t.active = false
		select {
		case t.ch <- f.now:
		default:
		}
	}
	f.now = end
	f.notifyLocked()
}

// Waiters returns how many timers are currently pending.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// BlockUntil blocks until at least n timers are pending, or done is closed.
// It reports whether n timers were reached. Tests use it to know that the
// code under test is waiting before they call Advance.
func (f *Fake) BlockUntil(n int, done <-chan struct{}) bool {
	return f.await(func() bool { return len(f.timers) >= n }, done)
}

// Created returns how many timers of duration d NewTimer has made. Tests
// use it to tell one timer (an ack linger, a receive backoff) from another.
func (f *Fake) Created(d time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created[d]
}

// AwaitCreated blocks until NewTimer has made at least n timers of duration
// d, or done is closed; it reports whether n were reached.
func (f *Fake) AwaitCreated(d time.Duration, n int, done <-chan struct{}) bool {
	return f.await(func() bool { return f.created[d] >= n }, done)
}

// await blocks until cond, checked under f.mu whenever the timers change,
// holds, or done is closed; it reports whether cond held.
func (f *Fake) await(cond func() bool, done <-chan struct{}) bool {
	for {
		f.mu.Lock()
		ok, ch := cond(), f.changed
		f.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) removeLocked(t *fakeTimer) {
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			f.notifyLocked()
			return
		}
	}
}

type fakeTimer struct {
	f        *Fake
	ch       chan time.Time
	deadline time.Time
	active   bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.active = false
	t.f.removeLocked(t)
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.f.removeLocked(t)
	select { // drain a stale fire, as time.Timer does since Go 1.23
	case <-t.ch:
	default:
	}
	if d <= 0 {
		t.active = false
		t.ch <- t.f.now
		return was
	}
	t.deadline = t.f.now.Add(d)
	t.active = true
	t.f.timers = append(t.f.timers, t)
	t.f.notifyLocked()
	return was
}
