package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/snssqs/snssqs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	provAccount = "123456789012"
	provRegion  = "us-east-1"
)

func provTopicARN(name string) string {
	return "arn:aws:sns:" + provRegion + ":" + provAccount + ":" + name
}
func provQueueARN(name string) string {
	return "arn:aws:sqs:" + provRegion + ":" + provAccount + ":" + name
}
func provQueueURL(name string) string {
	return "https://sqs." + provRegion + ".amazonaws.com/" + provAccount + "/" + name
}

// provFakeSub is one subscription held by provFake.
type provFakeSub struct {
	arn, topic, protocol, endpoint string
	attrs                          map[string]string
}

// provFake is a hand-written, AWS-like fake of SNSAPI and
// SQSAPI (the method sets do not overlap). Like AWS, CreateTopic
// answers InvalidParameter and CreateQueue QueueNameExists when the resource
// exists with different attributes, and SQS returns maxReceiveCount as a
// number. Every call is logged in order with its input.
type provFake struct {
	mu       sync.Mutex
	log      []string
	inputs   []any
	topics   map[string]map[string]string // ARN → attributes
	queues   map[string]map[string]string // name → attributes
	subs     []*provFakeSub
	pageSize int
	// failures makes the named operation fail with the error.
	failures map[string]error
	// legacyExistsCode makes CreateQueue report an existing queue with the
	// query-protocol error code QueueAlreadyExists, as some emulators do.
	legacyExistsCode bool
}

func newProvFake() *provFake {
	return &provFake{
		topics:   make(map[string]map[string]string),
		queues:   make(map[string]map[string]string),
		pageSize: 100,
		failures: make(map[string]error),
	}
}

// record logs a call and returns the configured failure, if any.
func (f *provFake) record(op, target string, in any) error {
	f.log = append(f.log, op+" "+target)
	f.inputs = append(f.inputs, in)
	return f.failures[op]
}

// ops returns the call log.
func (f *provFake) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// reset forgets the call log.
func (f *provFake) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log, f.inputs = nil, nil
}

// provInputs returns the recorded inputs of type T, in call order.
func provInputs[T any](f *provFake) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, in := range f.inputs {
		if t, ok := in.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// writes returns the logged calls that change state.
func (f *provFake) writes() []string {
	var out []string
	for _, op := range f.ops() {
		if strings.HasPrefix(op, "Set") || strings.HasPrefix(op, "Subscribe") {
			out = append(out, op)
		}
	}
	return out
}

func provInvalidParameter(msg string) error {
	return &snstypes.InvalidParameterException{Message: aws.String(msg)}
}

func (f *provFake) CreateTopic(_ context.Context, in *sns.CreateTopicInput, _ ...func(*sns.Options)) (*sns.CreateTopicOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if err := f.record("CreateTopic", name, in); err != nil {
		return nil, err
	}
	arn := provTopicARN(name)
	if attrs, ok := f.topics[arn]; ok {
		for k, v := range in.Attributes {
			if attrs[k] != v {
				return nil, provInvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		return &sns.CreateTopicOutput{TopicArn: aws.String(arn)}, nil
	}
	attrs := map[string]string{"TopicArn": arn, "Owner": provAccount}
	for k, v := range in.Attributes {
		attrs[k] = v
	}
	if attrs["FifoTopic"] == "true" && attrs["ContentBasedDeduplication"] == "" {
		attrs["ContentBasedDeduplication"] = "false"
	}
	f.topics[arn] = attrs
	return &sns.CreateTopicOutput{TopicArn: aws.String(arn)}, nil
}

func (f *provFake) GetTopicAttributes(_ context.Context, in *sns.GetTopicAttributesInput, _ ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TopicArn)
	if err := f.record("GetTopicAttributes", arn, in); err != nil {
		return nil, err
	}
	attrs, ok := f.topics[arn]
	if !ok {
		return nil, &snstypes.NotFoundException{Message: aws.String("Topic does not exist")}
	}
	return &sns.GetTopicAttributesOutput{Attributes: provCopy(attrs)}, nil
}

func (f *provFake) SetTopicAttributes(_ context.Context, in *sns.SetTopicAttributesInput, _ ...func(*sns.Options)) (*sns.SetTopicAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TopicArn)
	if err := f.record("SetTopicAttributes", aws.ToString(in.AttributeName), in); err != nil {
		return nil, err
	}
	attrs, ok := f.topics[arn]
	if !ok {
		return nil, &snstypes.NotFoundException{Message: aws.String("Topic does not exist")}
	}
	attrs[aws.ToString(in.AttributeName)] = aws.ToString(in.AttributeValue)
	return &sns.SetTopicAttributesOutput{}, nil
}

func (f *provFake) Subscribe(_ context.Context, in *sns.SubscribeInput, _ ...func(*sns.Options)) (*sns.SubscribeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	endpoint := aws.ToString(in.Endpoint)
	if err := f.record("Subscribe", endpoint, in); err != nil {
		return nil, err
	}
	for _, s := range f.subs {
		if s.topic == aws.ToString(in.TopicArn) && s.endpoint == endpoint && s.protocol == aws.ToString(in.Protocol) {
			if s.arn == "PendingConfirmation" { // same-account SQS subscriptions confirm at once
				s.arn = s.topic + ":confirmed"
			}
			for k, v := range in.Attributes {
				if s.attrs[k] != v {
					return nil, provInvalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
				}
			}
			return &sns.SubscribeOutput{SubscriptionArn: aws.String(s.arn)}, nil
		}
	}
	s := &provFakeSub{
		arn:      aws.ToString(in.TopicArn) + ":sub-" + strconv.Itoa(len(f.subs)+1),
		topic:    aws.ToString(in.TopicArn),
		protocol: aws.ToString(in.Protocol),
		endpoint: endpoint,
		attrs:    provCopy(in.Attributes),
	}
	f.subs = append(f.subs, s)
	return &sns.SubscribeOutput{SubscriptionArn: aws.String(s.arn)}, nil
}

func (f *provFake) ListSubscriptionsByTopic(_ context.Context, in *sns.ListSubscriptionsByTopicInput, _ ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListSubscriptionsByTopic", aws.ToString(in.NextToken), in); err != nil {
		return nil, err
	}
	var mine []*provFakeSub
	for _, s := range f.subs {
		if s.topic == aws.ToString(in.TopicArn) {
			mine = append(mine, s)
		}
	}
	start := 0
	if t := aws.ToString(in.NextToken); t != "" {
		var err error
		if start, err = strconv.Atoi(t); err != nil {
			return nil, provInvalidParameter("bad token")
		}
	}
	end := min(start+f.pageSize, len(mine))
	out := &sns.ListSubscriptionsByTopicOutput{}
	for _, s := range mine[start:end] {
		out.Subscriptions = append(out.Subscriptions, snstypes.Subscription{
			SubscriptionArn: aws.String(s.arn),
			TopicArn:        aws.String(s.topic),
			Protocol:        aws.String(s.protocol),
			Endpoint:        aws.String(s.endpoint),
			Owner:           aws.String(provAccount),
		})
	}
	if end < len(mine) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *provFake) findSub(arn string) *provFakeSub {
	for _, s := range f.subs {
		if s.arn == arn {
			return s
		}
	}
	return nil
}

