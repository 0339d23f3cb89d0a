// Package conformance is a suite of Amazon SNS and SQS scenarios written
// against the aws-sdk-go-v2 clients only, so the same assertions run against
// the in-process emulator (snssqstest), moto, LocalStack or a real account.
// The scenarios assert what the AWS API references document; where an
// implementation used as a reference departs from the documentation the
// scenario skips with SkipOnMoto and the README lists the difference.
package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Target names the implementation the suite talks to.
type Target string

// Known targets. Any other value of SNSSQS_TEST_TARGET is treated like
// TargetExternal.
const (
	// TargetSNSSQSTest is the in-process emulator started by the test.
	TargetSNSSQSTest Target = "snssqstest"
	// TargetMoto is a moto_server (the independent reference implementation).
	TargetMoto Target = "moto"
	// TargetExternal is any other endpoint: LocalStack or a real account.
	TargetExternal Target = "external"
)

// Env is what every scenario receives: SDK clients bound to one target, the
// aws.Config they were built from (for library scenarios that build their
// own clients), unique names and resource helpers that clean up after the
// test.
type Env struct {
	// Config is the configuration the clients were built from.
	Config aws.Config
	// SNS, SQS and STS are clients bound to the target.
	SNS *sns.Client
	SQS *sqs.Client
	STS *sts.Client
	// Target is the implementation under test.
	Target Target
	// RunID is a short random id shared by every name of one run.
	RunID string
	// ScenarioTimeout bounds the wall time of one scenario.
	ScenarioTimeout time.Duration
	// Settle bounds how long a scenario waits for eventually consistent
	// effects that AWS documents as not immediate (queue deletion, purge,
	// approximate counters): zero-ish on emulators, up to a minute on AWS.
	Settle time.Duration
}

// NewEnv builds the clients for cfg and returns an Env for target.
func NewEnv(cfg aws.Config, target Target) *Env {
	e := &Env{
		Config:          cfg,
		SNS:             sns.NewFromConfig(cfg),
		SQS:             sqs.NewFromConfig(cfg),
		STS:             sts.NewFromConfig(cfg),
		Target:          target,
		RunID:           uuid.NewString()[:8],
		ScenarioTimeout: 90 * time.Second,
		Settle:          5 * time.Second,
	}
	if target == TargetExternal {
		e.Settle = 70 * time.Second
		e.ScenarioTimeout = 4 * time.Minute
	}
	return e
}

// Name returns a name unique to this call, beginning with prefix and
// containing the run id, short enough for queue (80) and topic (256) names
// even with a ".fifo" suffix.
func (e *Env) Name(prefix string) string {
	return prefix + "-" + e.RunID + "-" + uuid.NewString()[:8]
}

// Context returns a context bounded by ScenarioTimeout and cancelled when
// the test ends.
func (e *Env) Context(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e.ScenarioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// SkipOnMoto skips the scenario when the target is moto. reason must cite
// the documented AWS behaviour moto departs from, so the README's table of
// known differences can be checked against the code.
func (e *Env) SkipOnMoto(t *testing.T, reason string) {
	t.Helper()
	if e.Target == TargetMoto {
		t.Skipf("moto departs from AWS: %s", reason)
	}
}

// Queue is a queue created for one scenario.
type Queue struct {
	Name string
	URL  string
	ARN  string
}

// CreateQueue creates a queue named name (".fifo" names get FifoQueue=true
// added) with attrs, returns its URL and ARN, and deletes it when the test
// ends.
func (e *Env) CreateQueue(t *testing.T, name string, attrs map[string]string) Queue {
	t.Helper()
	ctx := e.Context(t)
	all := map[string]string{}
	for k, v := range attrs {
		all[k] = v
	}
	if strings.HasSuffix(name, ".fifo") {
		all[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
	}
	out, err := e.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: all})
	require.NoError(t, err, "CreateQueue %s", name)
	url := aws.ToString(out.QueueUrl)
	require.NotEmpty(t, url, "CreateQueue returned no QueueUrl")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = e.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	return Queue{Name: name, URL: url, ARN: e.QueueARN(t, url)}
}

