package snssqstest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SNS limits and constants the emulator enforces, as documented by AWS.
const (
	snsMaxMessageBytes          = 262144 // message + attributes, and a whole PublishBatch
	snsMaxAttributes            = 10
	snsMaxSubjectChars          = 100
	snsMaxBatchEntries          = 10
	snsMaxFIFOIDChars           = 128
	snsDedupWindow              = 5 * time.Minute
	snsPageSize                 = 100
	snsMaxTags                  = 50
	snsSenderID                 = "AIDAIT2UOQQY3AUEKVGXU" // the SenderId SQS shows for messages SNS delivered
	snsFirstSequenceNumber      = 10000000000000000000
	snsTimestampLayout          = "2006-01-02T15:04:05.000Z"
	snsSigningCertName          = "SimpleNotificationService-0000000000000000000000000000000.pem"
	snsPendingConfirmation      = "PendingConfirmation"
	snsPendingConfirmationReply = "pending confirmation" // Subscribe's answer for an unconfirmed subscription
)

var (
	snsTopicNameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	snsFIFOTopicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,251}\.fifo$`)
	snsAttrNameRE      = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	snsBatchIDRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	snsFIFOIDRE        = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")
)

// snsProtocols are the protocols Subscribe accepts. Only sqs subscriptions
// are confirmed and delivered to; the others are stored as pending
// confirmation (the emulator cannot reach e-mail, HTTP or phone endpoints)
// and never receive messages.
var snsProtocols = map[string]bool{
	"sqs": true, "http": true, "https": true, "email": true, "email-json": true,
	"sms": true, "application": true, "lambda": true, "firehose": true,
}

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

// snsSubscriptionSettable are the subscription attributes Subscribe and
// SetSubscriptionAttributes accept.
var snsSubscriptionSettable = map[string]bool{
	"RawMessageDelivery": true, "FilterPolicy": true, "FilterPolicyScope": true,
	"RedrivePolicy": true, "DeliveryPolicy": true, "SubscriptionRoleArn": true,
}

const snsDefaultEffectiveDeliveryPolicy = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`

// snsService is the SNS half of the emulator: topics, subscriptions and
// publishing, with synchronous delivery to subscribed SQS queues.
type snsService struct {
	s *Server

	mu     sync.Mutex
	topics map[string]*snsTopic        // by ARN
	subs   map[string]*snsSubscription // by ARN
	subSeq uint64                      // creation order of subscriptions

	// deliveryFailures counts deliveries SQS refused (missing queue, ...),
	// after any redrive to the subscription's dead-letter queue.
	deliveryFailures atomic.Int64
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

	publishMu sync.Mutex
}

type snsDedupRecord struct {
	messageID, sequence string
	expires             time.Time
}

type snsDedupKey struct {
	key     string
	expires time.Time
}

// snsSubscription is one subscription of a topic.
type snsSubscription struct {
	arn, topicARN, protocol, endpoint string
	seq                               uint64
	confirmed                         bool
	raw                               bool
	filterJSON                        string
	filterScope                       string // "" until set; MessageAttributes is the default
	filter                            *filterPolicy
	attrs                             map[string]string // RedrivePolicy, DeliveryPolicy, SubscriptionRoleArn
}

// snsError is an SNS error as the query protocol reports it.
type snsError struct {
	status  int
	code    string
	message string
}

func (e *snsError) Error() string { return e.code + ": " + e.message }

func snsInvalidParameter(format string, args ...any) *snsError {
	return &snsError{status: http.StatusBadRequest, code: "InvalidParameter", message: fmt.Sprintf(format, args...)}
}

// snsInvalidParameterValue is InvalidParameterValueException, whose query
// protocol code is ParameterValueInvalid.
func snsInvalidParameterValue(format string, args ...any) *snsError {
	return &snsError{status: http.StatusBadRequest, code: "ParameterValueInvalid", message: fmt.Sprintf(format, args...)}
}

func snsTopicNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "NotFound", message: "Topic does not exist"}
}

func snsSubscriptionNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "NotFound", message: "Subscription does not exist"}
}

func snsResourceNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "ResourceNotFound", message: "Resource does not exist"}
}

func newSNSService(s *Server) *snsService {
	return &snsService{s: s, topics: make(map[string]*snsTopic), subs: make(map[string]*snsSubscription)}
}

