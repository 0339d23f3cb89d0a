package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/internal/awslimits"
)

// Filter policy scopes accepted in QueueSpec.FilterPolicyScope.
const (
	// FilterPolicyScopeMessageAttributes applies the filter policy to the
	// message attributes (the SNS default).
	FilterPolicyScopeMessageAttributes = "MessageAttributes"
	// FilterPolicyScopeMessageBody applies the filter policy to the JSON
	// message body.
	FilterPolicyScopeMessageBody = "MessageBody"
)

// Provisioning defaults and limits.
const (
	// DefaultMaxReceiveCount is the number of receives after which SQS moves a
	// message to the dead-letter queue when QueueSpec.MaxReceiveCount is zero.
	DefaultMaxReceiveCount = 5
	// DeadLetterQueueSuffix is appended to a queue's name (before ".fifo") to
	// name its dead-letter queue.
	DeadLetterQueueSuffix = "-dlq"
	// DeadLetterRetention is the MessageRetentionPeriod given to dead-letter
	// queues: 14 days, the SQS maximum.
	DeadLetterRetention = 14 * 24 * time.Hour
)

const (
	fifoSuffix       = awslimits.FIFOSuffix
	maxTopicName     = 256
	maxQueueName     = 80
	maxReceiveCount  = 1000
	maxVisibility    = awslimits.MaxVisibility
	policyVersion    = "2012-10-17"
	statementPrefix  = "snssqs-"
	snsPrincipal     = "sns.amazonaws.com"
	subscribeProto   = "sqs"
	errPrefix        = "snssqs: provision"
	attrFifoTopic    = "FifoTopic"
	attrFifoQueue    = "FifoQueue"
	attrContentDedup = "ContentBasedDeduplication"
	attrVisibility   = "VisibilityTimeout"
	attrRedrive      = "RedrivePolicy"
	attrRedriveAllow = "RedriveAllowPolicy"
	attrRetention    = "MessageRetentionPeriod"
	attrPolicy       = "Policy"
	attrQueueARN     = "QueueArn"
	attrRaw          = "RawMessageDelivery"
	attrFilter       = "FilterPolicy"
	attrFilterScope  = "FilterPolicyScope"
)

// TopologySpec describes an SNS topic and the SQS queues subscribed to it.
// The zero value is invalid: TopicName is required.
type TopologySpec struct {
	// TopicName is the topic's name (required). The topic is FIFO when the
	// name ends in ".fifo"; the queues must then be FIFO as well.
	TopicName string
	// ContentBasedDeduplication enables content-based deduplication on a FIFO
	// topic and on its (non dead-letter) queues. Default false (disabled);
	// must be false for a standard topic.
	ContentBasedDeduplication bool
	// TopicAttributes are extra topic attributes (for example DisplayName or
	// KmsMasterKeyId). Default none. FifoTopic and ContentBasedDeduplication
	// are derived from the fields above and may not appear here.
	TopicAttributes map[string]string
	// Queues are the queues to create and subscribe. Default none: only the
	// topic is provisioned. Names must be unique, dead-letter queues included.
	Queues []QueueSpec
}

// QueueSpec describes one SQS queue subscribed to the topic. Only Name is
// required; every other field's zero value is the documented default.
type QueueSpec struct {
	// Name is the queue's name (required, at most 80 characters of letters,
	// digits, '-' and '_'). It must end in ".fifo" if and only if the topic
	// is FIFO.
	Name string
	// RawMessageDelivery delivers the published message body as is instead
	// of wrapped in an SNS notification JSON document. Default false.
	RawMessageDelivery bool
	// FilterPolicy is the subscription's filter policy, a JSON object.
	// Default empty: every message is delivered (an existing filter policy is
	// removed).
	FilterPolicy string
	// FilterPolicyScope is FilterPolicyScopeMessageAttributes (the default
	// when empty) or FilterPolicyScopeMessageBody. Requires FilterPolicy.
	FilterPolicyScope string
	// DeadLetterQueue creates a dead-letter queue named Name+"-dlq" (with
	// ".fifo" kept at the end for FIFO queues), retaining messages for 14
	// days, and a redrive policy on the queue pointing to it. Default false.
	// Turning it off later does not remove an existing redrive policy: set
	// Attributes["RedrivePolicy"] = "" to remove it explicitly.
	DeadLetterQueue bool
	// MaxReceiveCount is the redrive policy's maxReceiveCount, 1 to 1000.
	// Default 0 means DefaultMaxReceiveCount (5). Requires DeadLetterQueue.
	MaxReceiveCount int
	// VisibilityTimeout is the queue's visibility timeout, in whole seconds
	// up to 12 hours. Default 0 leaves the queue's current value (30 seconds
	// for a new queue).
	VisibilityTimeout time.Duration
	// Attributes are extra queue attributes (for example DelaySeconds or
	// KmsMasterKeyId). Default none. Policy, FifoQueue and
	// ContentBasedDeduplication are managed by Apply and may not appear
	// here, nor may RedrivePolicy with DeadLetterQueue or VisibilityTimeout
	// with a non-zero VisibilityTimeout field.
	Attributes map[string]string
}