// QueueARN returns the QueueArn attribute of the queue at url.
func (e *Env) QueueARN(t *testing.T, url string) string {
	t.Helper()
	attrs := e.QueueAttributes(t, url, sqstypes.QueueAttributeNameQueueArn)
	arn := attrs[string(sqstypes.QueueAttributeNameQueueArn)]
	require.True(t, strings.HasPrefix(arn, "arn:"), "QueueArn %q is not an ARN", arn)
	return arn
}

// QueueAttributes returns the named attributes of the queue at url.
func (e *Env) QueueAttributes(t *testing.T, url string, names ...sqstypes.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := e.SQS.GetQueueAttributes(e.Context(t), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: names,
	})
	require.NoError(t, err, "GetQueueAttributes %s", url)
	return out.Attributes
}

// CreateTopic creates a topic named name (".fifo" names get FifoTopic=true
// added) with attrs, returns its ARN and deletes it when the test ends.
func (e *Env) CreateTopic(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	all := map[string]string{}
	for k, v := range attrs {
		all[k] = v
	}
	if strings.HasSuffix(name, ".fifo") {
		all["FifoTopic"] = "true"
	}
	out, err := e.SNS.CreateTopic(e.Context(t), &sns.CreateTopicInput{Name: aws.String(name), Attributes: all})
	require.NoError(t, err, "CreateTopic %s", name)
	arn := aws.ToString(out.TopicArn)
	require.True(t, strings.HasPrefix(arn, "arn:"), "TopicArn %q is not an ARN", arn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = e.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	})
	return arn
}

// SubscribeQueue subscribes q to topicARN with the given subscription
// attributes (RawMessageDelivery, FilterPolicy, ...), returns the
// subscription ARN and unsubscribes when the test ends. On external targets
// it first grants the topic sqs:SendMessage in the queue policy, as AWS
// requires for delivery.
func (e *Env) SubscribeQueue(t *testing.T, topicARN string, q Queue, attrs map[string]string) string {
	t.Helper()
	ctx := e.Context(t)
	if e.Target == TargetExternal {
		_, err := e.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl:   aws.String(q.URL),
			Attributes: map[string]string{"Policy": AllowTopicPolicy(q.ARN, topicARN)},
		})
		require.NoError(t, err, "SetQueueAttributes Policy")
	}
	out, err := e.SNS.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              aws.String(topicARN),
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(q.ARN),
		Attributes:            attrs,
		ReturnSubscriptionArn: true,
	})
	require.NoError(t, err, "Subscribe %s to %s", q.ARN, topicARN)
	arn := aws.ToString(out.SubscriptionArn)
	require.True(t, strings.HasPrefix(arn, topicARN+":"), "SubscriptionArn %q does not extend the topic ARN %q", arn, topicARN)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = e.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(arn)})
	})
	return arn
}

// AllowTopicPolicy returns the queue policy that lets topicARN send to the
// queue queueARN (the policy the SNS developer guide prescribes for SQS
// subscriptions).
func AllowTopicPolicy(queueARN, topicARN string) string {
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "sns.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": topicARN}},
		}},
	}
	b, _ := json.Marshal(policy) // maps of strings always marshal
	return string(b)
}

// Eventually asserts cond. On emulators (Settle of a few seconds) it is
// checked until Settle passes, on external targets for up to Settle (AWS
// documents deletion, purge and the approximate counters as eventually
// consistent). It fails the test with msg if cond never holds.
func (e *Env) Eventually(t *testing.T, msg string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(e.Settle)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			require.FailNow(t, "condition never held within "+e.Settle.String(), msg)
		case <-t.Context().Done():
			require.FailNow(t, "test ended while waiting", msg)
		case <-tick.C:
		}
	}
}
