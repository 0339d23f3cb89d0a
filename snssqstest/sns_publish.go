package snssqstest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SNS publishing limits and constants the emulator enforces, as documented by AWS.
const (
	snsMaxMessageBytes     = 262144 // message + attributes, and a whole PublishBatch
	snsMaxAttributes       = 10
	snsMaxSubjectChars     = 100
	snsMaxBatchEntries     = 10
	snsMaxFIFOIDChars      = 128
	snsDedupWindow         = 5 * time.Minute
	snsSenderID            = "AIDAIT2UOQQY3AUEKVGXU" // the SenderId SQS shows for messages SNS delivered
	snsFirstSequenceNumber = 10000000000000000000
)

var (
	snsAttrNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	snsBatchIDRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	snsFIFOIDRE   = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")
)

type snsDedupRecord struct {
	messageID, sequence string
	expires             time.Time
}

type snsDedupKey struct {
	key     string
	expires time.Time
}

// snsPublishEntry is one message to publish: the Publish request, or one
// PublishBatch entry.
type snsPublishEntry struct {
	ID               string // PublishBatch entry id
	Message          string
	Subject          string
	HasSubject       bool
	MessageStructure string
	GroupID          string
	DedupID          string
	Attributes       map[string]messageAttribute
	// Err is set when the wire layer could not parse the entry.
	Err *snsError
}

// snsPublishResult is the outcome of one entry.
type snsPublishResult struct {
	ID, MessageID, SequenceNumber string
	Err                           *snsError
}

// snsDeliveryPlan is one delivery decided under the lock and carried out
// after it is released.
type snsDeliveryPlan struct {
	queueARN, deadLetterARN, subscriptionARN string
	raw                                      bool
	topicARN, messageID, sequence            string
	subject                                  string
	hasSubject                               bool
	message                                  string
	timestamp                                time.Time
	signatureVersion                         string
	attrs                                    map[string]messageAttribute
	groupID, dedupID                         string
	fifoTopic                                bool
}

