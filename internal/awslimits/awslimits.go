// Package awslimits holds the SNS and SQS names and limits that more than
// one package of snssqs checks, so each is written once.
package awslimits

import "time"

const (
	// FIFOSuffix ends the name of every FIFO topic and queue.
	FIFOSuffix = ".fifo"
	// MaxVisibility is the longest visibility timeout SQS accepts.
	MaxVisibility = 12 * time.Hour
)
