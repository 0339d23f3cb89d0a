package main

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/snssqs/snssqs/snssqstest"
)

// benchRegion is the region every client uses; emulators accept any.
const benchRegion = "us-east-1"

// requestCounter counts API requests (every attempt, retries included) as the
// client sends them, keyed like the emulator's admin endpoint:
// "sqs:ReceiveMessage", "sns:PublishBatch". It is the fallback when the
// endpoint has no admin endpoint (e.g. moto) and a cross-check otherwise.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int64
}

func newRequestCounter() *requestCounter { return &requestCounter{counts: map[string]int64{}} }

func (c *requestCounter) add(key string) {
	c.mu.Lock()
	c.counts[key]++
	c.mu.Unlock()
}

func (c *requestCounter) reset() {
	c.mu.Lock()
	c.counts = map[string]int64{}
	c.mu.Unlock()
}

func (c *requestCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// countMiddleware sits below the retry loop (in the Finalize step, after the
// retry middleware), so it sees every attempt that goes on the wire.
func (c *requestCounter) countMiddleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("snssqsBenchCount",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			svc := awsmiddleware.GetServiceID(ctx)
			key := serviceKey(svc) + ":" + middleware.GetOperationName(ctx)
			c.add(key)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func serviceKey(serviceID string) string {
	switch serviceID {
	case sns.ServiceID:
		return "sns"
	case sqs.ServiceID:
		return "sqs"
	default:
		return serviceID
	}
}

// loadAWSConfig builds the aws.Config a user would: config.LoadDefaultConfig
// (default retryer and so on), pointed at the endpoint with static
// credentials, plus the request counter. Every contender uses the HTTP client
// of snssqstest.NewHTTPClient: a server on loopback answers fast enough to
// trigger an SDK/net/http race (the SDK closes a request body net/http is
// still draining) that loses ReceiveMessage responses, whose messages then
// wait out their visibility timeout; against AWS the race does not happen.
func loadAWSConfig(ctx context.Context, endpoint string, counter *requestCounter) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(benchRegion),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("bench", "bench", "")),
		config.WithAPIOptions([]func(*middleware.Stack) error{counter.countMiddleware}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	// Set after loading: LoadDefaultConfig would try to add AWS_CA_BUNDLE's
	// roots to it, which only its own buildable client supports.
	cfg.HTTPClient = snssqstest.NewHTTPClient()
	return cfg, nil
}

// newClients returns fresh SNS and SQS clients (and so fresh connection
// pools) for one run.
func newClients(cfg aws.Config) awsClients {
	return awsClients{sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
}

// sumCounts returns the total of a per-operation count map.
func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// sortedKeys returns the map's keys in order.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
