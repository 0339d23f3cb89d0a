package snssqs

import (
	"time"

	"github.com/snssqs/snssqs/internal/consume"
)

// SubscriberStats are a Subscriber's counters, since NewSubscriber, and
// gauges, now: cheap to read, for health checks and tests.
type SubscriberStats struct {
	// Running reports whether Run is active and shutdown has not begun.
	Running bool
	// Queues is the number of queues being consumed.
	Queues int
	// Received counts messages received.
	Received uint64
	// Deleted counts messages deleted: handled, or dropped by PolicyDelete.
	Deleted uint64
	// Nacked counts messages given a backoff visibility after a failure.
	Nacked uint64
	// Released counts messages made visible again unhandled: held at
	// shutdown, or behind a failed message of their FIFO group.
	Released uint64
	// Abandoned counts messages whose handlers were abandoned at an expired
	// shutdown; they come back after their visibility timeout.
	Abandoned uint64
	// InFlight is the number of messages received and not yet finished.
	InFlight int
	// LastReceive is when a receive last succeeded, zero before the first.
	LastReceive time.Time
}

// Stats returns the subscriber's counters and gauges.
func (s *Subscriber) Stats() SubscriberStats {
	s.mu.Lock()
	total := s.retired
	engines := make([]*consume.Engine, 0, len(s.pollers))
	for _, p := range s.pollers {
		engines = append(engines, p.engine)
	}
	st := SubscriberStats{Running: s.state == stateRunning, Queues: len(s.pollers)}
	s.mu.Unlock()
	for _, e := range engines {
		total = addStats(total, e.Stats())
	}
	st.Received, st.Deleted, st.Nacked = total.Received, total.Deleted, total.Nacked
	st.Released, st.Abandoned, st.InFlight, st.LastReceive = total.Released, total.Abandoned, total.InFlight, total.LastReceive
	return st
}

// addStats sums two engines' stats; LastReceive is the later one.
func addStats(a, b consume.Stats) consume.Stats {
	a.Received += b.Received
	a.Deleted += b.Deleted
	a.Nacked += b.Nacked
	a.Released += b.Released
	a.Abandoned += b.Abandoned
	a.InFlight += b.InFlight
	if b.LastReceive.After(a.LastReceive) {
		a.LastReceive = b.LastReceive
	}
	return a
}

// PublisherStats are a Publisher's or QueuePublisher's counters, since it
// was created, and gauges, now: cheap to read, for health checks and tests.
type PublisherStats struct {
	// Published counts messages SNS or SQS accepted.
	Published uint64
	// Failed counts messages whose request failed or whose batch entry
	// was rejected.
	Failed uint64
	// Rejected counts messages that failed validation (no request made).
	Rejected uint64
	// Requests counts Publish, PublishBatch, SendMessage and
	// SendMessageBatch requests made.
	Requests uint64
	// Queued is the number of messages waiting for a request now.
	Queued int
	// InFlightRequests is the number of requests in flight now.
	InFlightRequests int
	// Closed reports that shutdown has begun.
	Closed bool
}

// Stats returns the publisher's counters and gauges.
func (p *Publisher) Stats() PublisherStats { return p.stats() }

// Stats returns the queue publisher's counters and gauges.
func (p *QueuePublisher) Stats() PublisherStats { return p.stats() }
