package snssqs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/snssqs/snssqs/clock"
)

// DefaultSource is the CloudEvents source used when PublisherOptions.Source
// is empty and the program name is unknown.
const DefaultSource = "snssqs"

// DefaultMaxInFlightBatches is the default of
// PublisherOptions.MaxInFlightBatches.
const DefaultMaxInFlightBatches = 8

// minMaxMessageSize is the smallest MaxMessageSize accepted (SQS's smallest
// configurable maximum message size).
const minMaxMessageSize = 1024

// PublisherOptions configures a Publisher. The zero value of every field
// selects its default; NewPublisher applies the option functions to a zero
// PublisherOptions.
type PublisherOptions struct {
	// Source is the CloudEvents source of every event published.
	// Default: the base name of the program (os.Args[0]), or "snssqs".
	Source string

	// Logger receives a debug line per publish and warnings/errors for
	// failures. Message bodies are logged only at Debug level.
	// Default: a logger that discards everything.
	Logger logrus.FieldLogger

	// Clock gives the envelope time and drives the batcher's Linger.
	// Default: clock.Real().
	Clock clock.Clock

	// NewID returns the id of each new envelope (and the default FIFO
	// deduplication id). It must be safe for concurrent use.
	// Default: uuid.NewString.
	NewID func() string

	// DefaultGroupID is the message group id used for messages to FIFO
	// topics that have none of their own (WithGroupID). It is ignored for
	// standard topics. Default: empty, so FIFO messages need WithGroupID.
	DefaultGroupID string

	// Linger is how long the batcher waits for more messages to a topic
	// before sending a batch of fewer than 10 when a request slot is free.
	// Zero sends as soon as a request slot is free, adding no latency at
	// light load. Default: 0.
	Linger time.Duration

	// MaxInFlightBatches is the maximum number of concurrent SNS requests
	// per topic made by Publish and PublishBatch. Messages published while
	// all slots are busy wait and are coalesced into batches of up to 10.
	// Default: DefaultMaxInFlightBatches (8).
	MaxInFlightBatches int

	// MaxMessageSize is the largest message accepted, in bytes, counted as
	// SNS counts it: the envelope plus each attribute's name, data type and
	// value. It may only be lowered from the SNS limit, e.g. to match a
	// subscribed queue's MaximumMessageSize; the minimum is 1024.
	// Default: MaxSNSMessageSize (262144).
	MaxMessageSize int
}

// programSource returns the base name of the running program, or
// DefaultSource.
func programSource() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		if b := filepath.Base(os.Args[0]); b != "." && b != string(filepath.Separator) {
			return b
		}
	}
	return DefaultSource
}

// publisherNopLogger returns a logger that writes nothing and reports Debug as
// disabled, so that no log fields are built.
func publisherNopLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.PanicLevel)
	return l
}

// withDefaults returns o with every zero field replaced by its default.
func (o PublisherOptions) withDefaults() PublisherOptions {
	if o.Source == "" {
		o.Source = programSource()
	}
	if o.Logger == nil {
		o.Logger = publisherNopLogger()
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	if o.MaxInFlightBatches == 0 {
		o.MaxInFlightBatches = DefaultMaxInFlightBatches
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = MaxSNSMessageSize
	}
	return o
}

// validate checks options that have had their defaults applied. Errors wrap
// ErrInvalidOptions.
func (o PublisherOptions) validate() error {
	if o.Linger < 0 {
		return fmt.Errorf("%w: Linger %v is negative", ErrInvalidOptions, o.Linger)
	}
	if o.MaxInFlightBatches < 0 {
		return fmt.Errorf("%w: MaxInFlightBatches %d is negative", ErrInvalidOptions, o.MaxInFlightBatches)
	}
	if o.MaxMessageSize < minMaxMessageSize || o.MaxMessageSize > MaxSNSMessageSize {
		return fmt.Errorf("%w: MaxMessageSize %d is outside [%d, %d]", ErrInvalidOptions, o.MaxMessageSize, minMaxMessageSize, MaxSNSMessageSize)
	}
	if !validMessageText(o.Source) {
		return fmt.Errorf("%w: Source %q has invalid characters", ErrInvalidOptions, o.Source)
	}
	if o.DefaultGroupID != "" {
		if err := validateFIFOID("DefaultGroupID", o.DefaultGroupID); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidOptions, err)
		}
	}
	return nil
}
