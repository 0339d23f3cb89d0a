package batch

import (
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With a bound, a Submit beyond it waits for a goroutine to become idle, or
// gives up when stop closes.
func TestPoolBoundsItsGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var ran atomic.Int32
		p := NewPool(2, 0, func(int) { <-release; ran.Add(1) })
		require.True(t, p.Submit(1, nil))
		require.True(t, p.Submit(2, nil))

		stop := make(chan struct{})
		refused := make(chan bool)
		go func() { refused <- p.Submit(3, stop) }()
		synctest.Wait()
		close(stop)
		assert.False(t, <-refused, "both goroutines are busy, so the value is not taken")

		taken := make(chan bool)
		go func() { taken <- p.Submit(4, nil) }()
		synctest.Wait()
		release <- struct{}{} // one finishes and takes 4
		assert.True(t, <-taken)
		close(release)
		p.Close()
		assert.Equal(t, int32(3), ran.Load())
	})
}

// Without a bound Submit never waits; at most maxIdle goroutines stay for
// the next values, and Close ends them (synctest fails on any left).
func TestPoolKeepsAtMostMaxIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var ran atomic.Int32
		p := NewPool(0, 2, func(int) { <-release; ran.Add(1) })
		for i := range 5 {
			require.True(t, p.Submit(i, nil), "an unbounded pool takes every value at once")
		}
		close(release)
		synctest.Wait()
		assert.Equal(t, 2, p.Idle())
		assert.Equal(t, int32(5), ran.Load())

		require.True(t, p.Submit(5, nil)) // an idle goroutine takes it
		synctest.Wait()
		assert.Equal(t, 2, p.Idle())
		p.Close()
		p.Close()
		assert.Zero(t, p.Idle())
		assert.Equal(t, int32(6), ran.Load())
	})
}

// Close waits for the values being run; one they submit is still run.
func TestPoolCloseWaitsForBusyGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var ran atomic.Int32
		var p *Pool[int]
		p = NewPool(0, 1, func(v int) {
			<-release
			ran.Add(1)
			if v == 0 {
				p.Submit(1, nil)
			}
		})
		p.Submit(0, nil)
		closed := make(chan struct{})
		go func() { p.Close(); close(closed) }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a value was running")
		default:
		}
		close(release)
		<-closed
		assert.Equal(t, int32(2), ran.Load())
	})
}

func TestEntryIndex(t *testing.T) {
	for i := range 10 {
		got, ok := EntryIndex(EntryID(i), 10)
		assert.True(t, ok)
		assert.Equal(t, i, got)
	}
	for _, id := range []*string{nil, EntryID(10), EntryID(-1), new(string)} {
		_, ok := EntryIndex(id, 10)
		assert.False(t, ok)
	}
}