func (f *provFake) GetSubscriptionAttributes(_ context.Context, in *sns.GetSubscriptionAttributesInput, _ ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.SubscriptionArn)
	if err := f.record("GetSubscriptionAttributes", arn, in); err != nil {
		return nil, err
	}
	s := f.findSub(arn)
	if s == nil {
		return nil, &snstypes.NotFoundException{Message: aws.String("Subscription does not exist")}
	}
	attrs := provCopy(s.attrs)
	attrs["SubscriptionArn"], attrs["Endpoint"], attrs["Protocol"] = s.arn, s.endpoint, s.protocol
	if attrs["RawMessageDelivery"] == "" {
		attrs["RawMessageDelivery"] = "false"
	}
	if attrs["FilterPolicy"] == "" { // like AWS: no scope without a policy
		delete(attrs, "FilterPolicy")
		delete(attrs, "FilterPolicyScope")
	} else if attrs["FilterPolicyScope"] == "" {
		attrs["FilterPolicyScope"] = FilterPolicyScopeMessageAttributes
	}
	return &sns.GetSubscriptionAttributesOutput{Attributes: attrs}, nil
}

func (f *provFake) SetSubscriptionAttributes(_ context.Context, in *sns.SetSubscriptionAttributesInput, _ ...func(*sns.Options)) (*sns.SetSubscriptionAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetSubscriptionAttributes", aws.ToString(in.AttributeName)+"="+aws.ToString(in.AttributeValue), in); err != nil {
		return nil, err
	}
	s := f.findSub(aws.ToString(in.SubscriptionArn))
	if s == nil {
		return nil, &snstypes.NotFoundException{Message: aws.String("Subscription does not exist")}
	}
	s.attrs[aws.ToString(in.AttributeName)] = aws.ToString(in.AttributeValue)
	return &sns.SetSubscriptionAttributesOutput{}, nil
}

// provNormalizeQueueAttrs mimics SQS: RedrivePolicy's maxReceiveCount is stored
// as a number, and an empty RedrivePolicy removes it.
func provNormalizeQueueAttrs(in map[string]string) map[string]string {
	out := provCopy(in)
	if rp, ok := out["RedrivePolicy"]; ok {
		if rp == "" {
			delete(out, "RedrivePolicy")
		} else {
			var p struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     any    `json:"maxReceiveCount"`
			}
			if json.Unmarshal([]byte(rp), &p) == nil {
				n, _ := strconv.Atoi(fmt.Sprint(p.MaxReceiveCount))
				out["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, p.DeadLetterTargetArn, n)
			}
		}
	}
	return out
}

func (f *provFake) CreateQueue(_ context.Context, in *sqs.CreateQueueInput, _ ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.QueueName)
	if err := f.record("CreateQueue", name, in); err != nil {
		return nil, err
	}
	want := provNormalizeQueueAttrs(in.Attributes)
	if attrs, ok := f.queues[name]; ok {
		for k, v := range want {
			if attrs[k] != v {
				if f.legacyExistsCode {
					return nil, &smithy.GenericAPIError{Code: "QueueAlreadyExists", Message: "The specified queue already exists."}
				}
				return nil, &sqstypes.QueueNameExists{Message: aws.String("A queue already exists with the same name and a different value for attribute " + k)}
			}
		}
		return &sqs.CreateQueueOutput{QueueUrl: aws.String(provQueueURL(name))}, nil
	}
	attrs := map[string]string{"QueueArn": provQueueARN(name), "VisibilityTimeout": "30", "MessageRetentionPeriod": "345600"}
	for k, v := range want {
		attrs[k] = v
	}
	f.queues[name] = attrs
	return &sqs.CreateQueueOutput{QueueUrl: aws.String(provQueueURL(name))}, nil
}

func (f *provFake) queueByURL(url string) (map[string]string, error) {
	name := url[strings.LastIndex(url, "/")+1:]
	attrs, ok := f.queues[name]
	if !ok || provQueueURL(name) != url {
		return nil, &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	return attrs, nil
}

func (f *provFake) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	url := aws.ToString(in.QueueUrl)
	if err := f.record("GetQueueAttributes", url[strings.LastIndex(url, "/")+1:], in); err != nil {
		return nil, err
	}
	attrs, err := f.queueByURL(url)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for _, n := range in.AttributeNames {
		if v, ok := attrs[string(n)]; ok {
			out[string(n)] = v
		}
	}
	return &sqs.GetQueueAttributesOutput{Attributes: out}, nil
}

