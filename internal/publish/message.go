package publish

import "github.com/aws/aws-sdk-go-v2/service/sns/types"

// Message is a validated message ready to send.
type Message struct {
	EventType string
	ID        string // the envelope id
	Body      string
	Attrs     map[string]types.MessageAttributeValue
	GroupID   string // FIFO topics and queues; a fair-queue tenant on standard ones
	DedupID   string // FIFO topics and queues only
	// DelaySeconds is the per-message delay, standard queues only; 0 leaves
	// the queue's DelaySeconds.
	DelaySeconds int32
	Size         int // as SNS and SQS count it
}

// Result is the outcome of one message.
type Result struct {
	MessageID      string
	SequenceNumber string // FIFO destinations only
	Err            error
}