// Topology is what Apply created or found.
type Topology struct {
	// TopicARN is the topic's ARN.
	TopicARN string
	// Queues maps each QueueSpec.Name to its provisioned resources.
	Queues map[string]Queue
}

// Queue identifies one provisioned queue and its subscription.
type Queue struct {
	// URL is the queue URL, for SQS calls.
	URL string
	// ARN is the queue ARN, the subscription endpoint.
	ARN string
	// SubscriptionARN is the ARN of the topic's subscription to the queue.
	SubscriptionARN string
	// DeadLetterURL is the dead-letter queue's URL; empty without one.
	DeadLetterURL string
	// DeadLetterARN is the dead-letter queue's ARN; empty without one.
	DeadLetterARN string
}

// IsFIFO reports whether the spec describes a FIFO topic.
func (s TopologySpec) IsFIFO() bool {
	return strings.HasSuffix(s.TopicName, fifoSuffix)
}

// DeadLetterQueueName returns the name of the dead-letter queue for the queue
// named name: name+"-dlq", with a ".fifo" suffix kept at the end.
func DeadLetterQueueName(name string) string {
	if base, ok := strings.CutSuffix(name, fifoSuffix); ok {
		return base + DeadLetterQueueSuffix + fifoSuffix
	}
	return name + DeadLetterQueueSuffix
}

// Validate reports every problem with the spec, each wrapping
// snssqs.ErrInvalidOptions, joined with errors.Join; nil when the spec is valid.
func (s TopologySpec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", snssqs.ErrInvalidOptions, fmt.Sprintf(format, args...)))
	}
	fifo := s.IsFIFO()
	if !validName(s.TopicName, maxTopicName) {
		bad("topic name %q must be 1 to %d letters, digits, '-' or '_', with an optional %q suffix",
			s.TopicName, maxTopicName, fifoSuffix)
	}
	if s.ContentBasedDeduplication && !fifo {
		bad("ContentBasedDeduplication requires a FIFO topic (name ending in %q)", fifoSuffix)
	}
	for _, k := range []string{attrFifoTopic, attrContentDedup} {
		if _, ok := s.TopicAttributes[k]; ok {
			bad("topic attribute %s is derived from the spec and may not be set in TopicAttributes", k)
		}
	}
	names := make(map[string]bool, 2*len(s.Queues))
	claim := func(name string) {
		if names[name] {
			bad("queue name %q is used more than once (dead-letter queues included)", name)
		}
		names[name] = true
	}
	for _, q := range s.Queues {
		claim(q.Name)
		if q.DeadLetterQueue {
			claim(DeadLetterQueueName(q.Name))
		}
		for _, err := range q.validate(fifo) {
			bad("queue %q: %s", q.Name, err)
		}
	}
	return errors.Join(errs...)
}

