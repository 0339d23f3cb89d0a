package snssqstest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noRetrySQS is an SQS client that makes exactly one attempt, so injected
// errors surface instead of being retried away.
func noRetrySQS(srv *Server) *sqs.Client {
	return sqs.NewFromConfig(srv.AWSConfig(), func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
}

func noRetrySNS(srv *Server) *sns.Client {
	return sns.NewFromConfig(srv.AWSConfig(), func(o *sns.Options) { o.Retryer = aws.NopRetryer{} })
}

// fastRetryer is the SDK's standard retryer (3 attempts, same retryable
// errors) without the backoff delay.
func fastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func only(op string, r FaultRule) Faults { return Faults{Seed: 1, Rules: map[string]FaultRule{op: r}} }

func httpStatus(t *testing.T, err error) int {
	t.Helper()
	var re interface{ HTTPStatusCode() int }
	require.True(t, errors.As(err, &re), "no HTTP status in %v", err)
	return re.HTTPStatusCode()
}

// sdkRetries reports whether the SDK's default retry policy retries err.
func sdkRetries(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

func TestFaultsValidate(t *testing.T) {
	bad := map[string]Faults{
		"rate above one":       only("*", FaultRule{ErrorRate: 1.5}),
		"negative rate":        only("*", FaultRule{DropAfterRate: -0.1}),
		"outcomes above one":   only("*", FaultRule{ErrorRate: 0.6, DropBeforeRate: 0.6}),
		"latency too long":     only("*", FaultRule{Latency: MaxFaultLatency + time.Second}),
		"negative latency":     only("*", FaultRule{Latency: -time.Second}),
		"unknown error":        only("*", FaultRule{ErrorRate: 1, Errors: []FaultError{FaultError(99)}}),
		"key without service":  only("ReceiveMessage", FaultRule{}),
		"key with empty op":    only("sqs:", FaultRule{}),
		"negative max faults":  only("*", FaultRule{MaxFaults: -1}),
		"negative visibility":  only("*", FaultRule{ShortVisibility: -time.Second}),
		"latency rate above 1": only("*", FaultRule{Latency: time.Second, LatencyRate: 2}),
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			require.Error(t, f.Validate())
			_, err := NewServer(WithFaults(f))
			require.Error(t, err, "NewServer must refuse an invalid configuration")
		})
	}
	good := Faults{Seed: 7, Rules: map[string]FaultRule{
		"*":                  {ErrorRate: 0.1, DropBeforeRate: 0.05, DropAfterRate: 0.05},
		"sqs:*":              {Latency: time.Second},
		"sqs:ReceiveMessage": {ShortVisibilityRate: 0.8, ErrorRate: 0.2, Errors: []FaultError{FaultThrottled}},
	}}
	require.NoError(t, good.Validate())
	require.NoError(t, Faults{}.Validate())
}

func TestFaultsSQSJSONErrors(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	cases := []struct {
		fault  FaultError
		code   string
		status int
		typed  func(error) bool
	}{
		{FaultInternalError, "InternalError", 500, nil},
		{FaultServiceUnavailable, "ServiceUnavailable", 503, nil},
		{FaultThrottled, "RequestThrottled", 403, func(err error) bool {
			var rt *sqstypes.RequestThrottled
			return errors.As(err, &rt)
		}},
		{FaultThrottling, "ThrottlingException", 400, nil},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			require.NoError(t, srv.SetFaults(only("sqs:ListQueues", FaultRule{ErrorRate: 1, Errors: []FaultError{tc.fault}})))
			_, err := client.ListQueues(context.Background(), &sqs.ListQueuesInput{})
			require.Error(t, err)
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "want an API error, got %T %v", err, err)
			assert.Equal(t, tc.code, apiErr.ErrorCode())
			assert.Contains(t, apiErr.ErrorMessage(), "injected fault")
			assert.Equal(t, tc.status, httpStatus(t, err))
			if tc.typed != nil {
				assert.True(t, tc.typed(err), "want the modeled error type, got %T", err)
			}
			assert.True(t, sdkRetries(err), "the SDK's default retryer retries %s", tc.code)
		})
	}
	// The rule names one operation: others are untouched.
	require.NoError(t, srv.SetFaults(only("sqs:ListQueues", FaultRule{ErrorRate: 1})))
	_, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("untouched")})
	require.NoError(t, err)
}

