package snssqs

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// never is a gather time no test reaches: only signals end a wait.
const never = time.Hour

// startReserve runs reserve in a goroutine and waits until it waits.
func startReserve(t *testing.T, c *capacity, stop <-chan struct{}, gather time.Duration) <-chan int {
	t.Helper()
	got := make(chan int, 1)
	go func() { got <- c.reserve(stop, gather) }()
	for {
		c.mu.Lock()
		w := c.waiters
		c.mu.Unlock()
		if w > 0 {
			return got
		}
		runtime.Gosched()
	}
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

func (c *capacity) changedChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func TestCapacityWakesReceiversOnlyWhenTheyMayReceive(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	c := newCapacity(10, 10, 10) // 10 workers, prefetch 10, batches of 10
	require.Equal(t, 10, c.reserve(stop, never))
	c.received(10, 5)
	require.Equal(t, 10, c.reserve(stop, never), "prefetch: a full batch while a worker is free")
	c.received(10, 10) // 15 busy: 10 handled, 5 waiting for a worker

	got := startReserve(t, c, stop, never)
	ch := c.changedChan()
	for range 5 {
		c.done(1)
		require.False(t, signaled(ch), "no wake-up while every worker stays busy")
	}
	c.done(1) // 9 busy: a worker is free and 10 places are
	assert.True(t, signaled(ch))
	assert.Equal(t, 10, <-got)
}

func TestCapacityGathersFullBatches(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	c := newCapacity(10, 0, 10) // strict: no prefetch
	require.Equal(t, 10, c.reserve(stop, never))
	c.received(10, 10)
	c.waiters = 1 // a receiver waits (set by hand: its wake-ups are what is checked)

	ch := c.changedChan()
	c.done(3)
	require.True(t, signaled(ch), "3 places and a free worker: a receiver wakes to start gathering")
	ch = c.changedChan()
	for range 6 {
		c.done(1)
		require.False(t, signaled(ch), "no wake-up for a batch that is not yet full")
	}
	c.done(1)
	require.True(t, signaled(ch), "no message busy: all 10 places are free")
	c.waiters = 0
	assert.Equal(t, 10, c.reserve(stop, never))
}

func TestCapacityGatherEnds(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	c := newCapacity(10, 0, 10)
	require.Equal(t, 10, c.reserve(stop, never))
	c.received(10, 10)
	c.done(3)
	assert.Equal(t, 3, c.reserve(stop, time.Millisecond), "once the gather time is over, a receive asks for the places free")
}

func TestCapacityReceiveOfFewerFreesPlaces(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	c := newCapacity(10, 0, 10)
	require.Equal(t, 10, c.reserve(stop, never))
	got := startReserve(t, c, stop, never)
	c.received(10, 0) // an empty receive gives its places back
	assert.Equal(t, 10, <-got)
}
