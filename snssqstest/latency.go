package snssqstest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// errBadLatency is what ParseLatency and SetLatency return for a range that
// is not 0 <= min <= max.
var errBadLatency = errors.New("want 0 <= min <= max")

// latency is the delay added to every answer (WithLatency, SetLatency).
type latency struct {
	mu       sync.RWMutex
	min, max time.Duration
}

func (l *latency) set(min, max time.Duration) error {
	if err := checkLatency(min, max); err != nil {
		return err
	}
	l.mu.Lock()
	l.min, l.max = min, max
	l.mu.Unlock()
	return nil
}

func (l *latency) get() (min, max time.Duration) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.min, l.max
}

func checkLatency(min, max time.Duration) error {
	if min < 0 || max < min {
		return fmt.Errorf("snssqstest: latency %v-%v: %w", min, max, errBadLatency)
	}
	return nil
}

// draw picks one request's delay, uniformly within the range.
func (l *latency) draw() time.Duration {
	lo, hi := l.get()
	if hi > lo {
		return lo + rand.N(hi-lo+1)
	}
	return lo
}

// SetLatency changes the delay of every later SNS, SQS and STS answer, as
// WithLatency sets it at the start; SetLatency(0, 0) removes it. A benchmark
// uses it to measure the loopback and a modelled network with one server.
// Requests already waiting keep the delay they drew.
func (s *Server) SetLatency(min, max time.Duration) error { return s.latency.set(min, max) }

// Latency returns the range SetLatency or WithLatency set.
func (s *Server) Latency() (min, max time.Duration) { return s.latency.get() }

// delay waits out the request's latency; it reports false when the client
// went away or the server closed meanwhile.
func (s *Server) delay(r *http.Request) bool {
	d := s.latency.draw()
	if d == 0 {
		return true
	}
	return s.faults.wait(r, d) // the same wait as a fault rule's latency
}

// ParseLatency reads a latency as cmd/snssqs-emulator's -latency flag and
// the admin endpoint take it: empty for none, one duration ("15ms") for a
// fixed delay, or MIN-MAX ("10ms-20ms") for a uniform range.
func ParseLatency(v string) (min, max time.Duration, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(v, "-")
	if min, err = time.ParseDuration(a); err != nil {
		return 0, 0, fmt.Errorf("snssqstest: latency %q: %w", v, err)
	}
	max = min
	if isRange {
		if max, err = time.ParseDuration(b); err != nil {
			return 0, 0, fmt.Errorf("snssqstest: latency %q: %w", v, err)
		}
	}
	if min < 0 || max < min {
		return 0, 0, fmt.Errorf("snssqstest: latency %q: %w", v, errBadLatency)
	}
	return min, max, nil
}

// formatLatency is ParseLatency's inverse.
func formatLatency(min, max time.Duration) string {
	switch {
	case max == 0:
		return ""
	case min == max:
		return min.String()
	default:
		return min.String() + "-" + max.String()
	}
}
