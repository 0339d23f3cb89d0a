package snssqs

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPublisherOptions(t *testing.T) {
	bad := map[string]func(*PublisherOptions){
		"negative linger":         func(o *PublisherOptions) { o.Linger = -time.Second },
		"negative in-flight":      func(o *PublisherOptions) { o.MaxInFlightBatches = -1 },
		"size over SNS limit":     func(o *PublisherOptions) { o.MaxMessageSize = MaxSNSMessageSize + 1 },
		"size too small":          func(o *PublisherOptions) { o.MaxMessageSize = 100 },
		"negative size":           func(o *PublisherOptions) { o.MaxMessageSize = -1 },
		"invalid default group":   func(o *PublisherOptions) { o.DefaultGroupID = "a b" },
		"invalid source encoding": func(o *PublisherOptions) { o.Source = "\xff" },
	}
	for name, fn := range bad {
		_, err := NewPublisher(&countingSNS{}, fn)
		assert.ErrorIs(t, err, ErrInvalidOptions, name)
	}
	_, err := NewPublisher(nil)
	assert.ErrorIs(t, err, ErrInvalidOptions, "nil client")

	p, err := NewPublisher(&countingSNS{})
	require.NoError(t, err)
	defer p.Close()
	assert.Equal(t, filepath.Base(os.Args[0]), p.opts.Source)
	assert.Equal(t, MaxSNSMessageSize, p.opts.MaxMessageSize)
	assert.Equal(t, 8, p.opts.MaxInFlightBatches)
	assert.Zero(t, p.opts.Linger)
	assert.NotNil(t, p.opts.Logger)
	assert.NotNil(t, p.opts.Clock)
	_, err = uuid.Parse(p.opts.NewID())
	assert.NoError(t, err, "ids default to UUIDs")
}

// Zero means the default for every field; a negative value selects "none"
// where that is a setting of its own, and is rejected elsewhere.
func TestSubscriberOptionsZeroMeansDefault(t *testing.T) {
	o := SubscriberOptions{}.withDefaults()
	require.NoError(t, o.validate())
	assert.NotNil(t, o.Logger)
	assert.NotNil(t, o.Clock)
	o.Logger, o.Clock = nil, nil
	assert.Equal(t, SubscriberOptions{
		WaitTime: 20 * time.Second, MaxMessages: 10, Concurrency: 10, Prefetch: 100, ReceiversPerQueue: 8,
		VisibilityTimeout: 30 * time.Second, HeartbeatFraction: 0.5, HandlerTimeout: 15 * time.Minute,
		BackoffMin: 2 * time.Second, BackoffMax: 10 * time.Minute, BackoffFactor: 2, Jitter: 0.2,
		AckFlushInterval: 50 * time.Millisecond, AckRetries: 3, DrainTimeout: 30 * time.Second,
	}, o)

	none := SubscriberOptions{WaitTime: -1, Prefetch: -1, BackoffMin: -1, Jitter: -1, AckFlushInterval: -1, AckRetries: -1, DrainTimeout: -1}.withDefaults()
	require.NoError(t, none.validate())
	assert.Zero(t, none.WaitTime, "short polling")
	assert.Zero(t, none.Prefetch)
	assert.Zero(t, none.BackoffMin)
	assert.Zero(t, none.Jitter)
	assert.Zero(t, none.AckFlushInterval)
	assert.Zero(t, none.AckRetries)
	assert.Zero(t, none.DrainTimeout)

	short := SubscriberOptions{BackoffMax: time.Second}.withDefaults()
	require.NoError(t, short.validate())
	assert.Equal(t, time.Second, short.BackoffMin, "the default BackoffMin is capped by a lower BackoffMax")
}