func (f *provFake) SetQueueAttributes(_ context.Context, in *sqs.SetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	url := aws.ToString(in.QueueUrl)
	keys := make([]string, 0, len(in.Attributes))
	for k := range in.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if err := f.record("SetQueueAttributes", url[strings.LastIndex(url, "/")+1:]+" "+strings.Join(keys, ","), in); err != nil {
		return nil, err
	}
	attrs, err := f.queueByURL(url)
	if err != nil {
		return nil, err
	}
	if rp, ok := in.Attributes["RedrivePolicy"]; ok && rp == "" {
		delete(attrs, "RedrivePolicy")
	}
	for k, v := range provNormalizeQueueAttrs(in.Attributes) {
		attrs[k] = v
	}
	return &sqs.SetQueueAttributesOutput{}, nil
}

func (f *provFake) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.QueueName)
	if err := f.record("GetQueueUrl", name, in); err != nil {
		return nil, err
	}
	if _, ok := f.queues[name]; !ok {
		return nil, &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String(provQueueURL(name))}, nil
}

// provCopy returns a non-nil copy of m.
func provCopy(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var (
	_ SNSAPI = (*provFake)(nil)
	_ SQSAPI = (*provFake)(nil)
)

// provStandardSpec is a standard topic with a raw, filtered queue with a DLQ and
// a plain queue.
func provStandardSpec() TopologySpec {
	return TopologySpec{
		TopicName:       "orders",
		TopicAttributes: map[string]string{"DisplayName": "Orders"},
		Queues: []QueueSpec{
			{
				Name:               "billing",
				RawMessageDelivery: true,
				FilterPolicy:       `{"type":["order.created"]}`,
				DeadLetterQueue:    true,
				MaxReceiveCount:    3,
				VisibilityTimeout:  time.Minute,
				Attributes:         map[string]string{"DelaySeconds": "2"},
			},
			{Name: "audit"},
		},
	}
}

func TestProvisionCreatesStandardTopologyWithExactRequests(t *testing.T) {
	f := newProvFake()
	topo, err := Apply(context.Background(), f, f, provStandardSpec())
	require.NoError(t, err)

	topic := provTopicARN("orders")
	assert.Equal(t, []string{
		"CreateTopic orders",
		"GetTopicAttributes " + topic,
		"ListSubscriptionsByTopic ",
		"CreateQueue billing-dlq",
		"GetQueueAttributes billing-dlq",
		"CreateQueue billing",
		"GetQueueAttributes billing",
		"SetQueueAttributes billing Policy",
		"Subscribe " + provQueueARN("billing"),
		"CreateQueue audit",
		"GetQueueAttributes audit",
		"SetQueueAttributes audit Policy",
		"Subscribe " + provQueueARN("audit"),
	}, f.ops())

	createTopic := provInputs[*sns.CreateTopicInput](f)
	require.Len(t, createTopic, 1)
	assert.Equal(t, map[string]string{"DisplayName": "Orders"}, createTopic[0].Attributes)

	creates := provInputs[*sqs.CreateQueueInput](f)
	require.Len(t, creates, 3)
	assert.Equal(t, map[string]string{"MessageRetentionPeriod": "1209600"}, creates[0].Attributes)
	assert.Equal(t, map[string]string{
		"DelaySeconds":      "2",
		"VisibilityTimeout": "60",
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + provQueueARN("billing-dlq") + `","maxReceiveCount":"3"}`,
	}, creates[1].Attributes)
	assert.Nil(t, creates[2].Attributes, "a plain queue is created without attributes")

	gets := provInputs[*sqs.GetQueueAttributesInput](f)
	require.Len(t, gets, 3)
	assert.Equal(t, []sqstypes.QueueAttributeName{"QueueArn", "MessageRetentionPeriod"}, gets[0].AttributeNames)
	assert.Equal(t, []sqstypes.QueueAttributeName{"QueueArn", "Policy", "DelaySeconds", "RedrivePolicy", "VisibilityTimeout"}, gets[1].AttributeNames)

	sets := provInputs[*sqs.SetQueueAttributesInput](f)
	require.Len(t, sets, 2)
	assert.Equal(t, provQueueURL("billing"), aws.ToString(sets[0].QueueUrl))
	assert.JSONEq(t, `{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "snssqs-`+topic+`",
			"Effect": "Allow",
			"Principal": {"Service": "sns.amazonaws.com"},
			"Action": "sqs:SendMessage",
			"Resource": "`+provQueueARN("billing")+`",
			"Condition": {"ArnEquals": {"aws:SourceArn": "`+topic+`"}}
		}]
	}`, sets[0].Attributes["Policy"])
	assert.Equal(t, QueuePolicy(provQueueARN("audit"), topic), sets[1].Attributes["Policy"])

	subs := provInputs[*sns.SubscribeInput](f)
	require.Len(t, subs, 2)
	assert.Equal(t, &sns.SubscribeInput{
		TopicArn:              aws.String(topic),
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(provQueueARN("billing")),
		ReturnSubscriptionArn: true,
		Attributes: map[string]string{
			"RawMessageDelivery": "true",
			"FilterPolicy":       `{"type":["order.created"]}`,
			"FilterPolicyScope":  "MessageAttributes",
		},
	}, subs[0])
	assert.Nil(t, subs[1].Attributes, "non-raw unfiltered subscription has no attributes")
	assert.True(t, subs[1].ReturnSubscriptionArn)

	assert.Equal(t, &Topology{
		TopicARN: topic,
		Queues: map[string]Queue{
			"billing": {
				URL:             provQueueURL("billing"),
				ARN:             provQueueARN("billing"),
				SubscriptionARN: topic + ":sub-1",
				DeadLetterURL:   provQueueURL("billing-dlq"),
				DeadLetterARN:   provQueueARN("billing-dlq"),
			},
			"audit": {
				URL:             provQueueURL("audit"),
				ARN:             provQueueARN("audit"),
				SubscriptionARN: topic + ":sub-2",
			},
		},
	}, topo)
}

func TestProvisionSecondRunChangesNothing(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacyExistsCode=%v", legacy), func(t *testing.T) {
			f := newProvFake()
			f.legacyExistsCode = legacy
			first, err := Apply(context.Background(), f, f, provStandardSpec())
			require.NoError(t, err)
			f.reset()

			second, err := Apply(context.Background(), f, f, provStandardSpec())
			require.NoError(t, err)
			assert.Equal(t, first, second)
			assert.Empty(t, f.writes(), "second run must not write anything")
			assert.NotContains(t, f.ops(), "GetQueueUrl billing", "CreateQueue with unchanged attributes succeeds")
			assert.Len(t, f.subs, 2, "no duplicate subscriptions")
		})
	}
}