// validate returns the problems with one queue spec.
func (q QueueSpec) validate(fifo bool) []string {
	var probs []string
	if !validName(q.Name, maxQueueName) {
		probs = append(probs, fmt.Sprintf("name must be 1 to %d letters, digits, '-' or '_', with an optional %q suffix",
			maxQueueName, fifoSuffix))
	} else if q.DeadLetterQueue && !validName(DeadLetterQueueName(q.Name), maxQueueName) {
		probs = append(probs, fmt.Sprintf("dead-letter queue name %q is longer than %d characters",
			DeadLetterQueueName(q.Name), maxQueueName))
	}
	if strings.HasSuffix(q.Name, fifoSuffix) != fifo {
		if fifo {
			probs = append(probs, fmt.Sprintf("name must end in %q because the topic is FIFO", fifoSuffix))
		} else {
			probs = append(probs, fmt.Sprintf("name must not end in %q because the topic is not FIFO", fifoSuffix))
		}
	}
	if q.FilterPolicy != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(q.FilterPolicy), &obj); err != nil || obj == nil {
			probs = append(probs, "FilterPolicy must be a JSON object")
		}
	}
	switch q.FilterPolicyScope {
	case "", FilterPolicyScopeMessageAttributes, FilterPolicyScopeMessageBody:
	default:
		probs = append(probs, fmt.Sprintf("FilterPolicyScope %q must be %q or %q",
			q.FilterPolicyScope, FilterPolicyScopeMessageAttributes, FilterPolicyScopeMessageBody))
	}
	if q.FilterPolicyScope != "" && q.FilterPolicy == "" {
		probs = append(probs, "FilterPolicyScope requires a FilterPolicy")
	}
	switch {
	case q.MaxReceiveCount < 0 || q.MaxReceiveCount > maxReceiveCount:
		probs = append(probs, fmt.Sprintf("MaxReceiveCount %d must be between 1 and %d (0 means %d)",
			q.MaxReceiveCount, maxReceiveCount, DefaultMaxReceiveCount))
	case q.MaxReceiveCount != 0 && !q.DeadLetterQueue:
		probs = append(probs, "MaxReceiveCount requires DeadLetterQueue")
	}
	if q.VisibilityTimeout < 0 || q.VisibilityTimeout > maxVisibility || q.VisibilityTimeout%time.Second != 0 {
		probs = append(probs, fmt.Sprintf("VisibilityTimeout %s must be whole seconds between 0 and %s",
			q.VisibilityTimeout, maxVisibility))
	}
	reserved := []string{attrPolicy, attrFifoQueue, attrContentDedup, attrQueueARN}
	if q.DeadLetterQueue {
		reserved = append(reserved, attrRedrive)
	}
	if q.VisibilityTimeout != 0 {
		reserved = append(reserved, attrVisibility)
	}
	for _, k := range reserved {
		if _, ok := q.Attributes[k]; ok {
			probs = append(probs, fmt.Sprintf("attribute %s is managed by Apply and may not be set in Attributes", k))
		}
	}
	return probs
}

