package consume

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 2 * time.Second, Max: 10 * time.Minute, Factor: 2}
	for n, want := range map[int]time.Duration{
		0: 2 * time.Second, 1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second,
		9: 512 * time.Second, 10: 10 * time.Minute, 1000: 10 * time.Minute,
	} {
		assert.Equal(t, want, b.Delay(n), "attempt %d", n)
	}
}

func TestBackoffJitter(t *testing.T) {
	for r, want := range map[float64]time.Duration{
		0:    8 * time.Second,  // -20%
		0.5:  10 * time.Second, // none
		0.75: 11 * time.Second, // +10%
	} {
		b := Backoff{Min: 10 * time.Second, Max: time.Minute, Factor: 2, Jitter: 0.2, Rand: func() float64 { return r }}
		assert.Equal(t, want, b.Delay(1), "rand %v", r)
	}
	b := Backoff{Min: 10 * time.Second, Max: time.Minute, Factor: 2, Jitter: 1, Rand: func() float64 { return 0 }}
	assert.Equal(t, time.Duration(0), b.Delay(1), "full jitter never goes negative")
}

func TestNackVisibility(t *testing.T) {
	b := Backoff{Min: 2 * time.Second, Max: MaxVisibility, Factor: 3, Jitter: 0.2, Rand: func() float64 { return 0.999999 }}
	assert.Equal(t, int32(3), b.nackVisibility(1), "2s+20% = 2.4s rounds up to 3")
	assert.Equal(t, int32(43200), b.nackVisibility(100), "capped to SQS's 12h maximum even with jitter")
	b = Backoff{Min: 400 * time.Millisecond, Max: time.Second, Factor: 2}
	assert.Equal(t, int32(1), b.nackVisibility(1), "a sub-second backoff never becomes an immediate retry")
	assert.Equal(t, int32(1), b.nackVisibility(2))
	b = Backoff{Min: 0, Max: time.Second, Factor: 2}
	assert.Equal(t, int32(0), b.nackVisibility(1), "a zero backoff is an immediate retry")
}

func TestVisibilitySecondsNeverRoundsANonZeroDelayToZero(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond, 499 * time.Millisecond, 999 * time.Millisecond} {
		assert.Equal(t, int32(1), VisibilitySeconds(d), "%v", d)
	}
	assert.Equal(t, int32(2), VisibilitySeconds(1001*time.Millisecond))
	assert.Equal(t, int32(0), VisibilitySeconds(-time.Second))
}

func TestEmptyPause(t *testing.T) {
	want := []time.Duration{50, 100, 200, 400, 800, 1000, 1000}
	for k, w := range want {
		assert.Equal(t, w*time.Millisecond, emptyPause(k+1), "pause %d", k+1)
	}
}
