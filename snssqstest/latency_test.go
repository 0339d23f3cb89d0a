package snssqstest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithLatencyDelaysEveryAnswer(t *testing.T) {
	const lo = 40 * time.Millisecond
	srv := Run(t, WithLatency(lo, 2*lo))
	client := sts.NewFromConfig(srv.AWSConfig())
	for range 3 {
		start := time.Now()
		_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), lo, "no answer comes before the least latency")
	}
}

func TestWithLatencyRejectsBadRanges(t *testing.T) {
	for _, r := range [][2]time.Duration{{-time.Millisecond, 0}, {20 * time.Millisecond, 10 * time.Millisecond}} {
		_, err := NewServer(WithLatency(r[0], r[1]))
		assert.Error(t, err, "%v", r)
	}
}
