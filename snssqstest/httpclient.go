package snssqstest

import (
	"bytes"
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// NewHTTPClient returns the HTTP client that AWSConfig uses, for SDK clients
// of an emulator (or of LocalStack or moto) on this machine.
//
// It works around a race between the SDK and net/http that only a server
// answering within microseconds triggers: the SDK closes a request's body as
// soon as the response headers arrive, while net/http may still be draining
// that body after having sent it; the drain then fails, net/http closes the
// connection under the response being read, and the SDK retries. For a
// ReceiveMessage the first attempt's messages were already handed out, so
// they stay invisible for a whole visibility timeout. The client gives
// net/http its own copy of each request body, which the SDK cannot close.
// Against AWS, network latency keeps the race from happening.
//
// Its CloseIdleConnections (of the http.Client, or of the transport)
// closes the pooled connections, e.g. before a test checks for leaked
// goroutines.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: ownBodyTransport{next: awshttp.NewBuildableClient().GetTransport()}}
}

// ownBodyTransport buffers each request body before handing the request to
// next, so the caller closing its body early cannot break the write.
type ownBodyTransport struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t ownBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.next.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close() // RoundTrip must close the body, also on error
	if err != nil {
		return nil, err
	}
	own := r.Clone(r.Context())
	own.Body = io.NopCloser(bytes.NewReader(b))
	own.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	own.ContentLength = int64(len(b))
	return t.next.RoundTrip(own)
}

// CloseIdleConnections closes next's idle connections, so that
// http.Client.CloseIdleConnections reaches them.
func (t ownBodyTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