func TestProvisionFIFO(t *testing.T) {
	f := newProvFake()
	spec := TopologySpec{
		TopicName:                 "orders.fifo",
		ContentBasedDeduplication: true,
		Queues:                    []QueueSpec{{Name: "billing.fifo", DeadLetterQueue: true}},
	}
	topo, err := Apply(context.Background(), f, f, spec)
	require.NoError(t, err)

	createTopic := provInputs[*sns.CreateTopicInput](f)
	require.Len(t, createTopic, 1)
	assert.Equal(t, map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"}, createTopic[0].Attributes)
	assert.Empty(t, provInputs[*sns.SetTopicAttributesInput](f))

	creates := provInputs[*sqs.CreateQueueInput](f)
	require.Len(t, creates, 2)
	assert.Equal(t, "billing-dlq.fifo", aws.ToString(creates[0].QueueName))
	assert.Equal(t, map[string]string{"FifoQueue": "true", "MessageRetentionPeriod": "1209600"}, creates[0].Attributes)
	assert.Equal(t, map[string]string{
		"FifoQueue":                 "true",
		"ContentBasedDeduplication": "true",
		"RedrivePolicy":             `{"deadLetterTargetArn":"` + provQueueARN("billing-dlq.fifo") + `","maxReceiveCount":"5"}`,
	}, creates[1].Attributes)
	assert.Equal(t, provQueueARN("billing-dlq.fifo"), topo.Queues["billing.fifo"].DeadLetterARN)

	// Turning content-based deduplication off updates topic and queue in place.
	f.reset()
	spec.ContentBasedDeduplication = false
	_, err = Apply(context.Background(), f, f, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"SetTopicAttributes ContentBasedDeduplication",
		"SetQueueAttributes billing.fifo ContentBasedDeduplication",
	}, f.writes())
	assert.Equal(t, "false", f.topics[provTopicARN("orders.fifo")]["ContentBasedDeduplication"])
	assert.Equal(t, "true", f.queues["billing.fifo"]["FifoQueue"])
	assert.Equal(t, "false", f.queues["billing.fifo"]["ContentBasedDeduplication"])
}

func TestProvisionUpdatesTopicThatExistsWithDifferentAttributes(t *testing.T) {
	f := newProvFake()
	_, err := Apply(context.Background(), f, f, TopologySpec{TopicName: "orders.fifo"})
	require.NoError(t, err)
	f.reset()

	_, err = Apply(context.Background(), f, f, TopologySpec{
		TopicName:                 "orders.fifo",
		ContentBasedDeduplication: true,
		TopicAttributes:           map[string]string{"DisplayName": "Orders"},
	})
	require.NoError(t, err)
	creates := provInputs[*sns.CreateTopicInput](f)
	require.Len(t, creates, 2, "AWS rejects the first CreateTopic; the retry sends only FifoTopic")
	assert.Equal(t, map[string]string{"FifoTopic": "true"}, creates[1].Attributes)
	assert.Equal(t, []string{"SetTopicAttributes ContentBasedDeduplication", "SetTopicAttributes DisplayName"}, f.writes())
	assert.Equal(t, "Orders", f.topics[provTopicARN("orders.fifo")]["DisplayName"])
}

func TestProvisionUpdatesQueueThatExistsWithDifferentAttributes(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacyExistsCode=%v", legacy), func(t *testing.T) {
			f := newProvFake()
			f.legacyExistsCode = legacy
			spec := provStandardSpec()
			_, err := Apply(context.Background(), f, f, spec)
			require.NoError(t, err)
			f.reset()

			spec.Queues[0].VisibilityTimeout = 2 * time.Minute
			spec.Queues[0].MaxReceiveCount = 0
			topo, err := Apply(context.Background(), f, f, spec)
			require.NoError(t, err)

			assert.Contains(t, f.ops(), "GetQueueUrl billing")
			sets := provInputs[*sqs.SetQueueAttributesInput](f)
			require.Len(t, sets, 1, "only the changed attributes are written; the policy is already in place")
			assert.Equal(t, provQueueURL("billing"), aws.ToString(sets[0].QueueUrl))
			assert.Equal(t, map[string]string{
				"VisibilityTimeout": "120",
				"RedrivePolicy":     `{"deadLetterTargetArn":"` + provQueueARN("billing-dlq") + `","maxReceiveCount":"5"}`,
			}, sets[0].Attributes)
			assert.Equal(t, provQueueURL("billing"), topo.Queues["billing"].URL)
		})
	}
}

func TestProvisionMergesExistingQueuePolicy(t *testing.T) {
	f := newProvFake()
	topic := provTopicARN("orders")
	other := `{"Sid":"KeepMe","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sqs:*","Resource":"` + provQueueARN("audit") + `"}`
	stale := `{"Sid":"snssqs-` + topic + `","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + provQueueARN("audit") + `","Condition":{"ArnLike":{"aws:SourceArn":"*"}}}`
	f.queues["audit"] = map[string]string{
		"QueueArn": provQueueARN("audit"),
		"Policy":   `{"Version":"2012-10-17","Id":"custom","Statement":[` + other + `,` + stale + `]}`,
	}

	_, err := Apply(context.Background(), f, f, TopologySpec{TopicName: "orders", Queues: []QueueSpec{{Name: "audit"}}})
	require.NoError(t, err)

	sets := provInputs[*sqs.SetQueueAttributesInput](f)
	require.Len(t, sets, 1)
	var doc struct {
		Version   string
		ID        string `json:"Id"`
		Statement []json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(sets[0].Attributes["Policy"]), &doc))
	assert.Equal(t, "2012-10-17", doc.Version)
	assert.Equal(t, "custom", doc.ID, "top-level fields are kept")
	require.Len(t, doc.Statement, 2)
	assert.JSONEq(t, other, string(doc.Statement[0]), "foreign statement is kept verbatim")
	var wantDoc struct{ Statement []json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(QueuePolicy(provQueueARN("audit"), topic)), &wantDoc))
	assert.JSONEq(t, string(wantDoc.Statement[0]), string(doc.Statement[1]), "our stale statement is replaced")
}