// validName reports whether name is 1..max characters of letters,
// digits, '-' and '_', optionally followed by ".fifo" (counted in max).
func validName(name string, maxLen int) bool {
	if len(name) > maxLen {
		return false
	}
	base := strings.TrimSuffix(name, fifoSuffix)
	if base == "" {
		return false
	}
	for _, r := range base {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Apply creates, or brings in line, the topic, queues, dead-letter queues,
// queue policies and subscriptions described by spec, and returns their ARNs
// and URLs. It is idempotent: running it again with the same spec changes
// nothing and returns the same Topology; running it with a changed spec
// updates the mutable attributes in place (a topic or queue is never
// deleted or recreated). It follows the AWS API contract and also copes
// with emulator differences (moto's are covered by the integration test).
//
// Steps: the spec is validated first (errors wrap snssqs.ErrInvalidOptions). The
// topic is created with CreateTopic; if AWS rejects that because the topic
// exists with different attributes, CreateTopic is retried with FifoTopic
// only. When the spec sets topic attributes (always for FIFO topics), they
// are then read with GetTopicAttributes and the differing ones written with
// SetTopicAttributes, since emulators return an existing topic unchanged
// instead of rejecting the call. For each queue the
// dead-letter queue (if asked) is created first, then the queue with its
// RedrivePolicy; a queue that exists with different attributes is found with
// GetQueueUrl and updated with SetQueueAttributes. The queue's Policy gets a
// statement (see QueuePolicy) allowing the topic to send to it, merged into
// any existing policy: other statements are kept and only the statement with
// Apply's Sid for this topic is replaced. Finally the queue is
// subscribed; an existing subscription of the queue to the topic is reused
// and its RawMessageDelivery, FilterPolicy and FilterPolicyScope are updated
// with SetSubscriptionAttributes. Only attributes that differ are written.
// Apply is not atomic: on error, what was done so far stays; running it
// again resumes.
//
// IAM permissions needed: sns:CreateTopic, sns:GetTopicAttributes,
// sns:SetTopicAttributes, sns:Subscribe, sns:ListSubscriptionsByTopic,
// sns:GetSubscriptionAttributes, sns:SetSubscriptionAttributes,
// sqs:CreateQueue, sqs:GetQueueUrl, sqs:GetQueueAttributes and
// sqs:SetQueueAttributes. The queues must be in the topic's account
// (cross-account subscriptions need confirmation, which Apply does not
// do).
//
// Errors from AWS are wrapped with the failing step and stay reachable with
// errors.As (for example *sqstypes.QueueDeletedRecently or
// *smithy.GenericAPIError).
func Apply(ctx context.Context, snsClient SNSAPI, sqsClient SQSAPI, spec TopologySpec) (*Topology, error) {
	if snsClient == nil || sqsClient == nil {
		return nil, fmt.Errorf("%w: Apply needs an SNS and an SQS client", snssqs.ErrInvalidOptions)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	p := provisioner{sns: snsClient, sqs: sqsClient, spec: spec}
	topicARN, err := p.ensureTopic(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := p.listSubscriptions(ctx, topicARN)
	if err != nil {
		return nil, err
	}
	topo := &Topology{TopicARN: topicARN, Queues: make(map[string]Queue, len(spec.Queues))}
	for _, q := range spec.Queues {
		pq, err := p.ensureSubscribedQueue(ctx, topicARN, q, subs)
		if err != nil {
			return nil, err
		}
		topo.Queues[q.Name] = pq
	}
	return topo, nil
}

// provisioner carries the clients and spec through one Apply call.
type provisioner struct {
	sns  SNSAPI
	sqs  SQSAPI
	spec TopologySpec
}

// ensureTopic creates the topic or brings an existing one in line and
// returns its ARN.
func (p *provisioner) ensureTopic(ctx context.Context) (string, error) {
	name := p.spec.TopicName
	fifo := p.spec.IsFIFO()
	desired := copyAttrs(p.spec.TopicAttributes)
	var immutable map[string]string
	if fifo {
		desired[attrFifoTopic] = "true"
		desired[attrContentDedup] = strconv.FormatBool(p.spec.ContentBasedDeduplication)
		immutable = map[string]string{attrFifoTopic: "true"}
	}
	out, err := p.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: nilIfEmpty(desired)})
	if err != nil {
		// AWS answers InvalidParameter when the topic exists with different
		// attributes. Create again (a lookup by name) with the immutable
		// attributes only; the others are reconciled below. Any other cause
		// of InvalidParameter surfaces from that retry or SetTopicAttributes.
		var invalid *snstypes.InvalidParameterException
		if !errors.As(err, &invalid) {
			return "", fmt.Errorf("%s: create topic %q: %w", errPrefix, name, err)
		}
		out, err = p.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: immutable})
		if err != nil {
			return "", fmt.Errorf("%s: create topic %q: %w", errPrefix, name, err)
		}
	}
	topicARN := aws.ToString(out.TopicArn)
	if topicARN == "" {
		return "", fmt.Errorf("%s: create topic %q: response has no TopicArn", errPrefix, name)
	}
	mutable := copyAttrs(desired)
	delete(mutable, attrFifoTopic) // cannot change; the name's suffix fixes it
	if len(mutable) == 0 {
		return topicARN, nil
	}
	// CreateTopic success does not prove the attributes match: moto and
	// LocalStack return an existing topic unchanged. Compare and update.
	cur, err := p.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topicARN)})
	if err != nil {
		return "", fmt.Errorf("%s: get attributes of topic %q: %w", errPrefix, name, err)
	}
	for _, k := range sortedKeys(mutable) {
		if attrEqual(k, cur.Attributes[k], mutable[k]) {
			continue
		}
		_, err := p.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{
			TopicArn:       aws.String(topicARN),
			AttributeName:  aws.String(k),
			AttributeValue: aws.String(mutable[k]),
		})
		if err != nil {
			return "", fmt.Errorf("%s: set attribute %s of topic %q: %w", errPrefix, k, name, err)
		}
	}
	return topicARN, nil
}

// listSubscriptions returns the ARNs of the topic's confirmed SQS
// subscriptions, keyed by endpoint (queue ARN).
func (p *provisioner) listSubscriptions(ctx context.Context, topicARN string) (map[string]string, error) {
	subs := make(map[string]string)
	var token *string
	for {
		out, err := p.sns.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{
			TopicArn:  aws.String(topicARN),
			NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: list subscriptions of topic %q: %w", errPrefix, topicARN, err)
		}
		for _, s := range out.Subscriptions {
			arn, endpoint := aws.ToString(s.SubscriptionArn), aws.ToString(s.Endpoint)
			// Pending subscriptions have "PendingConfirmation" instead of an
			// ARN and cannot be updated; Subscribe handles them.
			if aws.ToString(s.Protocol) != subscribeProto || !strings.HasPrefix(arn, "arn:") {
				continue
			}
			if _, seen := subs[endpoint]; !seen {
				subs[endpoint] = arn
			}
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return subs, nil
		}
		if next == aws.ToString(token) {
			return nil, fmt.Errorf("%s: list subscriptions of topic %q: NextToken %q repeated", errPrefix, topicARN, next)
		}
		token = aws.String(next)
	}
}

