package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(t Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestFakeTimersFireInDeadlineOrder(t *testing.T) {
	f := NewFake(epoch)
	late := f.NewTimer(3 * time.Second)
	early := f.NewTimer(time.Second)
	require.Equal(t, 2, f.Waiters())

	f.Advance(999 * time.Millisecond)
	assert.False(t, fired(early))
	f.Advance(time.Millisecond)
	require.True(t, fired(early))
	assert.False(t, fired(late))
	assert.Equal(t, epoch.Add(time.Second), f.Now())

	f.Advance(5 * time.Second)
	select {
	case at := <-late.C():
		assert.Equal(t, epoch.Add(3*time.Second), at, "a timer reports its deadline")
	default:
		t.Fatal("late timer did not fire")
	}
	assert.Equal(t, epoch.Add(6*time.Second), f.Now())
	assert.Zero(t, f.Waiters())
}

func TestFakeStopAndReset(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop(), "already stopped")
	f.Advance(time.Hour)
	assert.False(t, fired(tm))

	assert.False(t, tm.Reset(2*time.Second), "was not active")
	f.Advance(time.Second)
	assert.False(t, fired(tm))
	f.Advance(time.Second)
	assert.True(t, fired(tm))

	f.Advance(time.Second)
	tm.Reset(time.Second)
	f.Advance(time.Second)
	assert.True(t, fired(tm))
	assert.False(t, fired(tm), "fires once per reset")
}

func TestFakeZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(epoch)
	assert.True(t, fired(f.NewTimer(0)))
	assert.Zero(t, f.Waiters())
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(epoch)
	done := make(chan struct{})
	slept := make(chan bool)
	go func() { slept <- Sleep(f, time.Minute, done) }()
	require.True(t, f.BlockUntil(1, nil), "the sleeper's timer is pending")
	f.Advance(time.Minute)
	assert.True(t, <-slept)

	go func() { slept <- Sleep(f, time.Minute, done) }()
	require.True(t, f.BlockUntil(1, nil))
	close(done)
	assert.False(t, <-slept, "Sleep ends early when done closes")

	stop := make(chan struct{})
	close(stop)
	assert.False(t, f.BlockUntil(5, stop))
}

func TestFakeCountsTimersByDuration(t *testing.T) {
	f := NewFake(epoch)
	made := make(chan bool)
	go func() {
		f.NewTimer(time.Second).Stop()
		f.NewTimer(0)
		f.NewTimer(time.Second)
	}()
	go func() { made <- f.AwaitCreated(time.Second, 2, nil) }()
	assert.True(t, <-made, "two one-second timers were made")
	assert.Equal(t, 2, f.Created(time.Second), "a stopped timer still counts as made")
	require.True(t, f.AwaitCreated(0, 1, nil))
	assert.Zero(t, f.Created(time.Minute))

	stop := make(chan struct{})
	close(stop)
	assert.False(t, f.AwaitCreated(time.Minute, 1, stop))
}

func TestRealClock(t *testing.T) {
	c := Real()
	before := time.Now()
	assert.False(t, c.Now().Before(before))
	tm := c.NewTimer(time.Hour)
	assert.True(t, tm.Stop())
	assert.True(t, Sleep(c, 0, nil))
}
