package snssqstest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// QueueMessage is a snapshot of one message in an emulated queue, for test
// assertions.
type QueueMessage struct {
	// MessageID is the id SendMessage returned.
	MessageID string
	// Body is the message body.
	Body string
	// Attributes are the message attributes.
	Attributes map[string]QueueMessageAttribute
	// ReceiveCount is how many times the message was received.
	ReceiveCount int
	// Visible reports whether a receive could return the message now
	// (not delayed, not in flight).
	Visible bool
	// InFlight reports whether the message was received and its visibility
	// timeout has not expired.
	InFlight bool
	// Delayed reports whether the message is still within its delay.
	Delayed bool
	// GroupID is the message group id (FIFO queues, or fair standard queues).
	GroupID string
	// DeduplicationID is the FIFO deduplication id (explicit or content-based).
	DeduplicationID string
	// SequenceNumber is the FIFO sequence number.
	SequenceNumber string
	// SentAt is when the message was enqueued, on the server's clock.
	SentAt time.Time
}

// QueueMessageAttribute is one message attribute of a QueueMessage.
type QueueMessageAttribute struct {
	// DataType is String, Number or Binary, optionally with a custom suffix.
	DataType string
	// StringValue is set for String and Number attributes.
	StringValue string
	// BinaryValue is set for Binary attributes.
	BinaryValue []byte
}

// CreateQueue creates a queue (or returns the existing one when its
// attributes match) with SQS attributes such as "VisibilityTimeout" or
// "FifoQueue", and returns its URL.
func (s *Server) CreateQueue(name string, attrs map[string]string) (string, error) {
	u, err := s.sqs.createQueue(name, attrs, nil)
	if err != nil {
		return "", fmt.Errorf("snssqstest: create queue %s: %w", name, err)
	}
	return u, nil
}

// QueueURL returns the URL of the named queue.
func (s *Server) QueueURL(name string) (string, bool) {
	if x := s.sqs.queueByName(name); x != nil {
		return x.url, true
	}
	return "", false
}

// QueueARN returns the ARN of the named queue.
func (s *Server) QueueARN(name string) (string, bool) {
	if x := s.sqs.queueByName(name); x != nil {
		return x.arn, true
	}
	return "", false
}

// Queues returns the names of all queues, sorted.
func (s *Server) Queues() []string {
	s.sqs.mu.RLock()
	names := make([]string, 0, len(s.sqs.queues))
	for n := range s.sqs.queues {
		names = append(names, n)
	}
	s.sqs.mu.RUnlock()
	sort.Strings(names)
	return names
}

// inspectQueue finds a queue by name, URL or ARN.
func (s *Server) inspectQueue(queue string) *queue {
	if strings.HasPrefix(queue, "arn:") {
		return s.sqs.queueByARN(queue)
	}
	x, err := s.sqs.resolve(queue)
	if err != nil {
		return nil
	}
	return x
}

// Messages returns the messages of a queue (given by name, URL or ARN) in
// send order, whatever their state; nil when there is no such queue.
func (s *Server) Messages(queue string) []QueueMessage {
	x := s.inspectQueue(queue)
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.maintainLocked(s.opts.clock.Now())
	out := make([]QueueMessage, 0, len(x.msgs))
	for i := 0; i < x.bySent.len(); i++ {
		m := x.bySent.at(i)
		if m.state == stateDeleted {
			continue
		}
		qm := QueueMessage{
			MessageID: m.id, Body: m.body, ReceiveCount: m.receiveCount,
			Visible: m.state == stateVisible, InFlight: m.state == stateInflight, Delayed: m.state == stateDelayed,
			GroupID: m.groupID, DeduplicationID: m.dedupID, SequenceNumber: m.seq, SentAt: m.sentAt,
		}
		if len(m.attrs) > 0 {
			qm.Attributes = make(map[string]QueueMessageAttribute, len(m.attrs))
			for k, a := range m.attrs {
				qm.Attributes[k] = QueueMessageAttribute{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: append([]byte(nil), a.BinaryValue...)}
			}
		}
		out = append(out, qm)
	}
	return out
}

// Counts returns how many messages of a queue (by name, URL or ARN) are
// visible, in flight and delayed; all zero when there is no such queue.
func (s *Server) Counts(queue string) (visible, inFlight, delayed int) {
	x := s.inspectQueue(queue)
	if x == nil {
		return 0, 0, 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.maintainLocked(s.opts.clock.Now())
	return x.nVisible, x.nInflight, x.nDelayed
}