// ensureSubscribedQueue provisions one queue, its dead-letter queue, its
// policy and its subscription.
func (p *provisioner) ensureSubscribedQueue(ctx context.Context, topicARN string, q QueueSpec, subs map[string]string) (Queue, error) {
	fifo := p.spec.IsFIFO()
	var pq Queue
	desired := copyAttrs(q.Attributes)
	if fifo {
		desired[attrFifoQueue] = "true"
		desired[attrContentDedup] = strconv.FormatBool(p.spec.ContentBasedDeduplication)
	}
	if q.VisibilityTimeout > 0 {
		desired[attrVisibility] = strconv.FormatInt(int64(q.VisibilityTimeout/time.Second), 10)
	}
	if q.DeadLetterQueue {
		dlqAttrs := map[string]string{attrRetention: strconv.FormatInt(int64(DeadLetterRetention/time.Second), 10)}
		if fifo {
			dlqAttrs[attrFifoQueue] = "true"
		}
		dlq, err := p.ensureQueue(ctx, DeadLetterQueueName(q.Name), dlqAttrs, "")
		if err != nil {
			return pq, err
		}
		pq.DeadLetterURL, pq.DeadLetterARN = dlq.url, dlq.arn
		maxReceive := q.MaxReceiveCount
		if maxReceive == 0 {
			maxReceive = DefaultMaxReceiveCount
		}
		desired[attrRedrive] = redrivePolicy(dlq.arn, maxReceive)
	}
	main, err := p.ensureQueue(ctx, q.Name, desired, topicARN)
	if err != nil {
		return pq, err
	}
	pq.URL, pq.ARN = main.url, main.arn
	if topicARN == "" {
		return pq, nil // a queue of its own (ApplyQueue)
	}
	pq.SubscriptionARN, err = p.ensureSubscription(ctx, topicARN, main.arn, q, subs)
	if err != nil {
		return pq, err
	}
	return pq, nil
}

// ApplyQueue creates one SQS queue that no topic feeds, a work queue
// for a QueuePublisher, or brings an existing one in line, as Apply does
// for a topic's queues: its dead-letter queue and redrive policy
// (DeadLetterQueue, MaxReceiveCount), VisibilityTimeout and Attributes. The
// queue is FIFO when its name ends in ".fifo" (content-based deduplication
// off: the QueuePublisher sends a deduplication id). RawMessageDelivery,
// FilterPolicy and FilterPolicyScope belong to subscriptions and must be
// unset. Invalid specs fail with an error wrapping snssqs.ErrInvalidOptions.
//
// IAM permissions needed: sqs:CreateQueue, sqs:GetQueueUrl,
// sqs:GetQueueAttributes and sqs:SetQueueAttributes.
func ApplyQueue(ctx context.Context, sqsClient SQSAPI, q QueueSpec) (Queue, error) {
	if sqsClient == nil {
		return Queue{}, fmt.Errorf("%w: ApplyQueue needs an SQS client", snssqs.ErrInvalidOptions)
	}
	fifo := strings.HasSuffix(q.Name, fifoSuffix)
	var errs []error
	for _, prob := range q.validate(fifo) {
		errs = append(errs, fmt.Errorf("%w: queue %q: %s", snssqs.ErrInvalidOptions, q.Name, prob))
	}
	if q.RawMessageDelivery || q.FilterPolicy != "" || q.FilterPolicyScope != "" {
		errs = append(errs, fmt.Errorf("%w: queue %q: RawMessageDelivery, FilterPolicy and FilterPolicyScope need a topic (use Apply)", snssqs.ErrInvalidOptions, q.Name))
	}
	if err := errors.Join(errs...); err != nil {
		return Queue{}, err
	}
	name := "queue"
	if fifo {
		name += fifoSuffix // makes the spec FIFO
	}
	p := provisioner{sqs: sqsClient, spec: TopologySpec{TopicName: name}}
	return p.ensureSubscribedQueue(ctx, "", q, nil)
}