func TestFaultsSNSQueryErrors(t *testing.T) {
	srv := Run(t)
	client := noRetrySNS(srv)
	cases := []struct {
		fault     FaultError
		code      string
		status    int
		retryable bool
		typed     func(error) bool
	}{
		{FaultInternalError, "InternalError", 500, true, nil},
		{FaultServiceUnavailable, "ServiceUnavailable", 503, true, nil},
		// SNS's modeled throttling error is not in the SDK's retryable
		// codes: it reaches the caller on the first attempt.
		{FaultThrottled, "Throttled", 429, false, func(err error) bool {
			var te *snstypes.ThrottledException
			return errors.As(err, &te)
		}},
		{FaultThrottling, "Throttling", 400, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			require.NoError(t, srv.SetFaults(only("sns:Publish", FaultRule{ErrorRate: 1, Errors: []FaultError{tc.fault}})))
			_, err := client.Publish(context.Background(), &sns.PublishInput{
				TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:nope"), Message: aws.String("x"),
			})
			require.Error(t, err)
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "want an API error, got %T %v", err, err)
			assert.Equal(t, tc.code, apiErr.ErrorCode())
			assert.Equal(t, tc.status, httpStatus(t, err))
			if tc.typed != nil {
				assert.True(t, tc.typed(err), "want the modeled error type, got %T", err)
			}
			assert.Equal(t, tc.retryable, sdkRetries(err))
		})
	}
	assert.Equal(t, int64(1), srv.InjectedFaults()["sns:Publish/error:Throttled"])
}

func TestFaultsSQSQueryProtocolError(t *testing.T) {
	srv := Run(t)
	require.NoError(t, srv.SetFaults(only("sqs:*", FaultRule{ErrorRate: 1, Errors: []FaultError{FaultThrottled}})))
	resp, err := http.PostForm(srv.URL()+"/", url.Values{"Action": {"ListQueues"}, "Version": {"2012-11-05"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var doc struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		RequestID string   `xml:"RequestId"`
	}
	require.NoError(t, xml.Unmarshal(body, &doc), "%s", body)
	assert.Equal(t, "RequestThrottled", doc.Code)
	assert.Equal(t, "Sender", doc.Type)
	assert.NotEmpty(t, doc.RequestID)
	assert.Contains(t, string(body), `xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`)
}

func TestFaultsSDKRetriesThroughLimitedFaults(t *testing.T) {
	srv := Run(t)
	client := sqs.NewFromConfig(srv.AWSConfig(), func(o *sqs.Options) { o.Retryer = fastRetryer() })
	require.NoError(t, srv.SetFaults(only("sqs:CreateQueue", FaultRule{ErrorRate: 1, MaxFaults: 2})))
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("retried")})
	require.NoError(t, err, "two faults fit in the SDK's three attempts")
	assert.Contains(t, aws.ToString(out.QueueUrl), "retried")
	var injected int64
	for k, v := range srv.InjectedFaults() {
		if strings.HasPrefix(k, "sqs:CreateQueue/error:") {
			injected += v
		}
	}
	assert.Equal(t, int64(2), injected)
	assert.Equal(t, int64(1), srv.Requests()["sqs:CreateQueue"], "only the attempt that got through reached the handler")
}

func TestFaultsDropBeforeHasNoEffect(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	ctx := context.Background()
	require.NoError(t, srv.SetFaults(only("sqs:CreateQueue", FaultRule{DropBeforeRate: 1})))
	_, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dropped")})
	require.Error(t, err)
	var apiErr smithy.APIError
	assert.False(t, errors.As(err, &apiErr), "a dropped connection is not an API error: %v", err)
	assert.Equal(t, aws.TrueTernary, retry.RetryableConnectionError{}.IsErrorRetryable(err), "a connection error the SDK retries: %v", err)
	assert.Equal(t, int64(1), srv.InjectedFaults()["sqs:CreateQueue/drop-before"])

	require.NoError(t, srv.SetFaults(Faults{}))
	list, err := client.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.NoError(t, err)
	assert.Empty(t, list.QueueUrls, "the dropped CreateQueue never took effect")
	assert.Zero(t, srv.Requests()["sqs:CreateQueue"])
}

func TestFaultsDropAfterTookEffect(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	require.NoError(t, err)

	require.NoError(t, srv.SetFaults(only("sqs:SendMessage", FaultRule{DropAfterRate: 1})))
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("lost answer")})
	require.Error(t, err)
	assert.Equal(t, aws.TrueTernary, retry.RetryableConnectionError{}.IsErrorRetryable(err), "%v", err)
	assert.Equal(t, int64(1), srv.InjectedFaults()["sqs:SendMessage/drop-after"])
	assert.Equal(t, int64(1), srv.Requests()["sqs:SendMessage"], "the handler ran")

	require.NoError(t, srv.SetFaults(Faults{}))
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	require.NoError(t, err)
	require.Len(t, got.Messages, 1, "the send took effect although its answer was lost")
	assert.Equal(t, "lost answer", aws.ToString(got.Messages[0].Body))
}