// size is what counts against the 256 KiB limit: the message plus, for each
// attribute, its name, data type and value.
func (e *snsPublishEntry) size() int {
	n := len(e.Message)
	for name, a := range e.Attributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// validate checks what does not depend on the topic.
func (e *snsPublishEntry) validate() *snsError {
	if e.Err != nil {
		return e.Err
	}
	if e.Message == "" {
		return snsInvalidParameter("Invalid parameter: Empty message")
	}
	if e.HasSubject {
		if e.Subject == "" || utf8.RuneCountInString(e.Subject) > snsMaxSubjectChars {
			return snsInvalidParameter("Invalid parameter: Subject")
		}
		for _, r := range e.Subject {
			if r < 0x20 || r > 0x7e {
				return snsInvalidParameter("Invalid parameter: Subject")
			}
		}
	}
	switch e.MessageStructure {
	case "":
	case "json":
		var doc map[string]any
		if err := json.Unmarshal([]byte(e.Message), &doc); err != nil {
			return snsInvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse")
		}
		if _, ok := doc["default"].(string); !ok {
			return snsInvalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body")
		}
	default:
		return snsInvalidParameter("Invalid parameter: MessageStructure")
	}
	if err := snsValidateAttributes(e.Attributes); err != nil {
		return err
	}
	if e.size() > snsMaxMessageBytes {
		return snsInvalidParameter("Invalid parameter: Message too long")
	}
	if err := snsValidateFIFOID("MessageGroupId", e.GroupID); err != nil {
		return err
	}
	return snsValidateFIFOID("MessageDeduplicationId", e.DedupID)
}

// snsValidateFIFOID checks an optional MessageGroupId or
// MessageDeduplicationId.
func snsValidateFIFOID(param, id string) *snsError {
	if id != "" && !snsFIFOIDRE.MatchString(id) {
		return snsInvalidParameter("Invalid parameter: %[1]s Reason: %[1]s can only include alphanumeric and punctuation characters. 1 to %[2]d in length.", param, snsMaxFIFOIDChars)
	}
	return nil
}

// messageFor returns the message a protocol receives: with MessageStructure
// json, the protocol's own entry or else "default".
func (e *snsPublishEntry) messageFor(protocol string) string {
	if e.MessageStructure != "json" {
		return e.Message
	}
	var doc map[string]any
	if json.Unmarshal([]byte(e.Message), &doc) != nil {
		return e.Message
	}
	if s, ok := doc[protocol].(string); ok {
		return s
	}
	s, _ := doc["default"].(string)
	return s
}

func snsValidateAttributes(attrs map[string]messageAttribute) *snsError {
	if len(attrs) > snsMaxAttributes {
		return snsInvalidParameter("Invalid parameter: MessageAttributes Reason: Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), snsMaxAttributes)
	}
	for name, a := range attrs {
		if err := snsValidateAttribute(name, a); err != nil {
			return err
		}
	}
	return nil
}

// snsValidateAttribute checks one message attribute's name, data type and value.
func snsValidateAttribute(name string, a messageAttribute) *snsError {
	lower := strings.ToLower(name)
	if !snsAttrNameRE.MatchString(name) || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
		strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return snsInvalidParameterValue("The message attribute name '%s' is invalid.", name)
	}
	if a.DataType == "" {
		return snsInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute type.", name)
	}
	if len(a.DataType) > 256 {
		return snsInvalidParameterValue("The message attribute '%s' has a data type longer than 256 characters.", name)
	}
	base := snsAttrBaseType(a.DataType)
	var empty bool
	switch base {
	case "String", "Number":
		empty = a.StringValue == ""
	case "Binary":
		empty = len(a.BinaryValue) == 0
	default:
		return snsInvalidParameterValue("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
	}
	if empty {
		return snsInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
	}
	switch {
	case snsIsStringArray(a.DataType):
		var arr []any
		if err := json.Unmarshal([]byte(a.StringValue), &arr); err != nil {
			return snsInvalidParameterValue("The message attribute '%s' with type 'String.Array' must be a JSON array.", name)
		}
		for _, v := range arr {
			switch v.(type) {
			case map[string]any, []any:
				return snsInvalidParameterValue("The message attribute '%s' with type 'String.Array' may hold only strings, numbers, true, false and null.", name)
			}
		}
	case base == "Number":
		if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
			return snsInvalidParameterValue("Could not cast message attribute '%s' value to number.", name)
		}
	}
	return nil
}

// checkFIFOLocked applies the rules that depend on the topic type.
func (t *snsTopic) checkFIFOLocked(e *snsPublishEntry) *snsError {
	if !t.fifo {
		// A MessageGroupId on a standard topic is valid: it reaches
		// subscribed standard queues, where it groups messages of one tenant
		// for SQS fair queues (with no ordering).
		if e.DedupID != "" {
			return snsInvalidParameter("Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
		}
		return nil
	}
	if e.GroupID == "" {
		return snsInvalidParameter("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
	}
	if e.DedupID == "" && !t.contentDedup {
		return snsInvalidParameter("Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	return nil
}

// expireDedupLocked forgets deduplication ids older than the window.
func (t *snsTopic) expireDedupLocked(now time.Time) {
	i := 0
	for ; i < len(t.dedupOrder) && !now.Before(t.dedupOrder[i].expires); i++ {
		k := t.dedupOrder[i]
		if rec, ok := t.dedup[k.key]; ok && rec.expires.Equal(k.expires) {
			delete(t.dedup, k.key)
		}
	}
	t.dedupOrder = t.dedupOrder[i:]
}

// dedupLocked returns the deduplication id of an entry to a FIFO topic
// (explicit, or the SHA-256 of the message under content-based
// deduplication), the key it is remembered under (per message group when
// FifoThroughputScope is MessageGroup) and, when dup is set, the record of
// the earlier message with that key inside the window.
func (t *snsTopic) dedupLocked(e *snsPublishEntry) (dedupID, key string, prev snsDedupRecord, dup bool) {
	dedupID = e.DedupID
	if dedupID == "" {
		sum := sha256.Sum256([]byte(e.Message))
		dedupID = hex.EncodeToString(sum[:])
	}
	key = dedupID
	if t.attrs["FifoThroughputScope"] == "MessageGroup" {
		key = e.GroupID + "\x00" + dedupID
	}
	prev, dup = t.dedup[key]
	return dedupID, key, prev, dup
}

// rememberLocked hands out the next FIFO sequence number and remembers the
// message under its deduplication key for the deduplication window.
func (t *snsTopic) rememberLocked(key, messageID string, now time.Time) string {
	t.seq++
	seq := strconv.FormatUint(snsFirstSequenceNumber+t.seq, 10)
	exp := now.Add(snsDedupWindow)
	t.dedup[key] = snsDedupRecord{messageID: messageID, sequence: seq, expires: exp}
	t.dedupOrder = append(t.dedupOrder, snsDedupKey{key: key, expires: exp})
	return seq
}

// publish publishes entries to a topic and delivers them, synchronously, to
// every confirmed sqs subscription whose filter policy matches. The topic
// lock is released before SQS is called; publishes to one FIFO topic are
// serialised so deliveries keep the publish order. A topic-level error
// (missing topic) is returned as the error; entry errors are in the results.
func (n *snsService) publish(topicARN, param string, entries []*snsPublishEntry) ([]snsPublishResult, *snsError) {
	if err := snsParseTopicARN(topicARN, param); err != nil {
		return nil, err
	}
	n.mu.Lock()
	t := n.topics[topicARN]
	n.mu.Unlock()
	if t == nil {
		return nil, snsTopicNotFound()
	}
	results := make([]snsPublishResult, len(entries))
	valid := make([]bool, len(entries))
	for i, e := range entries {
		results[i].ID = e.ID
		if err := e.validate(); err != nil {
			results[i].Err = err
			continue
		}
		valid[i] = true
	}
	if t.fifo {
		t.publishMu.Lock()
		defer t.publishMu.Unlock()
	}
	now := n.s.opts.clock.Now()
	var plans []snsDeliveryPlan
	var endpointPlans []endpointPlan

	n.mu.Lock()
	if n.topics[topicARN] != t {
		n.mu.Unlock()
		return nil, snsTopicNotFound()
	}
	t.expireDedupLocked(now)
	for i, e := range entries {
		if !valid[i] {
			continue
		}
		if err := t.checkFIFOLocked(e); err != nil {
			results[i].Err = err
			continue
		}
		dedupID, dedupKey := e.DedupID, ""
		if t.fifo {
			var (
				prev snsDedupRecord
				dup  bool
			)
			dedupID, dedupKey, prev, dup = t.dedupLocked(e)
			if dup {
				// A duplicate inside the window is accepted but not delivered.
				results[i].MessageID, results[i].SequenceNumber = prev.messageID, prev.sequence
				continue
			}
		}
		msgID := uuid.NewString()
		seq := ""
		if t.fifo {
			seq = t.rememberLocked(dedupKey, msgID, now)
		}
		results[i].MessageID, results[i].SequenceNumber = msgID, seq
		message := e.messageFor("sqs")
		for _, sub := range t.subs {
			if sub.protocol != "sqs" && sub.confirmed {
				m := e.messageFor(sub.protocol)
				if sub.filter.matches(m, e.Attributes) {
					endpointPlans = append(endpointPlans, endpointPlan{protocol: sub.protocol, endpoint: sub.endpoint, plan: snsDeliveryPlan{
						subscriptionARN: sub.arn, raw: sub.raw, topicARN: t.arn, messageID: msgID, sequence: seq,
						subject: e.Subject, hasSubject: e.HasSubject, message: m, timestamp: now,
						signatureVersion: t.signatureVersionLocked(), attrs: e.Attributes,
					}})
				}
				continue
			}
			if sub.protocol != "sqs" || !sub.confirmed || !sub.filter.matches(message, e.Attributes) {
				continue
			}
			plans = append(plans, snsDeliveryPlan{
				queueARN: sub.endpoint, deadLetterARN: sub.deadLetterQueue(), subscriptionARN: sub.arn,
				raw: sub.raw, topicARN: t.arn, messageID: msgID, sequence: seq,
				subject: e.Subject, hasSubject: e.HasSubject, message: message, timestamp: now,
				signatureVersion: t.signatureVersionLocked(), attrs: e.Attributes,
				groupID: e.GroupID, dedupID: dedupID, fifoTopic: t.fifo,
			})
		}
	}
	n.mu.Unlock()

	for _, p := range plans {
		n.deliver(p)
	}
	for _, p := range endpointPlans {
		n.deliverToEndpoint(p.plan, p.protocol, p.endpoint)
	}
	return results, nil
}

// endpointPlan is a notification for a subscription that is not a queue.
type endpointPlan struct {
	protocol, endpoint string
	plan               snsDeliveryPlan
}

// deliver hands one message to SQS, falling back to the subscription's
// dead-letter queue when the queue refuses it.
func (n *snsService) deliver(p snsDeliveryPlan) {
	m := inboundMessage{SenderID: snsSenderID}
	if p.raw {
		m.Body = p.message
		if len(p.attrs) > 0 {
			m.Attributes = maps.Clone(p.attrs)
		}
	} else {
		m.Body = n.notificationJSON(p)
	}
	err := n.s.sqs.deliverFromSNS(p.queueARN, snsForQueue(m, p.queueARN, p))
	if err != nil && p.deadLetterARN != "" {
		err = n.s.sqs.deliverFromSNS(p.deadLetterARN, snsForQueue(m, p.deadLetterARN, p))
	}
	if err != nil {
		n.deliveryFailures.Add(1)
	}
}

// snsForQueue sets the FIFO ids when the target queue is a FIFO queue, and
// the message group id of a standard topic's message on a standard queue,
// where it marks a fair-queue tenant.
func snsForQueue(m inboundMessage, queueARN string, p snsDeliveryPlan) inboundMessage {
	if p.groupID == "" {
		return m
	}
	name, _ := snsQueueARN(queueARN)
	switch {
	case strings.HasSuffix(name, ".fifo"):
		m.MessageGroupID = p.groupID
		m.MessageDeduplicationID = p.dedupID
	case !p.fifoTopic:
		m.MessageGroupID = p.groupID
	}
	return m
}
