package consume

import (
	"math"
	"time"

	"github.com/snssqs/snssqs/internal/awslimits"
)

// Backoff computes exponentially growing, jittered delays: the delay of the
// n-th attempt is min(Max, Min*Factor^(n-1)), spread uniformly by ±Jitter of
// its value.
type Backoff struct {
	Min, Max time.Duration
	Factor   float64
	Jitter   float64
	// Rand returns a number in [0, 1); it must be safe for concurrent use.
	// Nil means no jitter.
	Rand func() float64
}

// Delay returns the delay for the n-th attempt (n >= 1), never negative.
// Values of n below 1 count as 1.
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	factor := b.Factor
	if factor < 1 {
		factor = 1
	}
	d := float64(b.Min) * math.Pow(factor, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 && b.Rand != nil {
		d *= 1 + b.Jitter*(2*b.Rand()-1)
	}
	if d < 0 {
		d = 0
	}
	if d >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// MaxVisibility is the longest visibility timeout SQS accepts.
const MaxVisibility = awslimits.MaxVisibility

// VisibilitySeconds turns a delay into the whole seconds of a visibility
// timeout: rounded up, so that a non-zero delay never becomes 0 s (which
// would make a failed message come back at once), and capped to SQS's
// 12-hour maximum.
func VisibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > MaxVisibility {
		d = MaxVisibility
	}
	return int32((d + time.Second - 1) / time.Second)
}

// nackVisibility is the visibility timeout of a message that failed its
// receiveCount-th delivery.
func (b Backoff) nackVisibility(receiveCount int) int32 {
	return VisibilitySeconds(b.Delay(receiveCount))
}
