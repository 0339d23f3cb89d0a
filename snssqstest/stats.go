package snssqstest

import (
	"sort"
	"sync"
)

// requestStats counts requests per "service:Operation".
type requestStats struct {
	mu     sync.Mutex
	counts map[string]int64
}

func newRequestStats() *requestStats { return &requestStats{counts: make(map[string]int64)} }

func (r *requestStats) add(service, op string) {
	r.mu.Lock()
	r.counts[service+":"+op]++
	r.mu.Unlock()
}

// Requests returns how many requests the server answered per operation,
// keyed "sqs:ReceiveMessage", "sns:PublishBatch", and so on.
func (s *Server) Requests() map[string]int64 {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make(map[string]int64, len(s.stats.counts))
	for k, v := range s.stats.counts {
		out[k] = v
	}
	return out
}

// TotalRequests returns the number of requests answered, all operations together.
func (s *Server) TotalRequests() int64 {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	var n int64
	for _, v := range s.stats.counts {
		n += v
	}
	return n
}

// ResetRequests sets every request count back to zero.
func (s *Server) ResetRequests() {
	s.stats.mu.Lock()
	s.stats.counts = make(map[string]int64)
	s.stats.mu.Unlock()
}

// Operations returns the operations counted so far, sorted.
func (s *Server) Operations() []string {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	ops := make([]string, 0, len(s.stats.counts))
	for k := range s.stats.counts {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	return ops
}