func TestProvisionMergeQueuePolicy(t *testing.T) {
	q, topic := provQueueARN("q"), provTopicARN("t")
	ours := QueuePolicy(q, topic)

	t.Run("empty existing", func(t *testing.T) {
		got, changed, err := mergeQueuePolicy("", q, topic)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, ours, got)
	})
	t.Run("already present, reformatted", func(t *testing.T) {
		var v any
		require.NoError(t, json.Unmarshal([]byte(ours), &v))
		pretty, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		got, changed, err := mergeQueuePolicy(string(pretty), q, topic)
		require.NoError(t, err)
		assert.False(t, changed)
		assert.Equal(t, string(pretty), got)
	})
	t.Run("single statement object", func(t *testing.T) {
		existing := `{"Version":"2012-10-17","Statement":{"Sid":"Other","Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"` + q + `"}}`
		got, changed, err := mergeQueuePolicy(existing, q, topic)
		require.NoError(t, err)
		assert.True(t, changed)
		var doc struct{ Statement []struct{ Sid string } }
		require.NoError(t, json.Unmarshal([]byte(got), &doc))
		assert.Equal(t, []struct{ Sid string }{{"Other"}, {"snssqs-" + topic}}, doc.Statement)
	})
	t.Run("another topic's statement is kept", func(t *testing.T) {
		first := QueuePolicy(q, provTopicARN("other"))
		got, changed, err := mergeQueuePolicy(first, q, topic)
		require.NoError(t, err)
		assert.True(t, changed)
		again, changed, err := mergeQueuePolicy(got, q, provTopicARN("other"))
		require.NoError(t, err)
		assert.False(t, changed, "both statements present: nothing to do for either topic")
		assert.Equal(t, got, again)
		assert.Contains(t, got, `"snssqs-`+provTopicARN("other")+`"`)
		assert.Contains(t, got, `"snssqs-`+topic+`"`)
	})
	t.Run("duplicate statements collapse", func(t *testing.T) {
		var doc struct{ Statement []json.RawMessage }
		require.NoError(t, json.Unmarshal([]byte(ours), &doc))
		dup := `{"Version":"2012-10-17","Statement":[` + string(doc.Statement[0]) + `,` + string(doc.Statement[0]) + `]}`
		got, changed, err := mergeQueuePolicy(dup, q, topic)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.JSONEq(t, ours, got)
	})
	t.Run("null statement and no version", func(t *testing.T) {
		got, changed, err := mergeQueuePolicy(`{"Statement":null}`, q, topic)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.JSONEq(t, ours, got)
	})
	for name, bad := range map[string]string{
		"not JSON":         `not json`,
		"JSON array":       `[]`,
		"JSON null":        `null`,
		"statement string": `{"Version":"2012-10-17","Statement":"x"}`,
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			_, _, err := mergeQueuePolicy(bad, q, topic)
			require.Error(t, err)
		})
	}
}

func TestProvisionQueuePolicyExactJSON(t *testing.T) {
	got := QueuePolicy("arn:aws:sqs:us-east-1:123456789012:billing", "arn:aws:sns:us-east-1:123456789012:orders")
	assert.Equal(t, `{"Version":"2012-10-17","Statement":[{"Sid":"snssqs-arn:aws:sns:us-east-1:123456789012:orders",`+
		`"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage",`+
		`"Resource":"arn:aws:sqs:us-east-1:123456789012:billing",`+
		`"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:orders"}}}]}`, got)
}

func TestProvisionReusesExistingSubscriptionAcrossPages(t *testing.T) {
	f := newProvFake()
	f.pageSize = 2
	topic := provTopicARN("orders")
	f.topics[topic] = map[string]string{"TopicArn": topic}
	f.queues["billing"] = map[string]string{"QueueArn": provQueueARN("billing")}
	for i := range 3 { // unrelated subscriptions fill the first page
		f.subs = append(f.subs, &provFakeSub{arn: fmt.Sprintf("%s:other-%d", topic, i), topic: topic, protocol: "sqs",
			endpoint: provQueueARN(fmt.Sprintf("other-%d", i)), attrs: map[string]string{}})
	}
	f.subs = append(f.subs,
		&provFakeSub{arn: "PendingConfirmation", topic: topic, protocol: "sqs", endpoint: provQueueARN("audit"), attrs: map[string]string{}},
		&provFakeSub{arn: topic + ":existing", topic: topic, protocol: "sqs", endpoint: provQueueARN("billing"), attrs: map[string]string{
			"RawMessageDelivery": "false",
			"FilterPolicy":       `{"a":["b"]}`,
		}})

	spec := TopologySpec{TopicName: "orders", Queues: []QueueSpec{
		{Name: "billing", RawMessageDelivery: true, FilterPolicy: `{"nested":{"x":["y"]}}`, FilterPolicyScope: FilterPolicyScopeMessageBody},
		{Name: "audit"},
	}}
	topo, err := Apply(context.Background(), f, f, spec)
	require.NoError(t, err)

	assert.Equal(t, topic+":existing", topo.Queues["billing"].SubscriptionARN)
	lists := provInputs[*sns.ListSubscriptionsByTopicInput](f)
	require.Len(t, lists, 3, "all pages are read")
	assert.Nil(t, lists[0].NextToken)
	assert.Equal(t, "2", aws.ToString(lists[1].NextToken))
	assert.Equal(t, "4", aws.ToString(lists[2].NextToken))
	assert.Equal(t, []string{
		"SetQueueAttributes billing Policy",
		"SetSubscriptionAttributes RawMessageDelivery=true",
		"SetSubscriptionAttributes FilterPolicyScope=MessageBody",
		`SetSubscriptionAttributes FilterPolicy={"nested":{"x":["y"]}}`,
		"SetQueueAttributes audit Policy",
		"Subscribe " + provQueueARN("audit"),
	}, f.writes(), "the pending subscription is not reused; the existing one is updated, scope before a body policy")
	assert.Equal(t, topic+":confirmed", topo.Queues["audit"].SubscriptionARN)
	assert.Len(t, f.subs, 5, "no subscription added")

	// Dropping the filter removes it; a second run is then a no-op.
	f.reset()
	spec.Queues[0].FilterPolicy, spec.Queues[0].FilterPolicyScope = "", ""
	_, err = Apply(context.Background(), f, f, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"SetSubscriptionAttributes FilterPolicy="}, f.writes())
	f.reset()
	_, err = Apply(context.Background(), f, f, spec)
	require.NoError(t, err)
	assert.Empty(t, f.writes())
}

