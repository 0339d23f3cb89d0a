package snssqs

import "time"

// PublishOption sets a per-message option of Publish or a batch Entry.
// Options are applied in order; a later option for the same field or name
// wins. Their values are validated when the message is published.
type PublishOption func(*publishConfig)

// publishConfig collects the per-message options.
type publishConfig struct {
	subject    string
	groupID    string
	dedupID    string
	eventID    string
	time       time.Time
	attributes map[string]Attribute
	extensions map[string]any
	delay      time.Duration
	delaySet   bool
}

// WithSubject sets the CloudEvents subject: what the event is about within
// the source, e.g. the id of the card a "card.created" event describes. It
// is not the SNS Subject (which only email subscriptions show).
func WithSubject(subject string) PublishOption {
	return func(c *publishConfig) { c.subject = subject }
}

// WithGroupID sets the message group id, required for FIFO topics unless
// PublisherOptions.DefaultGroupID is set. On FIFO topics messages of one
// group are delivered in order. On standard topics it is optional and
// reaches subscribed standard queues, where SQS fair queues use it to share
// throughput between tenants; it orders nothing there.
func WithGroupID(groupID string) PublishOption {
	return func(c *publishConfig) { c.groupID = groupID }
}

// WithDeduplicationID sets the FIFO deduplication id; SNS drops messages
// with an id already seen on the topic in the last 5 minutes. It defaults to
// the envelope id, so only a retried publish of the same event (same
// WithEventID) is deduplicated. Publishing a message with a deduplication id
// to a standard topic fails with ErrInvalidEvent.
func WithDeduplicationID(id string) PublishOption {
	return func(c *publishConfig) { c.dedupID = id }
}

// WithAttribute adds an SNS message attribute, e.g. for subscription filter
// policies. The name EventTypeAttribute ("ce_type") is reserved: the
// Publisher sets it to the event type. At most MaxMessageAttributes-1 (9) may be
// added.
func WithAttribute(name string, a Attribute) PublishOption {
	return func(c *publishConfig) {
		if c.attributes == nil {
			c.attributes = make(map[string]Attribute, 2)
		}
		c.attributes[name] = a
	}
}

// WithExtension adds a CloudEvents extension attribute to the envelope,
// e.g. WithExtension("traceparent", tp). The name must consist of lowercase
// ASCII letters and digits (CloudEvents recommends at most 20 characters)
// and must not be a core attribute name; the value must be non-nil and
// marshal to JSON. CloudEvents allows strings, booleans, integers, URIs,
// timestamps and binary values.
func WithExtension(name string, value any) PublishOption {
	return func(c *publishConfig) {
		if c.extensions == nil {
			c.extensions = make(map[string]any, 2)
		}
		c.extensions[name] = value
	}
}

// WithEventID sets the envelope id instead of a new UUID, e.g. to republish
// an event with its original id so consumers and FIFO deduplication can
// recognise the duplicate.
func WithEventID(id string) PublishOption {
	return func(c *publishConfig) { c.eventID = id }
}

// WithTime sets the envelope time (when the event happened) instead of the
// publish time. It is sent in UTC.
func WithTime(t time.Time) PublishOption {
	return func(c *publishConfig) { c.time = t }
}

// WithDelay delays the delivery of a message sent to a standard SQS queue by
// QueuePublisher: it becomes visible after d (whole seconds, rounded up; at
// most 15 minutes). WithDelay(0) leaves the queue's own DelaySeconds. SNS
// topics and FIFO queues (which take a delay per queue only) reject it with
// ErrInvalidEvent.
func WithDelay(d time.Duration) PublishOption {
	return func(c *publishConfig) { c.delay, c.delaySet = d, true }
}