// queueRef is what ensureQueue returns.
type queueRef struct {
	url, arn string
}

// ensureQueue creates the queue named name with the desired attributes, or
// brings an existing one in line. With a non-empty topicARN it also merges
// the statement letting that topic send to the queue into the queue policy.
func (p *provisioner) ensureQueue(ctx context.Context, name string, desired map[string]string, topicARN string) (queueRef, error) {
	var res queueRef
	out, err := p.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: nilIfEmpty(desired)})
	switch {
	case err == nil:
		res.url = aws.ToString(out.QueueUrl)
	case isQueueNameExists(err):
		// The queue exists with different attributes: find it and update it below.
		got, err := p.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			return res, fmt.Errorf("%s: get URL of existing queue %q: %w", errPrefix, name, err)
		}
		res.url = aws.ToString(got.QueueUrl)
	default:
		return res, fmt.Errorf("%s: create queue %q: %w", errPrefix, name, err)
	}
	if res.url == "" {
		return res, fmt.Errorf("%s: create queue %q: response has no QueueUrl", errPrefix, name)
	}

	names := []sqstypes.QueueAttributeName{attrQueueARN}
	if topicARN != "" {
		names = append(names, attrPolicy)
	}
	for _, k := range sortedKeys(desired) {
		names = append(names, sqstypes.QueueAttributeName(k))
	}
	cur, err := p.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(res.url), AttributeNames: names})
	if err != nil {
		return res, fmt.Errorf("%s: get attributes of queue %q: %w", errPrefix, name, err)
	}
	res.arn = cur.Attributes[attrQueueARN]
	if res.arn == "" {
		return res, fmt.Errorf("%s: get attributes of queue %q: response has no QueueArn", errPrefix, name)
	}

	changes := make(map[string]string)
	for k, v := range desired {
		// FifoQueue cannot change; the name's suffix already guarantees it matches.
		if k != attrFifoQueue && !attrEqual(k, cur.Attributes[k], v) {
			changes[k] = v
		}
	}
	if topicARN != "" {
		policy, changed, err := mergeQueuePolicy(cur.Attributes[attrPolicy], res.arn, topicARN)
		if err != nil {
			return res, fmt.Errorf("%s: queue %q: %w", errPrefix, name, err)
		}
		if changed {
			changes[attrPolicy] = policy
		}
	}
	if len(changes) == 0 {
		return res, nil
	}
	if _, err := p.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(res.url), Attributes: changes}); err != nil {
		return res, fmt.Errorf("%s: set attributes %s of queue %q: %w", errPrefix, strings.Join(sortedKeys(changes), ", "), name, err)
	}
	return res, nil
}

// isQueueNameExists reports whether err is SQS's "queue already
// exists with different attributes" error. The SDK decodes it as
// *sqstypes.QueueNameExists, also from the query-compatible code
// QueueAlreadyExists that moto sends; the error-code check (API error codes,
// never message text) covers emulators the SDK surfaces as a generic API
// error instead.
func isQueueNameExists(err error) bool {
	var exists *sqstypes.QueueNameExists
	if errors.As(err, &exists) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists":
			return true
		}
	}
	return false
}

// ensureSubscription subscribes the queue to the topic, or brings the
// existing subscription's attributes in line, and returns its ARN.
func (p *provisioner) ensureSubscription(ctx context.Context, topicARN, queueARN string, q QueueSpec, subs map[string]string) (string, error) {
	scope := q.FilterPolicyScope
	if scope == "" {
		scope = FilterPolicyScopeMessageAttributes
	}
	subARN, ok := subs[queueARN]
	if !ok {
		attrs := make(map[string]string)
		if q.RawMessageDelivery {
			attrs[attrRaw] = "true"
		}
		if q.FilterPolicy != "" {
			attrs[attrFilter] = q.FilterPolicy
			attrs[attrFilterScope] = scope
		}
		out, err := p.sns.Subscribe(ctx, &sns.SubscribeInput{
			TopicArn:              aws.String(topicARN),
			Protocol:              aws.String(subscribeProto),
			Endpoint:              aws.String(queueARN),
			ReturnSubscriptionArn: true,
			Attributes:            nilIfEmpty(attrs),
		})
		if err != nil {
			return "", fmt.Errorf("%s: subscribe queue %q to topic %q: %w", errPrefix, q.Name, topicARN, err)
		}
		subARN = aws.ToString(out.SubscriptionArn)
		if subARN == "" {
			return "", fmt.Errorf("%s: subscribe queue %q: response has no SubscriptionArn", errPrefix, q.Name)
		}
		subs[queueARN] = subARN
		return subARN, nil
	}

	out, err := p.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})
	if err != nil {
		return "", fmt.Errorf("%s: get attributes of subscription %q: %w", errPrefix, subARN, err)
	}
	for _, c := range subscriptionChanges(out.Attributes, q.RawMessageDelivery, q.FilterPolicy, scope) {
		_, err := p.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
			SubscriptionArn: aws.String(subARN),
			AttributeName:   aws.String(c.name),
			AttributeValue:  aws.String(c.value),
		})
		if err != nil {
			return "", fmt.Errorf("%s: set attribute %s of subscription %q: %w", errPrefix, c.name, subARN, err)
		}
	}
	return subARN, nil
}