func TestProvisionSubscriptionChanges(t *testing.T) {
	const flat, nested = `{"a":["b"]}`, `{"a":{"b":["c"]}}`
	tests := []struct {
		name   string
		cur    map[string]string
		raw    bool
		policy string
		scope  string
		want   []attrChange
	}{
		{"nothing to do", map[string]string{"RawMessageDelivery": "false"}, false, "", FilterPolicyScopeMessageAttributes, nil},
		{"raw missing means false", map[string]string{}, true, "", FilterPolicyScopeMessageAttributes,
			[]attrChange{{"RawMessageDelivery", "true"}}},
		{"raw case-insensitive", map[string]string{"RawMessageDelivery": "True"}, true, "", FilterPolicyScopeMessageAttributes, nil},
		{"add policy, default scope implied", map[string]string{}, false, flat, FilterPolicyScopeMessageAttributes,
			[]attrChange{{"FilterPolicy", flat}}},
		{"same policy reformatted", map[string]string{"FilterPolicy": "{ \"a\" : [\"b\"] }", "FilterPolicyScope": "MessageAttributes"}, false, flat, FilterPolicyScopeMessageAttributes, nil},
		{"number and string differ in a filter", map[string]string{"FilterPolicy": `{"a":[5]}`}, false, `{"a":["5"]}`, FilterPolicyScopeMessageAttributes,
			[]attrChange{{"FilterPolicy", `{"a":["5"]}`}}},
		{"to body scope: scope first", map[string]string{"FilterPolicy": flat, "FilterPolicyScope": "MessageAttributes"}, false, nested, FilterPolicyScopeMessageBody,
			[]attrChange{{"FilterPolicyScope", "MessageBody"}, {"FilterPolicy", nested}}},
		{"to body scope, same policy: policy rewritten after scope", map[string]string{"FilterPolicy": flat, "FilterPolicyScope": "MessageAttributes"}, false, flat, FilterPolicyScopeMessageBody,
			[]attrChange{{"FilterPolicyScope", "MessageBody"}, {"FilterPolicy", flat}}},
		{"to attributes scope: new policy first, then scope, then policy again", map[string]string{"FilterPolicy": nested, "FilterPolicyScope": "MessageBody"}, false, flat, FilterPolicyScopeMessageAttributes,
			[]attrChange{{"FilterPolicy", flat}, {"FilterPolicyScope", "MessageAttributes"}, {"FilterPolicy", flat}}},
		{"to attributes scope, same policy", map[string]string{"FilterPolicy": flat, "FilterPolicyScope": "MessageBody"}, false, flat, FilterPolicyScopeMessageAttributes,
			[]attrChange{{"FilterPolicyScope", "MessageAttributes"}, {"FilterPolicy", flat}}},
		{"policy change only", map[string]string{"FilterPolicy": flat, "FilterPolicyScope": "MessageBody"}, false, nested, FilterPolicyScopeMessageBody,
			[]attrChange{{"FilterPolicy", nested}}},
		{"remove policy", map[string]string{"FilterPolicy": flat, "FilterPolicyScope": "MessageBody"}, false, "", FilterPolicyScopeMessageAttributes,
			[]attrChange{{"FilterPolicy", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, subscriptionChanges(tt.cur, tt.raw, tt.policy, tt.scope))
		})
	}
}

