// Package awslimits holds the SNS and SQS names and limits that more than
// one package of snssqs checks, so each is written once.
package awslimits

import "time"

const (
	// FIFOSuffix ends the name of every FIFO topic and queue.
	FIFOSuffix = ".fifo"
	// MaxVisibility is the longest visibility timeout SQS accepts.
	MaxVisibility = 12 * time.Hour
	// MaxBatchEntries is the most entries of one PublishBatch,
	// SendMessageBatch, DeleteMessageBatch or ChangeMessageVisibilityBatch
	// request.
	MaxBatchEntries = 10
	// MaxSNSMessageSize is the SNS limit in bytes on one message and on one
	// PublishBatch request.
	MaxSNSMessageSize = 262144
	// MaxSQSMessageSize is the SQS limit in bytes on one message and on one
	// SendMessageBatch request.
	MaxSQSMessageSize = 1048576
)
