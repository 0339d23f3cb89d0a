package snssqs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffDelay(t *testing.T) {
	b := backoff{min: 2 * time.Second, max: 10 * time.Minute, factor: 2}
	for n, want := range map[int]time.Duration{
		0: 2 * time.Second, 1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second,
		9: 512 * time.Second, 10: 10 * time.Minute, 1000: 10 * time.Minute,
	} {
		assert.Equal(t, want, b.delay(n), "attempt %d", n)
	}
}

func TestBackoffJitter(t *testing.T) {
	for r, want := range map[float64]time.Duration{
		0:    8 * time.Second,  // -20%
		0.5:  10 * time.Second, // none
		0.75: 11 * time.Second, // +10%
	} {
		b := backoff{min: 10 * time.Second, max: time.Minute, factor: 2, jitter: 0.2, rand: func() float64 { return r }}
		assert.Equal(t, want, b.delay(1), "rand %v", r)
	}
	b := backoff{min: 10 * time.Second, max: time.Minute, factor: 2, jitter: 1, rand: func() float64 { return 0 }}
	assert.Equal(t, time.Duration(0), b.delay(1), "full jitter never goes negative")
}

func TestNackVisibility(t *testing.T) {
	b := backoff{min: 2 * time.Second, max: maxVisibility, factor: 3, jitter: 0.2, rand: func() float64 { return 0.999999 }}
	assert.Equal(t, int32(2), b.nackVisibility(1), "2s+20% = 2.4s rounds to 2")
	assert.Equal(t, int32(43200), b.nackVisibility(100), "capped to SQS's 12h maximum even with jitter")
	b = backoff{min: 400 * time.Millisecond, max: time.Second, factor: 2}
	assert.Equal(t, int32(0), b.nackVisibility(1), "sub-second backoff rounds to an immediate retry")
	assert.Equal(t, int32(1), b.nackVisibility(2))
}

func TestReceiveBackoff(t *testing.T) {
	b := receiveBackoff(func() float64 { return 0.5 })
	assert.Equal(t, 100*time.Millisecond, b.delay(1))
	assert.Equal(t, 200*time.Millisecond, b.delay(2))
	assert.Equal(t, 30*time.Second, b.delay(50))
}
