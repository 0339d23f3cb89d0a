package snssqstest

import (
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// snsMaxTags is how many tags a topic may carry.
const snsMaxTags = 50

var (
	snsTopicNameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	snsFIFOTopicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,251}\.fifo$`)
)

// snsTopicSettable are the topic attributes SetTopicAttributes and
// CreateTopic accept (FifoTopic only at creation).
var snsTopicSettable = map[string]bool{
	"DisplayName": true, "Policy": true, "DeliveryPolicy": true, "KmsMasterKeyId": true,
	"SignatureVersion": true, "TracingConfig": true, "ContentBasedDeduplication": true,
	"FifoThroughputScope": true, "ArchivePolicy": true,
	"ApplicationSuccessFeedbackRoleArn": true, "ApplicationSuccessFeedbackSampleRate": true, "ApplicationFailureFeedbackRoleArn": true,
	"HTTPSuccessFeedbackRoleArn": true, "HTTPSuccessFeedbackSampleRate": true, "HTTPFailureFeedbackRoleArn": true,
	"LambdaSuccessFeedbackRoleArn": true, "LambdaSuccessFeedbackSampleRate": true, "LambdaFailureFeedbackRoleArn": true,
	"FirehoseSuccessFeedbackRoleArn": true, "FirehoseSuccessFeedbackSampleRate": true, "FirehoseFailureFeedbackRoleArn": true,
	"SQSSuccessFeedbackRoleArn": true, "SQSSuccessFeedbackSampleRate": true, "SQSFailureFeedbackRoleArn": true,
}

// snsTopic is one topic. Its fields are guarded by snsService.mu, except
// publishMu, which serialises publishes to a FIFO topic so that deliveries
// keep the publish order without holding snsService.mu while calling SQS.
type snsTopic struct {
	arn, name    string
	fifo         bool
	contentDedup bool
	attrs        map[string]string // settable attributes other than ContentBasedDeduplication
	tags         map[string]string
	subs         []*snsSubscription // in creation order
	deleted      int                // SubscriptionsDeleted
	seq          uint64             // last FIFO sequence number handed out
	dedup        map[string]snsDedupRecord
	dedupOrder   []snsDedupKey // insertion order, for expiry

	dataProtection string // PutDataProtectionPolicy's document, stored only

	publishMu sync.Mutex
}

func (n *snsService) createTopic(name string, attrs, tags map[string]string) (string, *snsError) {
	fifo := false
	if v, ok := attrs["FifoTopic"]; ok {
		b, err := snsBool("FifoTopic", v)
		if err != nil {
			return "", err
		}
		fifo = b
	}
	if fifo {
		if !snsFIFOTopicNameRE.MatchString(name) {
			return "", snsInvalidParameter("Invalid parameter: Topic Name: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
		}
	} else if !snsTopicNameRE.MatchString(name) {
		return "", snsInvalidParameter("Invalid parameter: Topic Name: Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
	}
	for k, v := range attrs {
		if k == "FifoTopic" {
			continue
		}
		if err := snsValidateTopicAttribute(k, v, fifo, true); err != nil {
			return "", err
		}
	}
	if err := snsValidateTags(tags); err != nil {
		return "", err
	}
	arn := n.topicARN(name)

	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.topics[arn]; ok {
		// CreateTopic is idempotent, but not for different attributes or tags.
		cur := t.attributesLocked(n.account)
		for k, v := range attrs {
			if k == "FifoTopic" {
				if b, _ := snsBool(k, v); b != t.fifo {
					return "", snsInvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
				}
				continue
			}
			if cur[k] != v && !(k == "ContentBasedDeduplication" && strings.EqualFold(cur[k], v)) {
				return "", snsInvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		for k, v := range tags {
			if old, ok := t.tags[k]; !ok || old != v {
				return "", snsInvalidParameter("Invalid parameter: Tags Reason: Topic already exists with different tags")
			}
		}
		return arn, nil
	}
	t := &snsTopic{arn: arn, name: name, fifo: fifo, attrs: map[string]string{}, tags: map[string]string{}, dedup: map[string]snsDedupRecord{}}
	for k, v := range attrs {
		t.setAttributeLocked(k, v)
	}
	maps.Copy(t.tags, tags)
	n.topics[arn] = t
	return arn, nil
}

// snsValidateTopicAttribute checks one settable topic attribute.
func snsValidateTopicAttribute(name, value string, fifo, creating bool) *snsError {
	if !snsTopicSettable[name] {
		if name == "FifoTopic" && !creating {
			return snsInvalidParameter("Invalid parameter: AttributeName Reason: FifoTopic can only be set when the topic is created")
		}
		return snsInvalidParameter("Invalid parameter: AttributeName")
	}
	switch name {
	case "ContentBasedDeduplication":
		if _, err := snsBool(name, value); err != nil {
			return err
		}
		return snsRequireFIFO(name, fifo)
	case "FifoThroughputScope":
		if err := snsRequireFIFO(name, fifo); err != nil {
			return err
		}
		if value != "Topic" && value != "MessageGroup" {
			return snsInvalidParameter("Invalid parameter: Attributes Reason: FifoThroughputScope must be Topic or MessageGroup")
		}
	case "ArchivePolicy":
		if err := snsRequireFIFO(name, fifo); err != nil {
			return err
		}
		return snsValidateJSON(name, value)
	case "Policy", "DeliveryPolicy":
		return snsValidateJSON(name, value)
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return snsInvalidParameter("Invalid parameter: SignatureVersion")
		}
	case "TracingConfig":
		if value != "PassThrough" && value != "Active" {
			return snsInvalidParameter("Invalid parameter: TracingConfig")
		}
	case "DisplayName":
		if utf8.RuneCountInString(value) > 100 {
			return snsInvalidParameter("Invalid parameter: DisplayName")
		}
	}
	return nil
}

// snsRequireFIFO rejects, on a standard topic, an attribute only FIFO
// topics have.
func snsRequireFIFO(name string, fifo bool) *snsError {
	if !fifo {
		return snsInvalidParameter("Invalid parameter: Attributes Reason: %s can only be set for FIFO topics", name)
	}
	return nil
}

func snsValidateTags(tags map[string]string) *snsError {
	if len(tags) > snsMaxTags {
		return snsBadRequest("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(v) > 256 {
			return snsInvalidParameter("Invalid parameter: Tags")
		}
	}
	return nil
}

func (t *snsTopic) setAttributeLocked(name, value string) {
	if name == "ContentBasedDeduplication" {
		t.contentDedup, _ = snsBool(name, value)
		return
	}
	if value == "" && name != "DisplayName" {
		delete(t.attrs, name)
		return
	}
	t.attrs[name] = value
}

func (n *snsService) deleteTopic(arn string) *snsError {
	if err := snsParseTopicARN(arn, "TopicArn"); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.topics[arn]
	if !ok {
		return nil // deleting a topic that does not exist is not an error
	}
	for _, sub := range t.subs {
		delete(n.subs, sub.arn)
	}
	delete(n.topics, arn)
	return nil
}

// listTopics returns one page of topic ARNs, in ARN order; the token is
// the last ARN of the previous page, so deletions between pages skip nothing.
func (n *snsService) listTopics(token string) ([]string, string, *snsError) {
	after, err := snsDecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	n.mu.Lock()
	arns := make([]string, 0, len(n.topics))
	for arn := range n.topics {
		if after == "" || arn > after {
			arns = append(arns, arn)
		}
	}
	n.mu.Unlock()
	sort.Strings(arns)
	next := ""
	if len(arns) > snsPageSize {
		arns = arns[:snsPageSize]
		next = snsEncodeToken(arns[len(arns)-1])
	}
	return arns, next, nil
}

func (n *snsService) lookupTopicLocked(arn, param string) (*snsTopic, *snsError) {
	if err := snsParseTopicARN(arn, param); err != nil {
		return nil, err
	}
	t, ok := n.topics[arn]
	if !ok {
		return nil, snsTopicNotFound()
	}
	return t, nil
}

func (n *snsService) topicAttributes(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(arn, "TopicArn")
	if err != nil {
		return nil, err
	}
	return t.attributesLocked(n.account), nil
}

// attributesLocked is what GetTopicAttributes returns: the set attributes
// plus the read-only ones. FifoTopic, ContentBasedDeduplication and
// FifoThroughputScope appear only for FIFO topics, as in AWS.
func (t *snsTopic) attributesLocked(account string) map[string]string {
	out := map[string]string{
		"TopicArn":                t.arn,
		"Owner":                   account,
		"DisplayName":             "",
		"Policy":                  snsDefaultTopicPolicy(t.arn, account),
		"EffectiveDeliveryPolicy": snsDefaultEffectiveDeliveryPolicy,
		"SubscriptionsDeleted":    strconv.Itoa(t.deleted),
	}
	confirmed, pending := 0, 0
	for _, s := range t.subs {
		if s.confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	out["SubscriptionsConfirmed"] = strconv.Itoa(confirmed)
	out["SubscriptionsPending"] = strconv.Itoa(pending)
	maps.Copy(out, t.attrs)
	if t.fifo {
		out["FifoTopic"] = "true"
		out["ContentBasedDeduplication"] = strconv.FormatBool(t.contentDedup)
		if _, ok := out["FifoThroughputScope"]; !ok {
			out["FifoThroughputScope"] = "Topic"
		}
	}
	return out
}

func snsDefaultTopicPolicy(arn, account string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"` +
		arn + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + account + `"}}}]}`
}