func TestFaultsShortVisibilityExpiresReceiptHandles(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"),
		Attributes: map[string]string{"VisibilityTimeout": "300"}})
	require.NoError(t, err)
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")})
	require.NoError(t, err)

	require.NoError(t, srv.SetFaults(only("sqs:ReceiveMessage", FaultRule{ShortVisibilityRate: 1, MaxFaults: 1})))
	receive := func() sqstypes.Message {
		t.Helper()
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: q.QueueUrl, VisibilityTimeout: 300, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		require.NoError(t, err)
		require.Len(t, out.Messages, 1)
		return out.Messages[0]
	}
	first := receive()
	second := receive() // visible again at once although 300 s were asked for
	assert.Equal(t, aws.ToString(first.MessageId), aws.ToString(second.MessageId))
	assert.NotEqual(t, aws.ToString(first.ReceiptHandle), aws.ToString(second.ReceiptHandle))
	assert.Equal(t, "2", second.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	assert.Equal(t, int64(1), srv.InjectedFaults()["sqs:ReceiveMessage/short-visibility"])

	// The budget is spent: the second receive used the 300 s asked for.
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	require.NoError(t, err)
	assert.Empty(t, out.Messages)
}

func TestFaultsShortVisibilityQueryProtocol(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	require.NoError(t, err)
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")})
	require.NoError(t, err)
	require.NoError(t, srv.SetFaults(only("sqs:ReceiveMessage", FaultRule{ShortVisibilityRate: 1, MaxFaults: 1})))

	resp, err := http.PostForm(srv.URL()+"/", url.Values{"Action": {"ReceiveMessage"}, "Version": {"2012-11-05"},
		"QueueUrl": {aws.ToString(q.QueueUrl)}, "VisibilityTimeout": {"300"}})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "<Body>m</Body>")

	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	require.NoError(t, err)
	assert.Len(t, out.Messages, 1, "the query receive's 300 s were shortened to 0")
}

func TestFaultsLatencyIsRealAndBounded(t *testing.T) {
	srv := Run(t)
	client := noRetrySQS(srv)
	const latency = 200 * time.Millisecond
	require.NoError(t, srv.SetFaults(only("sqs:ListQueues", FaultRule{Latency: latency})))
	start := time.Now()
	_, err := client.ListQueues(context.Background(), &sqs.ListQueuesInput{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), latency/2, "latency is at least half the configured bound")
	assert.Equal(t, int64(1), srv.InjectedFaults()["sqs:ListQueues/latency"])

	// A delayed request ends with its client: a 30 s delay does not hold a
	// canceled call.
	require.NoError(t, srv.SetFaults(only("sqs:ListQueues", FaultRule{Latency: MaxFaultLatency})))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = client.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestFaultsLatencyEndsOnClose(t *testing.T) {
	srv, err := NewServer(WithFaults(only("*", FaultRule{Latency: MaxFaultLatency})))
	require.NoError(t, err)
	client := noRetrySQS(srv)
	done := make(chan error, 1)
	go func() {
		_, err := client.ListQueues(context.Background(), &sqs.ListQueuesInput{})
		done <- err
	}()
	// Wait until the request is parked in its delay.
	require.Eventually(t, func() bool { return srv.InjectedFaults()["sqs:ListQueues/latency"] == 1 },
		5*time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for an injected delay")
	}
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed request never ended")
	}
}

