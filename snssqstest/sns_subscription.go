package snssqstest

import (
	"encoding/json"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

const (
	snsPendingConfirmation      = "PendingConfirmation"
	snsPendingConfirmationReply = "pending confirmation" // Subscribe's answer for an unconfirmed subscription
)

// snsProtocols are the protocols Subscribe accepts. sqs, sms, lambda,
// firehose and application subscriptions are confirmed at once; http,
// https, email and email-json ones wait for ConfirmSubscription (see
// sns_endpoint.go). Only sqs deliveries reach a queue; the others are
// POSTed to loopback http(s) endpoints, and recorded.
var snsProtocols = map[string]bool{
	"sqs": true, "http": true, "https": true, "email": true, "email-json": true,
	"sms": true, "application": true, "lambda": true, "firehose": true,
}

// snsSubscriptionSettable are the subscription attributes Subscribe and
// SetSubscriptionAttributes accept.
var snsSubscriptionSettable = map[string]bool{
	"RawMessageDelivery": true, "FilterPolicy": true, "FilterPolicyScope": true,
	"RedrivePolicy": true, "DeliveryPolicy": true, "SubscriptionRoleArn": true,
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
	token                             string            // the confirmation token, for protocols that need one
}

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
	n.mu.Lock()
	defer n.mu.Unlock()
	// The topic is looked up before the endpoint is checked: a Subscribe to
	// a topic that does not exist is NotFound whatever its endpoint.
	t, err := n.lookupTopicLocked(topicARN, "TopicArn")
	if err != nil {
		return "", err
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
	if strings.HasSuffix(queueName, ".fifo") && !t.fifo {
		return "", snsInvalidParameter("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics")
	}
	for _, s := range t.subs {
		if s.protocol != protocol || s.endpoint != endpoint {
			continue
		}
		// AWS answers a repeated Subscribe with the existing subscription,
		// unless the attributes differ.
		cur := s.attributesLocked(n.account)
		for k, v := range attrs {
			if cur[k] != v && !(k == "RawMessageDelivery" && strings.EqualFold(cur[k], v)) &&
				!(k == "FilterPolicyScope" && v == scopeMessageAttributes && s.filterScope == "") {
				return "", snsInvalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
			}
		}
		return s.subscribeReply(returnARN), nil
	}
	sub := &snsSubscription{
		arn:       topicARN + ":" + uuid.NewString(),
		topicARN:  topicARN,
		protocol:  protocol,
		endpoint:  endpoint,
		confirmed: snsAutoConfirmed[protocol],
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
	if !sub.confirmed {
		n.askConfirmationLocked(t, sub)
	}
	return sub.subscribeReply(returnARN), nil
}

// subscribeReply is what Subscribe answers for sub: its ARN, or "pending
// confirmation" while it is unconfirmed unless ReturnSubscriptionArn is set.
func (sub *snsSubscription) subscribeReply(returnARN bool) string {
	if !sub.confirmed && !returnARN {
		return snsPendingConfirmationReply
	}
	return sub.arn
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
		fp, err := snsCompileFilterPolicy(value, sub.filterScope)
		if err != nil {
			return err
		}
		sub.filterJSON, sub.filter = value, fp
	case "FilterPolicyScope":
		if value != scopeMessageAttributes && value != scopeMessageBody {
			return snsInvalidParameter("Invalid parameter: FilterPolicyScope: Invalid filter policy scope: %s", value)
		}
		if sub.filterJSON != "" {
			fp, err := snsCompileFilterPolicy(sub.filterJSON, value)
			if err != nil {
				return err
			}
			sub.filter = fp
		}
		sub.filterScope = value
	case "RedrivePolicy":
		if value != "" {
			dlq, err := snsDeadLetterTarget(value)
			if err != nil {
				return snsInvalidParameter("Invalid parameter: RedrivePolicy: failed to parse JSON")
			}
			if _, ok := snsQueueARN(dlq); !ok {
				return snsInvalidParameter("Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
			}
		}
		snsSetOrDelete(sub.attrs, name, value)
	case "DeliveryPolicy":
		if err := snsValidateJSON(name, value); err != nil {
			return err
		}
		snsSetOrDelete(sub.attrs, name, value)
	case "SubscriptionRoleArn":
		snsSetOrDelete(sub.attrs, name, value)
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
	dlq, err := snsDeadLetterTarget(v)
	if err != nil {
		return ""
	}
	return dlq
}

// snsDeadLetterTarget reads deadLetterTargetArn from a RedrivePolicy document.
func snsDeadLetterTarget(redrivePolicy string) (string, error) {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(redrivePolicy), &rp); err != nil {
		return "", err
	}
	return rp.DeadLetterTargetArn, nil
}

// snsCompileFilterPolicy compiles a filter policy for scope, reporting a
// bad policy as InvalidParameter.
func snsCompileFilterPolicy(policy, scope string) (*filterPolicy, *snsError) {
	fp, err := compileFilterPolicy(policy, scope)
	if err != nil {
		return nil, snsInvalidParameter("%s", err.Error())
	}
	return fp, nil
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
	maps.Copy(out, sub.attrs)
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
	return sub.attributesLocked(n.account), nil
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
		out = append(out, snsSubscriptionSummary{SubscriptionArn: arn, Owner: n.account, Protocol: s.protocol, Endpoint: s.endpoint, TopicArn: s.topicARN})
	}
	n.mu.Unlock()
	return out, next, nil
}
