package consume

import (
	"sync"
	"sync/atomic"
)

// workerPool runs fn on each submitted value in at most max goroutines,
// started as they are needed and kept until close. Long-lived goroutines
// keep the stacks they have grown: an AWS SDK call runs tens of KiB deep,
// and a goroutine per item would grow a fresh stack, copying it several
// times, for every one.
type workerPool[T any] struct {
	fn      func(T)
	max     int32
	ch      chan T // unbuffered: a send succeeds only into an idle worker
	started atomic.Int32
	wg      sync.WaitGroup
}

func newWorkerPool[T any](max int, fn func(T)) *workerPool[T] {
	return &workerPool[T]{fn: fn, max: int32(max), ch: make(chan T)}
}

// submit hands v to an idle worker, or to a new one while fewer than max
// run; otherwise it waits for a worker to become idle, or until stop is
// closed, and then reports false: v was not taken.
func (p *workerPool[T]) submit(v T, stop <-chan struct{}) bool {
	select {
	case p.ch <- v:
		return true
	default:
	}
	if p.started.Add(1) <= p.max {
		p.wg.Add(1)
		go p.work(v)
		return true
	}
	p.started.Add(-1)
	select {
	case p.ch <- v:
		return true
	case <-stop:
		return false
	}
}

func (p *workerPool[T]) work(v T) {
	defer p.wg.Done()
	for {
		p.fn(v)
		var ok bool
		if v, ok = <-p.ch; !ok {
			return
		}
	}
}

// close waits for the submitted values to be processed and stops the
// workers. No submit may follow or run concurrently with it.
func (p *workerPool[T]) close() {
	close(p.ch)
	p.wg.Wait()
}