func TestProvisionValidation(t *testing.T) {
	long := strings.Repeat("q", 77)
	tests := map[string]TopologySpec{
		"empty topic name":          {},
		"bad topic character":       {TopicName: "orders!"},
		"only .fifo":                {TopicName: ".fifo"},
		"topic name too long":       {TopicName: strings.Repeat("t", 257)},
		"dedup on standard topic":   {TopicName: "t", ContentBasedDeduplication: true},
		"FifoTopic attribute":       {TopicName: "t.fifo", TopicAttributes: map[string]string{"FifoTopic": "true"}},
		"dedup topic attribute":     {TopicName: "t.fifo", TopicAttributes: map[string]string{"ContentBasedDeduplication": "true"}},
		"empty queue name":          {TopicName: "t", Queues: []QueueSpec{{}}},
		"queue name too long":       {TopicName: "t", Queues: []QueueSpec{{Name: strings.Repeat("q", 81)}}},
		"dlq name too long":         {TopicName: "t", Queues: []QueueSpec{{Name: long, DeadLetterQueue: true}}},
		"standard queue, FIFO":      {TopicName: "t.fifo", Queues: []QueueSpec{{Name: "q"}}},
		"FIFO queue, standard":      {TopicName: "t", Queues: []QueueSpec{{Name: "q.fifo"}}},
		"duplicate queue":           {TopicName: "t", Queues: []QueueSpec{{Name: "q"}, {Name: "q"}}},
		"queue named like a DLQ":    {TopicName: "t", Queues: []QueueSpec{{Name: "q", DeadLetterQueue: true}, {Name: "q-dlq"}}},
		"filter not JSON":           {TopicName: "t", Queues: []QueueSpec{{Name: "q", FilterPolicy: "{"}}},
		"filter not object":         {TopicName: "t", Queues: []QueueSpec{{Name: "q", FilterPolicy: `["a"]`}}},
		"filter null":               {TopicName: "t", Queues: []QueueSpec{{Name: "q", FilterPolicy: `null`}}},
		"bad scope":                 {TopicName: "t", Queues: []QueueSpec{{Name: "q", FilterPolicy: `{}`, FilterPolicyScope: "Body"}}},
		"scope without policy":      {TopicName: "t", Queues: []QueueSpec{{Name: "q", FilterPolicyScope: FilterPolicyScopeMessageBody}}},
		"negative receive count":    {TopicName: "t", Queues: []QueueSpec{{Name: "q", DeadLetterQueue: true, MaxReceiveCount: -1}}},
		"receive count over 1000":   {TopicName: "t", Queues: []QueueSpec{{Name: "q", DeadLetterQueue: true, MaxReceiveCount: 1001}}},
		"receive count without DLQ": {TopicName: "t", Queues: []QueueSpec{{Name: "q", MaxReceiveCount: 3}}},
		"negative visibility":       {TopicName: "t", Queues: []QueueSpec{{Name: "q", VisibilityTimeout: -time.Second}}},
		"fractional visibility":     {TopicName: "t", Queues: []QueueSpec{{Name: "q", VisibilityTimeout: 1500 * time.Millisecond}}},
		"visibility over 12h":       {TopicName: "t", Queues: []QueueSpec{{Name: "q", VisibilityTimeout: 13 * time.Hour}}},
		"Policy attribute":          {TopicName: "t", Queues: []QueueSpec{{Name: "q", Attributes: map[string]string{"Policy": "{}"}}}},
		"FifoQueue attribute":       {TopicName: "t", Queues: []QueueSpec{{Name: "q", Attributes: map[string]string{"FifoQueue": "true"}}}},
		"RedrivePolicy with DLQ":    {TopicName: "t", Queues: []QueueSpec{{Name: "q", DeadLetterQueue: true, Attributes: map[string]string{"RedrivePolicy": ""}}}},
		"VisibilityTimeout twice":   {TopicName: "t", Queues: []QueueSpec{{Name: "q", VisibilityTimeout: time.Second, Attributes: map[string]string{"VisibilityTimeout": "1"}}}},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			f := newProvFake()
			_, err := Apply(context.Background(), f, f, spec)
			require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
			assert.Empty(t, f.ops(), "nothing is called for an invalid spec")
		})
	}

	t.Run("all problems are reported", func(t *testing.T) {
		err := TopologySpec{TopicName: "t!", Queues: []QueueSpec{{Name: "a.fifo"}, {Name: "b", MaxReceiveCount: 2}}}.Validate()
		require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
		assert.Contains(t, err.Error(), `topic name "t!"`)
		assert.Contains(t, err.Error(), `queue "a.fifo": name must not end in ".fifo"`)
		assert.Contains(t, err.Error(), `queue "b": MaxReceiveCount requires DeadLetterQueue`)
	})
	t.Run("valid edge cases", func(t *testing.T) {
		assert.NoError(t, TopologySpec{TopicName: "t"}.Validate(), "a topic without queues is valid")
		assert.NoError(t, TopologySpec{TopicName: strings.Repeat("t", 256)}.Validate())
		assert.NoError(t, TopologySpec{TopicName: "t", Queues: []QueueSpec{{Name: strings.Repeat("q", 76), DeadLetterQueue: true,
			MaxReceiveCount: 1000, VisibilityTimeout: 12 * time.Hour,
			FilterPolicy: `{}`, FilterPolicyScope: FilterPolicyScopeMessageBody}}}.Validate())
		assert.NoError(t, TopologySpec{TopicName: "t", Queues: []QueueSpec{{Name: "q",
			Attributes: map[string]string{"VisibilityTimeout": "45", "RedrivePolicy": ""}}}}.Validate(),
			"VisibilityTimeout and RedrivePolicy may be set as attributes when the fields do not manage them")
	})
	t.Run("nil clients", func(t *testing.T) {
		f := newProvFake()
		_, err := Apply(context.Background(), nil, f, TopologySpec{TopicName: "t"})
		require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
		_, err = Apply(context.Background(), f, nil, TopologySpec{TopicName: "t"})
		require.ErrorIs(t, err, snssqs.ErrInvalidOptions)
	})
}

func TestProvisionDeadLetterQueueName(t *testing.T) {
	assert.Equal(t, "billing-dlq", DeadLetterQueueName("billing"))
	assert.Equal(t, "billing-dlq.fifo", DeadLetterQueueName("billing.fifo"))
}