func (n *snsService) topicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", n.s.opts.region, n.s.opts.accountID, name)
}

// snsParseTopicARN checks an ARN has the shape arn:PARTITION:sns:REGION:ACCOUNT:NAME.
func snsParseTopicARN(arn, param string) *snsError {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sns" || p[5] == "" {
		return snsInvalidParameter("Invalid parameter: %s", param)
	}
	return nil
}

// snsQueueARN reports whether arn looks like arn:PARTITION:sqs:REGION:ACCOUNT:NAME
// and returns the queue name.
func snsQueueARN(arn string) (string, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[3] == "" || p[4] == "" || p[5] == "" {
		return "", false
	}
	return p[5], true
}

func snsBool(name, v string) (bool, *snsError) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, snsInvalidParameter("Invalid parameter: Attributes Reason: %s: Invalid value [%s]. Must be true or false.", name, v)
}

// ---- topics ----

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
		cur := t.attributesLocked(n.s.opts.accountID)
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
	for k, v := range tags {
		t.tags[k] = v
	}
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
		if !fifo {
			return snsInvalidParameter("Invalid parameter: Attributes Reason: ContentBasedDeduplication can only be set for FIFO topics")
		}
	case "FifoThroughputScope":
		if !fifo {
			return snsInvalidParameter("Invalid parameter: Attributes Reason: FifoThroughputScope can only be set for FIFO topics")
		}
		if value != "Topic" && value != "MessageGroup" {
			return snsInvalidParameter("Invalid parameter: Attributes Reason: FifoThroughputScope must be Topic or MessageGroup")
		}
	case "ArchivePolicy":
		if !fifo {
			return snsInvalidParameter("Invalid parameter: Attributes Reason: ArchivePolicy can only be set for FIFO topics")
		}
		if value != "" && !json.Valid([]byte(value)) {
			return snsInvalidParameter("Invalid parameter: ArchivePolicy: failed to parse JSON")
		}
	case "Policy", "DeliveryPolicy":
		if value != "" && !json.Valid([]byte(value)) {
			return snsInvalidParameter("Invalid parameter: %s: failed to parse JSON", name)
		}
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

