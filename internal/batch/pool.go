package batch

import "sync"

// Pool runs fn on each submitted value in goroutines it starts as they are
// needed: at most max at once (0: no bound), of which at most maxIdle wait,
// between values, for the next one; the others end when their value is
// done. Long-lived goroutines keep the stacks they have grown: an AWS SDK
// call runs tens of KiB deep, and a goroutine per call would grow a fresh
// stack, copying it several times, for every one.
//
// The Pool owns its goroutines; Close ends them.
type Pool[T any] struct {
	fn      func(T)
	max     int
	maxIdle int
	ch      chan T // unbuffered: a send succeeds only into an idle worker
	closing chan struct{}

	mu      sync.Mutex
	workers int // running, busy or idle
	idle    int
	closed  bool

	wg sync.WaitGroup
}

// NewPool returns a Pool running fn in at most max goroutines (0: no
// bound), keeping at most maxIdle of them idle; with a bound, maxIdle is at
// least max, so that a Submit that waits is always served.
func NewPool[T any](max, maxIdle int, fn func(T)) *Pool[T] {
	if max > 0 && maxIdle < max {
		maxIdle = max
	}
	return &Pool[T]{fn: fn, max: max, maxIdle: maxIdle, ch: make(chan T), closing: make(chan struct{})}
}

// Submit hands v to an idle goroutine, or to a new one while fewer than max
// run; otherwise it waits for one to become idle, or until stop is closed,
// and then reports false: v was not taken. Without a bound it never waits,
// so it may be called with a lock held. After Close, a value submitted by
// one of the Pool's own goroutines (fn) is still run.
func (p *Pool[T]) Submit(v T, stop <-chan struct{}) bool {
	select {
	case p.ch <- v:
		return true
	default:
	}
	p.mu.Lock()
	if p.max == 0 || p.workers < p.max {
		p.workers++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.work(v)
		return true
	}
	p.mu.Unlock()
	select {
	case p.ch <- v:
		return true
	case <-stop:
		return false
	}
}

func (p *Pool[T]) work(v T) {
	defer p.wg.Done()
	for {
		p.fn(v)
		p.mu.Lock()
		if p.closed || p.idle >= p.maxIdle {
			p.workers--
			p.mu.Unlock()
			return
		}
		p.idle++
		p.mu.Unlock()
		ok := true
		select {
		case v = <-p.ch:
		case <-p.closing:
			ok = false
		}
		p.mu.Lock()
		p.idle--
		if !ok {
			p.workers--
		}
		p.mu.Unlock()
		if !ok {
			return
		}
	}
}

// Idle returns how many goroutines wait for a value now.
func (p *Pool[T]) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}

// Close ends the idle goroutines and waits for the busy ones to finish
// their values. It is safe to call more than once. A Submit may run
// concurrently only from fn (see Submit).
func (p *Pool[T]) Close() {
	p.mu.Lock()
	first := !p.closed
	p.closed = true
	p.mu.Unlock()
	if first {
		close(p.closing)
	}
	p.wg.Wait()
}