func (n *snsService) setTopicAttribute(arn, name, value string) *snsError {
	if name == "" {
		return snsInvalidParameter("Invalid parameter: AttributeName")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(arn, "TopicArn")
	if err != nil {
		return err
	}
	if err := snsValidateTopicAttribute(name, value, t.fifo, false); err != nil {
		return err
	}
	t.setAttributeLocked(name, value)
	return nil
}

// ---- tags ----

// taggedTopicLocked finds the topic a tagging action addresses: unlike the
// topic actions, a missing one is ResourceNotFound.
func (n *snsService) taggedTopicLocked(arn string) (*snsTopic, *snsError) {
	t, ok := n.topics[arn]
	if !ok {
		return nil, snsResourceNotFound()
	}
	return t, nil
}

func (n *snsService) tagResource(arn string, tags map[string]string) *snsError {
	if err := snsValidateTags(tags); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.taggedTopicLocked(arn)
	if err != nil {
		return err
	}
	merged := make(map[string]string, len(t.tags)+len(tags))
	maps.Copy(merged, t.tags)
	maps.Copy(merged, tags)
	if err := snsValidateTags(merged); err != nil {
		return err
	}
	t.tags = merged
	return nil
}

func (n *snsService) untagResource(arn string, keys []string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.taggedTopicLocked(arn)
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(t.tags, k)
	}
	return nil
}

func (n *snsService) listTags(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.taggedTopicLocked(arn)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(t.tags))
	maps.Copy(out, t.tags)
	return out, nil
}

func (t *snsTopic) signatureVersionLocked() string {
	if v := t.attrs["SignatureVersion"]; v != "" {
		return v
	}
	return "1"
}