func snsValidateTags(tags map[string]string) *snsError {
	if len(tags) > snsMaxTags {
		return &snsError{status: http.StatusBadRequest, code: "TagLimitExceeded", message: "Could not complete request: tag quota of per resource exceeded"}
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

func snsEncodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func snsDecodeToken(tok string) (string, *snsError) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", snsInvalidParameter("Invalid parameter: NextToken")
	}
	return string(b), nil
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
	return t.attributesLocked(n.s.opts.accountID), nil
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
	for k, v := range t.attrs {
		out[k] = v
	}
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

func (n *snsService) tagResource(arn string, tags map[string]string) *snsError {
	if err := snsValidateTags(tags); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.topics[arn]
	if !ok {
		return snsResourceNotFound()
	}
	merged := make(map[string]string, len(t.tags)+len(tags))
	for k, v := range t.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	if err := snsValidateTags(merged); err != nil {
		return err
	}
	t.tags = merged
	return nil
}

func (n *snsService) untagResource(arn string, keys []string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.topics[arn]
	if !ok {
		return snsResourceNotFound()
	}
	for _, k := range keys {
		delete(t.tags, k)
	}
	return nil
}

func (n *snsService) listTags(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.topics[arn]
	if !ok {
		return nil, snsResourceNotFound()
	}
	out := make(map[string]string, len(t.tags))
	for k, v := range t.tags {
		out[k] = v
	}
	return out, nil
}

// ---- subscriptions ----

// snsSubscriptionSummary is one row of ListSubscriptions(ByTopic).
type snsSubscriptionSummary struct {
	SubscriptionArn, Owner, Protocol, Endpoint, TopicArn string
}

func (n *snsService) subscribe(topicARN, protocol, endpoint string, attrs map[string]string, returnARN bool) (string, *snsError) {
	if protocol == "" {
		return "", snsInvalidParameter("Invalid parameter: Protocol")
	}
	if !snsProtocols[protocol] {
		return "", snsInvalidParameter("Invalid parameter: Amazon SNS does not support this protocol string: %s", protocol)
	}
	if endpoint == "" {
		return "", snsInvalidParameter("Invalid parameter: Endpoint")
	}
	queueName := ""
	if protocol == "sqs" {
		name, ok := snsQueueARN(endpoint)
		if !ok {
			return "", snsInvalidParameter("Invalid parameter: SQS endpoint ARN")
		}
		queueName = name
	}
	for k := range attrs {
		if !snsSubscriptionSettable[k] {
			return "", snsInvalidParameter("Invalid parameter: Attributes Reason: Unknown attribute name %s", k)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(topicARN, "TopicArn")
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(queueName, ".fifo") && !t.fifo {
		return "", snsInvalidParameter("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics")
	}
	for _, s := range t.subs {
		if s.protocol != protocol || s.endpoint != endpoint {
			continue
		}
		// AWS answers a repeated Subscribe with the existing subscription,
		// unless the attributes differ.
		cur := s.attributesLocked(n.s.opts.accountID)
		for k, v := range attrs {
			if cur[k] != v && !(k == "RawMessageDelivery" && strings.EqualFold(cur[k], v)) &&
				!(k == "FilterPolicyScope" && v == scopeMessageAttributes && s.filterScope == "") {
				return "", snsInvalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
			}
		}
		if !s.confirmed && !returnARN {
			return snsPendingConfirmationReply, nil
		}
		return s.arn, nil
	}
	sub := &snsSubscription{
		arn:       topicARN + ":" + uuid.NewString(),
		topicARN:  topicARN,
		protocol:  protocol,
		endpoint:  endpoint,
		confirmed: protocol == "sqs",
		attrs:     map[string]string{},
	}
	// FilterPolicyScope first: the policy is validated against it.
	if v, ok := attrs["FilterPolicyScope"]; ok {
		if err := sub.setAttribute("FilterPolicyScope", v); err != nil {
			return "", err
		}
	}
	for k, v := range attrs {
		if k == "FilterPolicyScope" {
			continue
		}
		if err := sub.setAttribute(k, v); err != nil {
			return "", err
		}
	}
	n.subSeq++
	sub.seq = n.subSeq
	n.subs[sub.arn] = sub
	t.subs = append(t.subs, sub)
	if !sub.confirmed && !returnARN {
		return snsPendingConfirmationReply, nil
	}
	return sub.arn, nil
}

// setAttribute validates and applies one subscription attribute. The caller
// holds snsService.mu (or owns sub exclusively).
func (sub *snsSubscription) setAttribute(name, value string) *snsError {
	switch name {
	case "RawMessageDelivery":
		b, err := snsBool(name, value)
		if err != nil {
			return err
		}
		sub.raw = b
	case "FilterPolicy":
		if value == "" {
			sub.filterJSON, sub.filter = "", nil
			return nil
		}
		fp, err := compileFilterPolicy(value, sub.filterScope)
		if err != nil {
			return snsInvalidParameter("%s", err.Error())
		}
		sub.filterJSON, sub.filter = value, fp
	case "FilterPolicyScope":
		if value != scopeMessageAttributes && value != scopeMessageBody {
			return snsInvalidParameter("Invalid parameter: FilterPolicyScope: Invalid filter policy scope: %s", value)
		}
		if sub.filterJSON != "" {
			fp, err := compileFilterPolicy(sub.filterJSON, value)
			if err != nil {
				return snsInvalidParameter("%s", err.Error())
			}
			sub.filter = fp
		}
		sub.filterScope = value
	case "RedrivePolicy":
		if value == "" {
			delete(sub.attrs, name)
			return nil
		}
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if err := json.Unmarshal([]byte(value), &rp); err != nil {
			return snsInvalidParameter("Invalid parameter: RedrivePolicy: failed to parse JSON")
		}
		if _, ok := snsQueueARN(rp.DeadLetterTargetArn); !ok {
			return snsInvalidParameter("Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
		}
		sub.attrs[name] = value
	case "DeliveryPolicy":
		if value != "" && !json.Valid([]byte(value)) {
			return snsInvalidParameter("Invalid parameter: DeliveryPolicy: failed to parse JSON")
		}
		if value == "" {
			delete(sub.attrs, name)
		} else {
			sub.attrs[name] = value
		}
	case "SubscriptionRoleArn":
		if value == "" {
			delete(sub.attrs, name)
		} else {
			sub.attrs[name] = value
		}
	default:
		return snsInvalidParameter("Invalid parameter: AttributeName")
	}
	return nil
}

// deadLetterQueue returns the deadLetterTargetArn of the RedrivePolicy, if any.
func (sub *snsSubscription) deadLetterQueue() string {
	v, ok := sub.attrs["RedrivePolicy"]
	if !ok {
		return ""
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(v), &rp) != nil {
		return ""
	}
	return rp.DeadLetterTargetArn
}

func (sub *snsSubscription) attributesLocked(account string) map[string]string {
	out := map[string]string{
		"SubscriptionArn":              sub.arn,
		"TopicArn":                     sub.topicARN,
		"Owner":                        account,
		"Protocol":                     sub.protocol,
		"Endpoint":                     sub.endpoint,
		"ConfirmationWasAuthenticated": strconv.FormatBool(sub.confirmed),
		"PendingConfirmation":          strconv.FormatBool(!sub.confirmed),
		"RawMessageDelivery":           strconv.FormatBool(sub.raw),
		"SubscriptionPrincipal":        "arn:aws:iam::" + account + ":root",
	}
	if sub.filterJSON != "" {
		out["FilterPolicy"] = sub.filterJSON
		out["FilterPolicyScope"] = scopeMessageAttributes
		if sub.filterScope != "" {
			out["FilterPolicyScope"] = sub.filterScope
		}
	}
	if sub.protocol == "http" || sub.protocol == "https" {
		out["EffectiveDeliveryPolicy"] = snsDefaultEffectiveDeliveryPolicy
	}
	for k, v := range sub.attrs {
		out[k] = v
	}
	return out
}

func (n *snsService) lookupSubscriptionLocked(arn string) (*snsSubscription, *snsError) {
	if arn == "" {
		return nil, snsInvalidParameter("Invalid parameter: SubscriptionArn")
	}
	sub, ok := n.subs[arn]
	if !ok {
		if p := strings.Split(arn, ":"); len(p) != 7 || p[0] != "arn" || p[2] != "sns" {
			return nil, snsInvalidParameter("Invalid parameter: SubscriptionArn")
		}
		return nil, snsSubscriptionNotFound()
	}
	return sub, nil
}

func (n *snsService) unsubscribe(arn string) *snsError {
	n.mu.Lock()
	defer n.mu.Unlock()
	sub, err := n.lookupSubscriptionLocked(arn)
	if err != nil {
		return err
	}
	delete(n.subs, arn)
	if t, ok := n.topics[sub.topicARN]; ok {
		for i, s := range t.subs {
			if s == sub {
				t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
				break
			}
		}
		t.deleted++
	}
	return nil
}

func (n *snsService) subscriptionAttributes(arn string) (map[string]string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	sub, err := n.lookupSubscriptionLocked(arn)
	if err != nil {
		return nil, err
	}
	return sub.attributesLocked(n.s.opts.accountID), nil
}

func (n *snsService) setSubscriptionAttribute(arn, name, value string) *snsError {
	if !snsSubscriptionSettable[name] {
		return snsInvalidParameter("Invalid parameter: AttributeName")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	sub, err := n.lookupSubscriptionLocked(arn)
	if err != nil {
		return err
	}
	return sub.setAttribute(name, value)
}

// listSubscriptions returns one page of subscriptions (of one topic when
// topicARN is set), in creation order; the token is the creation sequence
// of the last row returned.
func (n *snsService) listSubscriptions(topicARN, token string) ([]snsSubscriptionSummary, string, *snsError) {
	afterStr, err := snsDecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	var after uint64
	if afterStr != "" {
		v, perr := strconv.ParseUint(afterStr, 10, 64)
		if perr != nil {
			return nil, "", snsInvalidParameter("Invalid parameter: NextToken")
		}
		after = v
	}
	n.mu.Lock()
	var subs []*snsSubscription
	if topicARN != "" {
		t, err := n.lookupTopicLocked(topicARN, "TopicArn")
		if err != nil {
			n.mu.Unlock()
			return nil, "", err
		}
		subs = append(subs, t.subs...)
	} else {
		for _, s := range n.subs {
			subs = append(subs, s)
		}
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].seq < subs[j].seq })
	var out []snsSubscriptionSummary
	next := ""
	var last uint64
	for _, s := range subs {
		if s.seq <= after {
			continue
		}
		if len(out) == snsPageSize {
			next = snsEncodeToken(strconv.FormatUint(last, 10))
			break
		}
		last = s.seq
		arn := s.arn
		if !s.confirmed {
			arn = snsPendingConfirmation
		}
		out = append(out, snsSubscriptionSummary{SubscriptionArn: arn, Owner: n.s.opts.accountID, Protocol: s.protocol, Endpoint: s.endpoint, TopicArn: s.topicARN})
	}
	n.mu.Unlock()
	return out, next, nil
}

// ---- publishing ----

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
	if e.GroupID != "" && !snsFIFOIDRE.MatchString(e.GroupID) {
		return snsInvalidParameter("Invalid parameter: MessageGroupId Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to %d in length.", snsMaxFIFOIDChars)
	}
	if e.DedupID != "" && !snsFIFOIDRE.MatchString(e.DedupID) {
		return snsInvalidParameter("Invalid parameter: MessageDeduplicationId Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to %d in length.", snsMaxFIFOIDChars)
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

// snsAttrBaseType returns the type a data type is based on: "String" for
// "String", "String.Array" or "String.custom".
func snsAttrBaseType(dataType string) string {
	base, _, _ := strings.Cut(dataType, ".")
	return base
}

// snsIsStringArray reports the String.Array data type, whose value is a
// JSON array that filter policies match element by element.
func snsIsStringArray(dataType string) bool { return dataType == "String.Array" }

func snsValidateAttributes(attrs map[string]messageAttribute) *snsError {
	if len(attrs) > snsMaxAttributes {
		return snsInvalidParameter("Invalid parameter: MessageAttributes Reason: Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), snsMaxAttributes)
	}
	for name, a := range attrs {
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
		switch snsAttrBaseType(a.DataType) {
		case "String":
			if a.StringValue == "" {
				return snsInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
			}
			if snsIsStringArray(a.DataType) {
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
			}
		case "Number":
			if a.StringValue == "" {
				return snsInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
			}
			if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
				return snsInvalidParameterValue("Could not cast message attribute '%s' value to number.", name)
			}
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return snsInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
			}
		default:
			return snsInvalidParameterValue("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
	}
	return nil
}

// checkFIFOLocked applies the rules that depend on the topic type.
func (t *snsTopic) checkFIFOLocked(e *snsPublishEntry) *snsError {
	if !t.fifo {
		if e.GroupID != "" {
			return snsInvalidParameter("Invalid parameter: MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type")
		}
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
		dedupID := e.DedupID
		var dedupKey string
		if t.fifo {
			if dedupID == "" {
				sum := sha256.Sum256([]byte(e.Message))
				dedupID = hex.EncodeToString(sum[:])
			}
			dedupKey = dedupID
			if t.attrs["FifoThroughputScope"] == "MessageGroup" {
				dedupKey = e.GroupID + "\x00" + dedupID
			}
			if rec, ok := t.dedup[dedupKey]; ok {
				// A duplicate inside the window is accepted but not delivered.
				results[i].MessageID, results[i].SequenceNumber = rec.messageID, rec.sequence
				continue
			}
		}
		msgID := uuid.NewString()
		seq := ""
		if t.fifo {
			t.seq++
			seq = strconv.FormatUint(snsFirstSequenceNumber+t.seq, 10)
			exp := now.Add(snsDedupWindow)
			t.dedup[dedupKey] = snsDedupRecord{messageID: msgID, sequence: seq, expires: exp}
			t.dedupOrder = append(t.dedupOrder, snsDedupKey{key: dedupKey, expires: exp})
		}
		results[i].MessageID, results[i].SequenceNumber = msgID, seq
		message := e.messageFor("sqs")
		for _, sub := range t.subs {
			if sub.protocol != "sqs" || !sub.confirmed || !sub.filter.matches(message, e.Attributes) {
				continue
			}
			plans = append(plans, snsDeliveryPlan{
				queueARN: sub.endpoint, deadLetterARN: sub.deadLetterQueue(), subscriptionARN: sub.arn,
				raw: sub.raw, topicARN: t.arn, messageID: msgID, sequence: seq,
				subject: e.Subject, hasSubject: e.HasSubject, message: message, timestamp: now,
				signatureVersion: t.signatureVersionLocked(), attrs: e.Attributes,
				groupID: e.GroupID, dedupID: dedupID,
			})
		}
	}
	n.mu.Unlock()

	for _, p := range plans {
		n.deliver(p)
	}
	return results, nil
}

func (t *snsTopic) signatureVersionLocked() string {
	if v := t.attrs["SignatureVersion"]; v != "" {
		return v
	}
	return "1"
}

// deliver hands one message to SQS, falling back to the subscription's
// dead-letter queue when the queue refuses it.
func (n *snsService) deliver(p snsDeliveryPlan) {
	m := inboundMessage{SenderID: snsSenderID}
	if p.raw {
		m.Body = p.message
		if len(p.attrs) > 0 {
			m.Attributes = make(map[string]messageAttribute, len(p.attrs))
			for k, v := range p.attrs {
				m.Attributes[k] = v
			}
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

// snsForQueue sets the FIFO ids when the target queue is a FIFO queue.
func snsForQueue(m inboundMessage, queueARN string, p snsDeliveryPlan) inboundMessage {
	if name, _ := snsQueueARN(queueARN); strings.HasSuffix(name, ".fifo") && p.groupID != "" {
		m.MessageGroupID = p.groupID
		m.MessageDeduplicationID = p.dedupID
	}
	return m
}

// notificationJSON formats the JSON document SNS delivers when raw message
// delivery is off, byte for byte in AWS's layout: two-space indent,
// " : " separators, keys in AWS's order. FIFO topics, like AWS, add
// SequenceNumber and omit the signature fields. The signature is not a real
// RSA signature; SigningCertURL and UnsubscribeURL point at the emulator
// (the UnsubscribeURL works with a plain GET).
func (n *snsService) notificationJSON(p snsDeliveryPlan) string {
	type kv struct{ k, v string }
	ts := p.timestamp.UTC().Format(snsTimestampLayout)
	fields := []kv{{"Type", "Notification"}, {"MessageId", p.messageID}}
	if p.sequence != "" {
		fields = append(fields, kv{"SequenceNumber", p.sequence})
	}
	fields = append(fields, kv{"TopicArn", p.topicARN})
	if p.hasSubject {
		fields = append(fields, kv{"Subject", p.subject})
	}
	fields = append(fields, kv{"Message", p.message}, kv{"Timestamp", ts})
	if p.sequence == "" {
		fields = append(fields,
			kv{"SignatureVersion", p.signatureVersion},
			kv{"Signature", snsFakeSignature(p, ts)},
			kv{"SigningCertURL", n.s.url + "/" + snsSigningCertName},
		)
	}
	fields = append(fields, kv{"UnsubscribeURL", n.s.url + "/?Action=Unsubscribe&SubscriptionArn=" + p.subscriptionARN})

	var b strings.Builder
	b.WriteString("{\n")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  ")
		b.WriteString(snsJSONString(f.k))
		b.WriteString(" : ")
		b.WriteString(snsJSONString(f.v))
	}
	if len(p.attrs) > 0 {
		names := make([]string, 0, len(p.attrs))
		for k := range p.attrs {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString(",\n  \"MessageAttributes\" : {\n")
		for i, name := range names {
			a := p.attrs[name]
			value := a.StringValue
			if snsAttrBaseType(a.DataType) == "Binary" {
				value = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("    ")
			b.WriteString(snsJSONString(name))
			b.WriteString(` : {"Type":`)
			b.WriteString(snsJSONString(a.DataType))
			b.WriteString(`,"Value":`)
			b.WriteString(snsJSONString(value))
			b.WriteString("}")
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n}")
	return b.String()
}

// snsJSONString encodes s as a JSON string without HTML escaping.
func snsJSONString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// snsFakeSignature stands in for the SHA1withRSA signature: the base64 of a
// SHA-1 over the string AWS signs. It is deterministic but not verifiable.
func snsFakeSignature(p snsDeliveryPlan, ts string) string {
	var b strings.Builder
	b.WriteString("Message\n" + p.message + "\nMessageId\n" + p.messageID + "\n")
	if p.hasSubject {
		b.WriteString("Subject\n" + p.subject + "\n")
	}
	b.WriteString("Timestamp\n" + ts + "\nTopicArn\n" + p.topicARN + "\nType\nNotification\n")
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}