// attrChange is one SetSubscriptionAttributes call.
type attrChange struct{ name, value string }

// subscriptionChanges returns, in the order they must be applied, the
// attribute writes that bring a subscription's current attributes to the
// wanted ones. A filter policy's validity depends on its scope, and moto (and
// emulators built like it) bind the policy to the scope current when the
// policy is written, so a scope change is always followed by writing the
// policy again. Switching to MessageBody writes the scope first (nested
// policies are invalid for MessageAttributes); switching to MessageAttributes
// first writes the new policy if it changed (a flat policy is valid in both
// scopes), so the scope never meets a policy invalid for it.
func subscriptionChanges(cur map[string]string, raw bool, filterPolicy, scope string) []attrChange {
	var changes []attrChange
	wantRaw := strconv.FormatBool(raw)
	curRaw := cur[attrRaw]
	if curRaw == "" {
		curRaw = "false"
	}
	if !strings.EqualFold(curRaw, wantRaw) {
		changes = append(changes, attrChange{attrRaw, wantRaw})
	}
	curPolicy := cur[attrFilter]
	if filterPolicy == "" {
		if curPolicy != "" {
			// An empty value removes the filter policy.
			changes = append(changes, attrChange{attrFilter, ""})
		}
		return changes
	}
	curScope := cur[attrFilterScope]
	if curScope == "" {
		curScope = FilterPolicyScopeMessageAttributes
	}
	policyChanged := curPolicy == "" || !jsonEqual(curPolicy, filterPolicy, false)
	policy := attrChange{attrFilter, filterPolicy}
	if curScope == scope {
		if policyChanged {
			changes = append(changes, policy)
		}
		return changes
	}
	if policyChanged && scope == FilterPolicyScopeMessageAttributes {
		changes = append(changes, policy)
	}
	return append(changes, attrChange{attrFilterScope, scope}, policy)
}

// redrivePolicy returns the RedrivePolicy queue attribute Apply writes:
// {"deadLetterTargetArn":"<dlqARN>","maxReceiveCount":"<n>"}.
func redrivePolicy(deadLetterARN string, maxReceiveCount int) string {
	// Marshaling a struct of strings cannot fail.
	b, _ := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}{deadLetterARN, strconv.Itoa(maxReceiveCount)})
	return string(b)
}

// policyStatement is the statement Apply writes into a queue policy.
type policyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition"`
}

// queuePolicyStatementID returns the Sid of the statement Apply writes
// into a queue's policy for topicARN: "snssqs-" followed by the topic ARN.
// It is unique per topic, so one queue can be subscribed to several topics.
func queuePolicyStatementID(topicARN string) string {
	return statementPrefix + topicARN
}

// statementFor returns the statement allowing topicARN to send to
// queueARN.
func statementFor(queueARN, topicARN string) policyStatement {
	return policyStatement{
		Sid:       queuePolicyStatementID(topicARN),
		Effect:    "Allow",
		Principal: map[string]string{"Service": snsPrincipal},
		Action:    "sqs:SendMessage",
		Resource:  queueARN,
		Condition: map[string]map[string]string{"ArnEquals": {"aws:SourceArn": topicARN}},
	}
}

