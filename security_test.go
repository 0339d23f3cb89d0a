package snssqs_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
	"github.com/snssqs/snssqs/provision"
	"github.com/snssqs/snssqs/snssqstest"
)

// Recognizable credentials and body text the logs must (not) contain.
const (
	secAccessKey    = "AKIASNSSQSLEAKCHECK7"
	secSecretKey    = "wJalrXUtnFEMI/SNSSQS/leak+check/SECRETKEY"
	secSessionToken = "FwoGZXIvYXdzSNSSQSsessionTOKENleakcheck"
	secBodyMarker   = "BODY-MARKER-7f3a9c"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// securityTraffic runs a publisher and a subscriber logging at level through
// successes and every kind of failure, and returns the log.
func securityTraffic(t *testing.T, level logrus.Level) string {
	srv := snssqstest.Run(t)
	logs := &lockedBuffer{}
	logger := logrus.New()
	logger.SetOutput(logs)
	logger.SetLevel(level)
	logger.SetFormatter(&logrus.JSONFormatter{})

	cfg := srv.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(secAccessKey, secSecretKey, secSessionToken)
	cfg.Retryer = func() aws.Retryer { return chaosRetryer() }
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()
	topo, err := provision.Apply(ctx, snsClient, sqsClient, provision.TopologySpec{TopicName: "sec",
		Queues: []provision.QueueSpec{{Name: "sec-q", DeadLetterQueue: true, MaxReceiveCount: 4}}})
	require.NoError(t, err)
	queueURL := topo.Queues["sec-q"].URL

	// Errors on every path: SDK-retried ones, ones that reach the caller,
	// dropped connections.
	require.NoError(t, srv.SetFaults(snssqstest.Faults{Seed: 9, Rules: map[string]snssqstest.FaultRule{
		"*": {ErrorRate: 0.3, DropAfterRate: 0.05, Errors: []snssqstest.FaultError{snssqstest.FaultThrottled, snssqstest.FaultInternalError}},
	}}))

	pub, err := snssqs.NewPublisher(snsClient, func(o *snssqs.PublisherOptions) { o.Logger = logger })
	require.NoError(t, err)
	var handled atomic.Int64
	sub, err := snssqs.NewSubscriber(sqsClient, func(o *snssqs.SubscriberOptions) {
		o.Logger = logger
		o.WaitTime = time.Second
		o.VisibilityTimeout = time.Second // messages of dropped receives come back soon
		o.BackoffMin = -1                 // none
		o.Middleware = []snssqs.Middleware{snssqs.Logging(logger)}
	})
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "sec.ok", func(ctx context.Context, m *snssqs.Message) error {
		handled.Add(1)
		return nil
	})
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "sec.fail", func(ctx context.Context, m *snssqs.Message) error {
		return errors.New("sec: handler failed")
	})
	require.NoError(t, err)
	_, err = sub.Handle(queueURL, "sec.panic", func(ctx context.Context, m *snssqs.Message) error {
		panic("sec: handler panicked")
	})
	require.NoError(t, err)
	// A queue that does not exist: every receive fails.
	_, err = sub.HandleFallback(strings.Replace(queueURL, "sec-q", "sec-missing", 1), func(context.Context, *snssqs.Message) error { return nil })
	require.NoError(t, err)
	runDone := runSubscriber(sub)

	payload := map[string]string{"secret_body": secBodyMarker}
	okIDs := 0
	for _, typ := range []string{"sec.ok", "sec.ok", "sec.ok", "sec.fail", "sec.panic", "sec.unknown"} {
		for range 3 {
			if _, err := pub.Publish(ctx, topo.TopicARN, typ, payload); err == nil && typ == "sec.ok" {
				okIDs++
			}
		}
	}
	_, err = pub.Publish(ctx, "arn:aws:sns:us-east-1:000000000000:sec-missing", "sec.ok", payload)
	require.Error(t, err, "publishing to a missing topic fails")
	_, err = pub.Publish(ctx, topo.TopicARN, "sec.big", map[string]string{"x": strings.Repeat(secBodyMarker, 30000)})
	require.ErrorIs(t, err, snssqs.ErrMessageTooLarge)
	// A body that is not a valid envelope.
	_, err = sqsClient.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL),
		MessageBody: aws.String(`{"specversion":"0.1","id":"x","source":"s","type":"sec.ok","data":"` + secBodyMarker + `"}`)})
	if err != nil { // the fault injector may drop it; send once more without faults
		require.NoError(t, srv.SetFaults(snssqstest.Faults{}))
		_, err = sqsClient.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL),
			MessageBody: aws.String(`{"specversion":"0.1","id":"y","source":"s","type":"sec.ok","data":"` + secBodyMarker + `"}`)})
		require.NoError(t, err)
	}

	require.Eventually(t, func() bool { return handled.Load() >= int64(okIDs) }, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		d, err := queueDepth(ctx, sqsClient, queueURL)
		return err == nil && d == 0
	}, 30*time.Second, 10*time.Millisecond, "failing messages dead-lettered")
	require.NoError(t, sub.Close())
	require.NoError(t, <-runDone)
	require.NoError(t, pub.Shutdown(ctx))
	return logs.String()
}

func TestSecurityCredentialsNeverLogged(t *testing.T) {
	out := securityTraffic(t, logrus.TraceLevel)
	require.NotEmpty(t, out)
	// The traffic did exercise the failure paths.
	for _, want := range []string{`"level":"warning"`, `"level":"error"`, `"level":"debug"`} {
		assert.Contains(t, out, want)
	}
	for _, secret := range []string{secAccessKey, secSecretKey, secSessionToken, "Credential=", "Signature="} {
		assert.NotContains(t, out, secret)
	}
	// Parts of the secret, as an encoder might escape or split it.
	for _, part := range strings.Split(secSecretKey, "/") {
		assert.NotContains(t, out, part)
	}
}

func TestSecurityBodiesOnlyAtDebug(t *testing.T) {
	info := securityTraffic(t, logrus.InfoLevel)
	require.NotEmpty(t, info)
	assert.Contains(t, info, `"level":"warning"`, "failures are logged at Info level")
	assert.NotContains(t, info, secBodyMarker, "no body text at Info level")

	// The same traffic at Debug logs bodies: the assertion above can fail.
	debug := securityTraffic(t, logrus.DebugLevel)
	assert.Contains(t, debug, secBodyMarker, "bodies are logged at Debug level")
}
