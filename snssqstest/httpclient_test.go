package snssqstest

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closableBody behaves like smithy-go's request body: once closed, reads
// (and WriteTo) report io.EOF.
type closableBody struct {
	mu     sync.Mutex
	r      *strings.Reader
	closed bool
}

func (b *closableBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

func (b *closableBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOwnBodyTransportSurvivesEarlyClose(t *testing.T) {
	const payload = `{"QueueUrl":"http://127.0.0.1/000000000000/q","MaxNumberOfMessages":10}`
	orig := &closableBody{r: strings.NewReader(payload)}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", orig)
	require.NoError(t, err)
	req.ContentLength = int64(len(payload))

	var sent string
	tr := ownBodyTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		// The SDK closes its body as soon as the response headers are in,
		// possibly before net/http finished with the body: simulate that.
		require.NoError(t, orig.Close())
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		sent = string(b)
		assert.Equal(t, int64(len(payload)), r.ContentLength)
		again, err := r.GetBody()
		require.NoError(t, err)
		replay, _ := io.ReadAll(again)
		assert.Equal(t, payload, string(replay), "GetBody replays the body for retries on a new connection")
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, payload, sent, "the request body sent is whole although the caller closed its own")

	_, err = io.ReadAll(orig)
	require.NoError(t, err)
	assert.True(t, orig.closed, "RoundTrip closes the caller's body")
}

func TestOwnBodyTransportWithoutBody(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/_snssqstest/health", nil)
	require.NoError(t, err)
	called := false
	tr := ownBodyTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		called = true
		assert.Same(t, req, r, "a request without a body is passed through")
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)
	assert.True(t, called)
}

func TestNewHTTPClientClosesIdleConnections(t *testing.T) {
	_, ok := NewHTTPClient().Transport.(interface{ CloseIdleConnections() })
	assert.True(t, ok, "http.Client.CloseIdleConnections reaches the pooled connections")
}