func TestProvisionErrorsKeepAWSErrorsReachable(t *testing.T) {
	tests := []struct {
		op       string
		err      error
		lastOp   string
		contains string
	}{
		{"CreateTopic", &smithy.GenericAPIError{Code: "AuthorizationError", Message: "denied"}, "CreateTopic orders", `create topic "orders"`},
		{"GetTopicAttributes", &snstypes.NotFoundException{Message: aws.String("gone")}, "GetTopicAttributes " + provTopicARN("orders"), `get attributes of topic "orders"`},
		{"ListSubscriptionsByTopic", &snstypes.ThrottledException{Message: aws.String("slow down")}, "ListSubscriptionsByTopic ", "list subscriptions"},
		{"CreateQueue", &sqstypes.QueueDeletedRecently{Message: aws.String("wait 60s")}, "CreateQueue billing-dlq", `create queue "billing-dlq"`},
		{"GetQueueAttributes", &sqstypes.QueueDoesNotExist{Message: aws.String("gone")}, "GetQueueAttributes billing-dlq", `get attributes of queue "billing-dlq"`},
		{"SetQueueAttributes", &sqstypes.InvalidAttributeValue{Message: aws.String("bad")}, "SetQueueAttributes billing Policy", `set attributes Policy of queue "billing"`},
		{"Subscribe", &snstypes.SubscriptionLimitExceededException{Message: aws.String("too many")}, "Subscribe " + provQueueARN("billing"), `subscribe queue "billing"`},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			f := newProvFake()
			f.failures[tt.op] = tt.err
			topo, err := Apply(context.Background(), f, f, provStandardSpec())
			require.Error(t, err)
			assert.Nil(t, topo)
			require.ErrorIs(t, err, tt.err, "the AWS error itself is reachable")
			var apiErr smithy.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Contains(t, err.Error(), tt.contains)
			assert.True(t, strings.HasPrefix(err.Error(), "snssqs: provision: "), err.Error())
			ops := f.ops()
			assert.Equal(t, tt.lastOp, ops[len(ops)-1], "Provision stops at the first error")
		})
	}

	t.Run("typed error via errors.As", func(t *testing.T) {
		f := newProvFake()
		f.failures["CreateQueue"] = &sqstypes.QueueDeletedRecently{Message: aws.String("wait")}
		_, err := Apply(context.Background(), f, f, provStandardSpec())
		var recent *sqstypes.QueueDeletedRecently
		require.ErrorAs(t, err, &recent)
		assert.Equal(t, "wait", aws.ToString(recent.Message))
	})

	t.Run("existing-subscription path", func(t *testing.T) {
		f := newProvFake()
		_, err := Apply(context.Background(), f, f, provStandardSpec())
		require.NoError(t, err)
		spec := provStandardSpec()
		spec.Queues[0].RawMessageDelivery = false
		f.failures["SetSubscriptionAttributes"] = &snstypes.AuthorizationErrorException{Message: aws.String("no")}
		_, err = Apply(context.Background(), f, f, spec)
		var denied *snstypes.AuthorizationErrorException
		require.ErrorAs(t, err, &denied)
		assert.Contains(t, err.Error(), "set attribute RawMessageDelivery of subscription")

		f.failures = map[string]error{"GetSubscriptionAttributes": &snstypes.NotFoundException{Message: aws.String("gone")}}
		_, err = Apply(context.Background(), f, f, spec)
		var notFound *snstypes.NotFoundException
		require.ErrorAs(t, err, &notFound)
	})

	t.Run("GetQueueUrl after QueueNameExists", func(t *testing.T) {
		f := newProvFake()
		_, err := Apply(context.Background(), f, f, provStandardSpec())
		require.NoError(t, err)
		spec := provStandardSpec()
		spec.Queues[0].VisibilityTimeout = time.Hour
		f.failures["GetQueueUrl"] = &sqstypes.QueueDoesNotExist{Message: aws.String("deleted meanwhile")}
		_, err = Apply(context.Background(), f, f, spec)
		var missing *sqstypes.QueueDoesNotExist
		require.ErrorAs(t, err, &missing)
		assert.Contains(t, err.Error(), `get URL of existing queue "billing"`)
	})

	t.Run("unparseable existing policy is not overwritten", func(t *testing.T) {
		f := newProvFake()
		f.queues["audit"] = map[string]string{"QueueArn": provQueueARN("audit"), "Policy": "garbage"}
		_, err := Apply(context.Background(), f, f, TopologySpec{TopicName: "orders", Queues: []QueueSpec{{Name: "audit"}}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `queue "audit"`)
		assert.Equal(t, "garbage", f.queues["audit"]["Policy"])
		assert.Empty(t, provInputs[*sqs.SetQueueAttributesInput](f))
	})

	t.Run("context is passed through", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Apply(ctx, provCtxCheckingSNS{newProvFake()}, newProvFake(), provStandardSpec())
		require.ErrorIs(t, err, context.Canceled)
	})
}

// provCtxCheckingSNS fails CreateTopic with the context's error, as the SDK does.
type provCtxCheckingSNS struct{ *provFake }

func (c provCtxCheckingSNS) CreateTopic(ctx context.Context, in *sns.CreateTopicInput, opts ...func(*sns.Options)) (*sns.CreateTopicOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.provFake.CreateTopic(ctx, in, opts...)
}

func TestProvisionRejectsMissingIdentifiers(t *testing.T) {
	f := newProvFake()
	_, err := Apply(context.Background(), provEmptyTopicARN{f}, f, TopologySpec{TopicName: "t"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no TopicArn")

	f = newProvFake()
	f.queues["q"] = map[string]string{} // no QueueArn
	_, err = Apply(context.Background(), f, f, TopologySpec{TopicName: "t", Queues: []QueueSpec{{Name: "q"}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no QueueArn")
}

// provEmptyTopicARN answers CreateTopic without a TopicArn.
type provEmptyTopicARN struct{ *provFake }

func (provEmptyTopicARN) CreateTopic(context.Context, *sns.CreateTopicInput, ...func(*sns.Options)) (*sns.CreateTopicOutput, error) {
	return &sns.CreateTopicOutput{}, nil
}

func TestProvisionAttrEqual(t *testing.T) {
	assert.True(t, attrEqual("RedrivePolicy", `{"deadLetterTargetArn":"a","maxReceiveCount":5}`, `{"maxReceiveCount":"5","deadLetterTargetArn":"a"}`))
	assert.False(t, attrEqual("RedrivePolicy", `{"deadLetterTargetArn":"a","maxReceiveCount":5}`, `{"deadLetterTargetArn":"a","maxReceiveCount":"6"}`))
	assert.False(t, attrEqual("Policy", `{"a":5}`, `{"a":"5"}`), "only redrive policies are lenient")
	assert.True(t, attrEqual("DeliveryPolicy", `{"a": {"b": 1}}`, `{"a":{"b":1}}`))
	assert.True(t, attrEqual("DelaySeconds", "2", "2"))
	assert.False(t, attrEqual("DelaySeconds", "", "0"))
	assert.False(t, attrEqual("DisplayName", "{", "{"[:0]))
}
