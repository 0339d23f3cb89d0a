package main

import (
	"context"
	"sync/atomic"
	"time"
)

// sink is the benchmark's handler state for one run: it records the
// publish-to-handler latency of each event's first delivery, counts
// duplicates and closes done when every event was handled once.
type sink struct {
	n       int64
	delay   time.Duration
	seen    []atomic.Bool
	latency []int64 // nanoseconds, indexed by Seq; written once, before handled.Add
	handled atomic.Int64
	dups    atomic.Int64
	redeliv atomic.Int64 // first handlings whose SQS receive count was > 1
	unknown atomic.Int64
	doneAt  atomic.Int64 // UnixNano of the last first-delivery completion
	// cleanAt is the UnixNano of the last completion of an event whose
	// first handled delivery was also its first SQS receive.
	cleanAt atomic.Int64
	done    chan struct{}
}

func newSink(n int, delay time.Duration) *sink {
	return &sink{
		n:       int64(n),
		delay:   delay,
		seen:    make([]atomic.Bool, n),
		latency: make([]int64, n),
		done:    make(chan struct{}),
	}
}

// handle is the handler every contender calls. With a delay it simulates work
// of that duration (returning an error, so the message is not acknowledged,
// if ctx ends first).
func (s *sink) handle(ctx context.Context, ev benchEvent, receiveCount int) error {
	now := time.Now().UnixNano()
	if ev.Seq < 0 || ev.Seq >= s.n {
		s.unknown.Add(1)
		return nil
	}
	if !s.seen[ev.Seq].CompareAndSwap(false, true) {
		s.dups.Add(1)
		return nil
	}
	s.latency[ev.Seq] = now - ev.SentUnixNano
	if receiveCount > 1 {
		s.redeliv.Add(1)
	}
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.seen[ev.Seq].Store(false)
			return ctx.Err()
		}
	}
	if receiveCount <= 1 {
		storeMax(&s.cleanAt, time.Now().UnixNano())
	}
	if s.handled.Add(1) == s.n {
		s.doneAt.Store(time.Now().UnixNano())
		close(s.done)
	}
	return nil
}

// storeMax sets v to x if x is larger.
func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// latencies returns the recorded latencies of handled events. Call it only
// after done was closed.
func (s *sink) latencies() []time.Duration {
	out := make([]time.Duration, 0, len(s.latency))
	for i := range s.latency {
		if s.seen[i].Load() {
			out = append(out, time.Duration(s.latency[i]))
		}
	}
	return out
}
