package snssqs

import (
	"errors"

	"github.com/snssqs/snssqs/internal/codec"
	"github.com/snssqs/snssqs/internal/consume"
)

// Sentinel errors. Every error the library returns for one of these causes
// wraps the sentinel, so callers test with errors.Is; errors from AWS stay
// reachable with errors.As (for example *smithy.GenericAPIError or the
// service's typed errors such as *types.QueueDoesNotExist).
var (
	// ErrInvalidARN reports a malformed or unsupported ARN.
	ErrInvalidARN = errors.New("snssqs: invalid ARN")

	// ErrInvalidQueueURL reports a malformed SQS queue URL.
	ErrInvalidQueueURL = errors.New("snssqs: invalid queue URL")

	// ErrInvalidEvent reports an event that is nil or cannot be marshaled to JSON,
	// or an empty event type.
	ErrInvalidEvent = codec.ErrInvalidEvent
	// ErrMessageTooLarge reports a message over the SNS or SQS size limit,
	// attributes included.
	ErrMessageTooLarge = errors.New("snssqs: message too large")
	// ErrInvalidAttribute reports a message attribute with an invalid name,
	// data type or value, or more attributes than the service allows.
	ErrInvalidAttribute = errors.New("snssqs: invalid message attribute")
	// ErrMissingGroupID reports a publish to a FIFO topic without a message group id.
	ErrMissingGroupID = errors.New("snssqs: message group id required for FIFO topic")
	// ErrMalformedMessage reports a received message that cannot be decoded:
	// a CloudEvents envelope with a wrong specversion or missing required
	// attributes, or a corrupt SNS notification.
	ErrMalformedMessage = codec.ErrMalformedMessage
	// ErrTopicNotAllowed reports an SNS notification whose TopicArn is not in
	// the subscriber's allow-list (a forged or misrouted envelope).
	ErrTopicNotAllowed = errors.New("snssqs: topic not allowed")
	// ErrNoHandler reports a message whose event type has no registered
	// handler and no fallback.
	ErrNoHandler = errors.New("snssqs: no handler for event type")
	// ErrHandlerPanic reports a handler that panicked; the panic value and
	// stack are in the wrapping error's text.
	ErrHandlerPanic = errors.New("snssqs: handler panicked")
	// ErrBatchFailed reports that some entries of a batch call failed; the
	// concrete error is a *BatchError naming each failed entry.
	ErrBatchFailed = consume.ErrBatchFailed
	// ErrInvalidOptions reports options rejected by a constructor, or a
	// provision.TopologySpec rejected by provision.Apply.
	ErrInvalidOptions = errors.New("snssqs: invalid options")
	// ErrAlreadyRunning reports a second call to Subscriber.Run.
	ErrAlreadyRunning = errors.New("snssqs: subscriber already running")
	// ErrDuplicateHandler reports a second handler registered for the same
	// queue and event type (or a second fallback for a queue).
	ErrDuplicateHandler = errors.New("snssqs: handler already registered")
	// ErrClosed reports a call on a closed Publisher or Subscriber.
	ErrClosed = errors.New("snssqs: closed")
)

// AckError reports a delete, visibility change or visibility extension
// (heartbeat) of one message that failed; deletes and visibility changes
// are reported after AckRetries retries. A failed delete means the message
// will be delivered again. Err wraps ErrBatchFailed when SQS rejected the
// entry inside a successful batch call (Code is then SQS's error code), and
// is the call's error otherwise, so AWS errors stay reachable with
// errors.As. Subscribers pass it to OnError. Its fields:
//
//	Op           string // OpDelete, OpChangeVisibility or OpExtendVisibility
//	QueueURL     string // the message's queue
//	SQSMessageID string // the message
//	Code         string // SQS's per-entry error code, empty for a failed call
//	Err          error  // the cause, returned by Unwrap
type AckError = consume.AckError
