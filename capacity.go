package snssqs

import (
	"sync"
	"time"
)

// capacity is the back-pressure of one poller: it decides when a receive
// may be made and how many messages it may ask for.
//
// A message is busy from its arrival until it is done with (handled,
// released or given up); places are reserved for the messages a receive in
// progress may bring. A receive is made only while a worker is free (fewer
// busy messages than workers), for at most MaxMessages and at most the
// places left under the limit of Concurrency+Prefetch busy or reserved
// messages. So at most Prefetch received messages wait for a worker, and
// none is received while every worker is busy.
type capacity struct {
	workers int // Concurrency
	limit   int // Concurrency + Prefetch
	batch   int // MaxMessages

	mu       sync.Mutex
	busy     int
	reserved int
	waiters  int
	changed  chan struct{} // closed and replaced when places free up, if anyone waits
}

func newCapacity(workers, prefetch, batch int) *capacity {
	return &capacity{workers: workers, limit: workers + prefetch, batch: batch, changed: make(chan struct{})}
}

// reserve waits until a receive may be made and reserves places for it; it
// returns their number, or 0 once stop is closed. When fewer than
// MaxMessages places are free while messages are busy, it waits up to
// gather for more to free up, so that a loaded queue is received from in
// full batches rather than one message per request. gather shapes batch
// sizes only, so it runs on real time.
func (c *capacity) reserve(stop <-chan struct{}, gather time.Duration) int {
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
		select {
		case <-stop:
			return 0
		default:
		}
		c.mu.Lock()
		if c.mayReceiveLocked(late) {
			free := c.freeLocked()
			c.reserved += free
			c.mu.Unlock()
			return free
		}
		if timer == nil && c.mayReceiveLocked(true) { // gather for a fuller batch
			timer = time.NewTimer(gather)
			expired = timer.C
		}
		c.waiters++
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-stop:
		case <-ch:
		case <-expired:
			late, expired = true, nil
		}
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
	}
}

// freeLocked is the number of messages a receive may ask for now.
func (c *capacity) freeLocked() int { return min(c.batch, c.limit-c.busy-c.reserved) }

// mayReceiveLocked reports whether a receive may be made now: a worker is
// free and there are places left, and either they make a full batch, or no
// message is busy (so none will free more places), or gathering is over.
func (c *capacity) mayReceiveLocked(late bool) bool {
	free := c.freeLocked()
	return c.busy < c.workers && free > 0 && (late || free == c.batch || c.busy == 0)
}

// received turns the n places a receive reserved into got busy messages.
func (c *capacity) received(n, got int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gathering, waiting := c.mayReceiveLocked(false), c.mayReceiveLocked(true)
	c.reserved -= n
	c.busy += got
	c.signalLocked(gathering, waiting)
}

// done frees the places of k busy messages.
func (c *capacity) done(k int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gathering, waiting := c.mayReceiveLocked(false), c.mayReceiveLocked(true)
	c.busy -= k
	c.signalLocked(gathering, waiting)
}

// signalLocked wakes the waiting receivers when a change let one of them
// receive: before tells whether a gathering and a late receiver could
// receive before the change. Changes that let none of them receive wake
// no one, so a loaded poller does not wake its receivers for every
// message handled.
func (c *capacity) signalLocked(gatheringBefore, lateBefore bool) {
	if c.waiters == 0 {
		return
	}
	if (!gatheringBefore && c.mayReceiveLocked(false)) || (!lateBefore && c.mayReceiveLocked(true)) {
		close(c.changed)
		c.changed = make(chan struct{})
	}
}