// QueuePolicy returns the queue policy document Apply writes on a new
// queue: it allows the SNS service to send messages to queueARN on behalf of
// topicARN only. Its statement's Sid is "snssqs-" followed by the topic ARN,
// unique per topic, so one queue can be subscribed to several topics and
// Apply can find and replace its own statement in a merged policy.
// For example:
//
//	{"Version":"2012-10-17","Statement":[{"Sid":"snssqs-arn:aws:sns:us-east-1:123456789012:orders",
//	"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage",
//	"Resource":"arn:aws:sqs:us-east-1:123456789012:billing",
//	"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:orders"}}}]}
func QueuePolicy(queueARN, topicARN string) string {
	// Marshaling strings and maps of strings cannot fail.
	b, _ := json.Marshal(struct {
		Version   string            `json:"Version"`
		Statement []policyStatement `json:"Statement"`
	}{policyVersion, []policyStatement{statementFor(queueARN, topicARN)}})
	return string(b)
}

// mergeQueuePolicy merges the statement of QueuePolicy(queueARN, topicARN)
// into the existing queue policy document and reports whether the result
// differs from existing. Other statements and top-level fields are kept;
// statements with the same Sid are replaced. An empty existing policy yields
// QueuePolicy(queueARN, topicARN). An existing policy that is not a JSON
// object with a Statement object or array is an error: it is never
// overwritten.
func mergeQueuePolicy(existing, queueARN, topicARN string) (policy string, changed bool, err error) {
	if strings.TrimSpace(existing) == "" {
		return QueuePolicy(queueARN, topicARN), true, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(existing), &doc); err != nil || doc == nil {
		return "", false, fmt.Errorf("existing Policy is not a JSON object, refusing to overwrite it: %v", err)
	}
	var statements []json.RawMessage
	if raw, ok := doc["Statement"]; ok {
		if err := json.Unmarshal(raw, &statements); err != nil {
			// The policy grammar allows a single statement object.
			var single map[string]json.RawMessage
			if err := json.Unmarshal(raw, &single); err != nil || single == nil {
				return "", false, fmt.Errorf("existing Policy's Statement is neither an object nor an array, refusing to overwrite it")
			}
			statements = []json.RawMessage{raw}
		}
	}
	ours, err := json.Marshal(statementFor(queueARN, topicARN))
	if err != nil {
		return "", false, fmt.Errorf("marshal queue policy statement: %w", err)
	}
	sid := queuePolicyStatementID(topicARN)
	kept := make([]json.RawMessage, 0, len(statements)+1)
	matches, equal := 0, 0
	for _, st := range statements {
		var head struct {
			Sid string `json:"Sid"`
		}
		if json.Unmarshal(st, &head) == nil && head.Sid == sid {
			matches++
			if jsonEqual(string(st), string(ours), false) {
				equal++
			}
			continue
		}
		kept = append(kept, st)
	}
	_, hasVersion := doc["Version"]
	if matches == 1 && equal == 1 && hasVersion {
		return existing, false, nil
	}
	kept = append(kept, ours)
	if doc["Statement"], err = json.Marshal(kept); err != nil {
		return "", false, fmt.Errorf("marshal queue policy statements: %w", err)
	}
	if !hasVersion {
		doc["Version"] = json.RawMessage(strconv.Quote(policyVersion))
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", false, fmt.Errorf("marshal queue policy: %w", err)
	}
	return string(out), true, nil
}

// attrEqual reports whether an attribute's current value equals
// the wanted one: as strings, or as equivalent JSON documents. Redrive
// policies compare numbers and numeric strings as equal, because SQS returns
// maxReceiveCount as a number whichever way it was written.
func attrEqual(name, cur, want string) bool {
	if cur == want {
		return true
	}
	lenient := name == attrRedrive || name == attrRedriveAllow
	return jsonEqual(cur, want, lenient)
}

// jsonEqual reports whether a and b are both JSON objects or arrays with the
// same content regardless of key order and whitespace. With lenientScalars,
// numbers and booleans equal their string forms.
func jsonEqual(a, b string, lenientScalars bool) bool {
	va, okA := decodeJSON(a)
	vb, okB := decodeJSON(b)
	if !okA || !okB {
		return false
	}
	if lenientScalars {
		va, vb = stringifyScalars(va), stringifyScalars(vb)
	}
	return reflect.DeepEqual(va, vb)
}

// decodeJSON decodes a JSON object or array, keeping numbers exact.
func decodeJSON(s string) (any, bool) {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// stringifyScalars replaces numbers and booleans with their string forms.
func stringifyScalars(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = stringifyScalars(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = stringifyScalars(e)
		}
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	default:
		return v
	}
}

// copyAttrs returns a copy of m that is never nil.
func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+4)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// nilIfEmpty returns nil for an empty map so requests omit the field.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// sortedKeys returns m's keys in order, for deterministic requests.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
