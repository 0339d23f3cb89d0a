package snssqs

import (
	"math"
	"time"
)

// Receive-error backoff: the delay before the next ReceiveMessage after n
// consecutive failures is min(receiveBackoffMax, receiveBackoffMin*2^(n-1)),
// spread by ±receiveBackoffJitter.
const (
	receiveBackoffMin    = 100 * time.Millisecond
	receiveBackoffMax    = 30 * time.Second
	receiveBackoffJitter = 0.2
)

// backoff computes exponentially growing, jittered delays.
type backoff struct {
	min, max time.Duration
	factor   float64
	jitter   float64
	// rand returns a number in [0, 1); it must be safe for concurrent use.
	rand func() float64
}

// delay returns the delay for the n-th attempt (n >= 1):
// min(max, min*factor^(n-1)) spread uniformly by ±jitter of its value and
// never negative. Values of n below 1 count as 1.
func (b backoff) delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.min) * math.Pow(b.factor, float64(n-1))
	if d > float64(b.max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.max)
	}
	if b.jitter > 0 && b.rand != nil {
		d *= 1 + b.jitter*(2*b.rand()-1)
	}
	if d < 0 {
		d = 0
	}
	if d >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// nackVisibility returns the visibility timeout, in whole seconds (rounded to
// nearest), that a failed message gets for its receiveCount-th delivery:
// the backoff delay capped to SQS's 12-hour maximum.
func (b backoff) nackVisibility(receiveCount int) int32 {
	d := b.delay(receiveCount)
	if d > maxVisibility {
		d = maxVisibility
	}
	return int32(d.Round(time.Second) / time.Second)
}

// nackBackoff is the backoff of failed messages, from the options.
func nackBackoff(o *SubscriberOptions, rand func() float64) backoff {
	return backoff{min: o.BackoffMin, max: o.BackoffMax, factor: o.BackoffFactor, jitter: o.Jitter, rand: rand}
}

// receiveBackoff is the backoff between failed ReceiveMessage calls.
func receiveBackoff(rand func() float64) backoff {
	return backoff{min: receiveBackoffMin, max: receiveBackoffMax, factor: 2, jitter: receiveBackoffJitter, rand: rand}
}
