package snssqstest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// WithRequestLog writes one line to w for every request the server
// answers: when it came, the service and operation, the HTTP status and how
// long the answer took, e.g.
//
//	2026-12-02T16:45:01.234Z sqs SendMessage 200 1.204ms
//
// Admin requests are logged as service "admin" with their path; a
// connection a fault drops, with status 0. Nothing of
// the request's headers or body is written: no credentials, no message
// bodies. Lines are written whole, one at a time.
func WithRequestLog(w io.Writer) Option {
	return func(o *options) { o.requestLog = &requestLog{w: w} }
}

// requestLog serializes the lines of WithRequestLog.
type requestLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *requestLog) write(start time.Time, service, op string, status int) {
	line := fmt.Sprintf("%s %s %s %d %s\n", start.UTC().Format("2006-01-02T15:04:05.000Z"), service, op, status, time.Since(start).Round(time.Microsecond))
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets long polls and streamed answers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets a fault drop the connection through the recorder; the
// request is logged with status 0.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("snssqstest: the response writer cannot be hijacked")
	}
	r.status = -1
	return hj.Hijack()
}

func (r *statusRecorder) code() int {
	switch r.status {
	case 0:
		return http.StatusOK
	case -1:
		return 0 // the connection was dropped
	}
	return r.status
}