func TestFaultsDeterministicAndRates(t *testing.T) {
	f := Faults{Seed: 42, Rules: map[string]FaultRule{
		"*":                  {ErrorRate: 0.10, DropBeforeRate: 0.03, DropAfterRate: 0.02, Latency: time.Second, LatencyRate: 0.5},
		"sqs:ReceiveMessage": {ShortVisibilityRate: 0.25, ShortVisibility: 2 * time.Second},
	}}
	run := func(f Faults) []plan {
		fi := newFaultInjector(f, nil)
		var plans []plan
		for i := range 10000 {
			op := "SendMessage"
			if i%2 == 0 {
				op = "ReceiveMessage"
			}
			plans = append(plans, fi.decide("sqs", op))
		}
		return plans
	}
	a, b := run(f), run(f)
	require.Equal(t, a, b, "the same seed gives the same faults")
	f.Seed = 43
	assert.NotEqual(t, a, run(f), "another seed gives other faults")

	counts := map[string]int{}
	delayed := 0
	for i, p := range a {
		if i%2 == 0 { // ReceiveMessage: only its own rule applies
			assert.Zero(t, p.latency)
			if p.kind != "" {
				assert.Equal(t, FaultKindShortVisibility, p.kind)
				assert.Equal(t, 2*time.Second, p.visible)
			}
		}
		counts[p.kind]++
		if p.latency > 0 {
			delayed++
			assert.GreaterOrEqual(t, p.latency, 500*time.Millisecond)
			assert.LessOrEqual(t, p.latency, time.Second)
		}
	}
	within := func(got int, want float64) {
		t.Helper()
		assert.InDelta(t, want, float64(got), want*0.2+10, "got %d, want about %v", got, want)
	}
	within(counts[FaultKindShortVisibility], 5000*0.25)
	within(counts[FaultKindDropBefore], 5000*0.03)
	within(counts[FaultKindDropAfter], 5000*0.02)
	errs := 0
	for k, n := range counts {
		if strings.HasPrefix(k, faultKindErrorPrefix) {
			errs += n
			assert.Contains(t, []string{"error:InternalError", "error:ServiceUnavailable", "error:Throttling"}, k)
		}
	}
	within(errs, 5000*0.10)
	within(delayed, 5000*0.5)
}

func TestFaultsMostSpecificRuleWins(t *testing.T) {
	fi := newFaultInjector(Faults{Rules: map[string]FaultRule{
		"*":                  {ErrorRate: 1},
		"sqs:*":              {DropAfterRate: 1},
		"sqs:ReceiveMessage": {DropBeforeRate: 1},
	}}, nil)
	assert.Equal(t, FaultKindDropBefore, fi.decide("sqs", "ReceiveMessage").kind)
	assert.Equal(t, FaultKindDropAfter, fi.decide("sqs", "SendMessage").kind)
	assert.True(t, strings.HasPrefix(fi.decide("sns", "Publish").kind, faultKindErrorPrefix))
	// ShortVisibilityRate on an operation other than ReceiveMessage is inert.
	fi.set(only("sqs:SendMessage", FaultRule{ShortVisibilityRate: 1}))
	assert.Equal(t, "", fi.decide("sqs", "SendMessage").kind)
}

func TestFaultsConcurrentRequests(t *testing.T) {
	srv := Run(t)
	ctx := context.Background()
	q, err := noRetrySQS(srv).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	require.NoError(t, err)
	require.NoError(t, srv.SetFaults(Faults{Seed: 3, Rules: map[string]FaultRule{
		"*": {ErrorRate: 0.2, DropBeforeRate: 0.1, DropAfterRate: 0.1},
	}}))
	client := noRetrySQS(srv)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
		failed    int
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl,
					MessageBody: aws.String(strings.Repeat("x", w+i+1))})
				mu.Lock()
				if err != nil {
					failed++
				} else {
					succeeded++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var injected int64
	for _, v := range srv.InjectedFaults() {
		injected += v
	}
	assert.Equal(t, int64(failed), injected, "every failed call is an injected fault")
	assert.Equal(t, 200, succeeded+failed)
	assert.Greater(t, failed, 0)
	assert.Greater(t, succeeded, 0)

	// The queue holds the successful sends plus the drop-after ones.
	require.NoError(t, srv.SetFaults(Faults{}))
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	require.NoError(t, err)
	want := succeeded + int(srv.InjectedFaults()["sqs:SendMessage/drop-after"])
	n, err := strconv.Atoi(attrs.Attributes["ApproximateNumberOfMessages"])
	require.NoError(t, err)
	assert.Equal(t, want, n)
}

// Fail the next ListQueues with a throttling error, then let requests
// through; the SDK's retryer is off so the error reaches the caller.
func ExampleServer_SetFaults() {
	srv, err := NewServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := srv.SetFaults(Faults{Seed: 1, Rules: map[string]FaultRule{
		"sqs:ListQueues": {ErrorRate: 1, Errors: []FaultError{FaultThrottled}, MaxFaults: 1},
	}}); err != nil {
		panic(err)
	}
	client := sqs.NewFromConfig(srv.AWSConfig(), func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	_, err = client.ListQueues(context.Background(), &sqs.ListQueuesInput{})
	var throttled *sqstypes.RequestThrottled
	fmt.Println(errors.As(err, &throttled))
	_, err = client.ListQueues(context.Background(), &sqs.ListQueuesInput{})
	fmt.Println(err == nil, srv.InjectedFaults()["sqs:ListQueues/error:Throttled"])
	// Output:
	// true
	// true 1
}
