package snssqstest

import (
	"context"
	"io"
	"net/http"
	"strings"
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

func TestParseLatency(t *testing.T) {
	for in, want := range map[string][2]time.Duration{
		"":          {0, 0},
		"15ms":      {15 * time.Millisecond, 15 * time.Millisecond},
		"10ms-20ms": {10 * time.Millisecond, 20 * time.Millisecond},
		"0s-1s":     {0, time.Second},
	} {
		lo, hi, err := ParseLatency(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]time.Duration{lo, hi}, in)
	}
	for _, bad := range []string{"fast", "20ms-10ms", "-5ms", "10ms-", "10ms-x"} {
		_, _, err := ParseLatency(bad)
		assert.Error(t, err, bad)
	}
}

func TestSetLatencyChangesLaterAnswers(t *testing.T) {
	const lo = 40 * time.Millisecond
	srv := Run(t)
	client := sts.NewFromConfig(srv.AWSConfig())
	call := func() time.Duration {
		start := time.Now()
		_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		return time.Since(start)
	}
	call() // connect

	// Through the admin endpoint, as a benchmark in another process does.
	put := func(body string) int {
		req, err := http.NewRequest(http.MethodPut, srv.URL()+"/_snssqstest/latency", strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusNoContent, put("40ms-50ms"))
	lmin, lmax := srv.Latency()
	assert.Equal(t, [2]time.Duration{lo, 50 * time.Millisecond}, [2]time.Duration{lmin, lmax})
	assert.GreaterOrEqual(t, call(), lo, "no answer comes before the least latency")

	resp, err := http.Get(srv.URL() + "/_snssqstest/latency")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "40ms-50ms", string(body))

	assert.Equal(t, http.StatusBadRequest, put("50ms-40ms"))
	assert.Equal(t, http.StatusBadRequest, put("soon"))
	require.NoError(t, srv.SetLatency(0, 0))
	lmin, lmax = srv.Latency()
	assert.Zero(t, lmax+lmin)
	assert.Error(t, srv.SetLatency(-time.Millisecond, 0))
}
