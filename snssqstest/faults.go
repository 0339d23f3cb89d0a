package snssqstest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Fault injection makes the emulator misbehave the way AWS does on a bad day,
// so tests can prove a client loses nothing when requests fail. Faults are
// chosen per request from a seeded generator: a sequential client sees the
// same faults on every run with the same seed.
//
// Faults act on requests that reach the emulator over HTTP. Deliveries from a
// topic to its queues happen inside the emulator and are never faulted.

// MaxFaultLatency bounds the latency a rule may add to one request.
const MaxFaultLatency = 30 * time.Second

// FaultError is an AWS error the emulator can answer with instead of handling
// a request. Each is rendered in the request's protocol: the JSON 1.0
// protocol (with the x-amzn-query-error header) for SQS JSON requests, the
// query protocol's XML ErrorResponse for SQS query, SNS and STS requests.
type FaultError int

const (
	// FaultInternalError is HTTP 500 with error code "InternalError" (JSON
	// __type com.amazon.coral.service#InternalFailure). The SDK retries it.
	FaultInternalError FaultError = iota + 1
	// FaultServiceUnavailable is HTTP 503 with error code
	// "ServiceUnavailable". The SDK retries it.
	FaultServiceUnavailable
	// FaultThrottled is the service's modeled throttling error: SQS
	// RequestThrottled (HTTP 403, *types.RequestThrottled, retried by the
	// SDK); SNS Throttled (HTTP 429, *types.ThrottledException, which the
	// SDK's standard retryer does NOT retry, so it reaches the caller); STS
	// Throttling (HTTP 400).
	FaultThrottled
	// FaultThrottling is the generic throttling error of the AWS front end:
	// "ThrottlingException" (HTTP 400) for SQS JSON requests, "Throttling"
	// (HTTP 400) for query requests. The SDK retries both.
	FaultThrottling
)

// String returns the fault's error code as the SDK reports it for SQS JSON
// requests, e.g. "InternalError".
func (e FaultError) String() string {
	switch e {
	case FaultInternalError:
		return "InternalError"
	case FaultServiceUnavailable:
		return "ServiceUnavailable"
	case FaultThrottled:
		return "Throttled"
	case FaultThrottling:
		return "Throttling"
	}
	return "FaultError(" + strconv.Itoa(int(e)) + ")"
}

// Names of injected faults in InjectedFaults keys ("sqs:ReceiveMessage/drop-after").
const (
	FaultKindDropBefore      = "drop-before"
	FaultKindDropAfter       = "drop-after"
	FaultKindShortVisibility = "short-visibility"
	FaultKindLatency         = "latency"
	// Error faults are named "error:" followed by the FaultError's String.
	faultKindErrorPrefix = "error:"
)

// FaultRule is what may go wrong with one operation. At most one of drop
// before, drop after, error and short visibility happens to a request, chosen
// with the probabilities below (their sum must not exceed 1); latency is
// drawn independently and comes first.
type FaultRule struct {
	// ErrorRate is the probability of answering with an AWS error instead of
	// handling the request.
	ErrorRate float64
	// Errors are the errors an error fault picks from, uniformly. Empty means
	// FaultInternalError, FaultServiceUnavailable and FaultThrottling.
	Errors []FaultError
	// DropBeforeRate is the probability of closing the connection without a
	// response and without handling the request: the operation did not
	// happen, the client sees a connection error.
	DropBeforeRate float64
	// DropAfterRate is the probability of handling the request and then
	// closing the connection without a response: the operation took effect
	// (a message was sent, received or deleted) but the client sees a
	// connection error, as when a response is lost in the network.
	DropAfterRate float64
	// ShortVisibilityRate is, for ReceiveMessage, the probability of
	// receiving with ShortVisibility as the visibility timeout instead of the
	// one asked for: the messages come back while the client still works on
	// them, as if its handler ran past the timeout, so the client's
	// ChangeMessageVisibility and DeleteMessage calls use stale receipt
	// handles. Other operations ignore it.
	ShortVisibilityRate float64
	// ShortVisibility is the visibility timeout of a short-visibility
	// receive, in whole seconds (zero: the messages are visible again at
	// once).
	ShortVisibility time.Duration
	// Latency is the most real (wall clock) time added to a request before
	// it is handled; each delayed request waits a uniformly random duration
	// between half of it and all of it. At most MaxFaultLatency. A delay ends early when the client
	// goes away or the server closes.
	Latency time.Duration
	// LatencyRate is the probability that a request is delayed; zero with a
	// non-zero Latency delays every request.
	LatencyRate float64
	// MaxFaults, when positive, stops the rule after it injected that many
	// faults (latency not counted): "fail the next two ReceiveMessage calls".
	MaxFaults int
}

// Faults configures fault injection. The zero value injects nothing.
type Faults struct {
	// Seed seeds the generator that decides which request gets which fault.
	Seed uint64
	// Rules maps an operation to its rule: "sqs:ReceiveMessage",
	// "sns:Publish", "sqs:*" for every SQS operation, "*" for every
	// operation. The most specific key that matches wins.
	Rules map[string]FaultRule
}

// Validate reports a rule with a probability outside [0, 1], outcome
// probabilities that add up to more than 1, a negative duration, a latency
// over MaxFaultLatency, an unknown FaultError or a malformed key.
func (f Faults) Validate() error {
	for key, r := range f.Rules {
		if key != "*" {
			svc, op, ok := strings.Cut(key, ":")
			if !ok || svc == "" || op == "" {
				return fmt.Errorf("snssqstest: fault rule key %q is not \"service:Operation\", \"service:*\" or \"*\"", key)
			}
		}
		for _, p := range []float64{r.ErrorRate, r.DropBeforeRate, r.DropAfterRate, r.ShortVisibilityRate, r.LatencyRate} {
			if p < 0 || p > 1 || math.IsNaN(p) {
				return fmt.Errorf("snssqstest: fault rule %q: probability %v outside [0, 1]", key, p)
			}
		}
		if sum := r.ErrorRate + r.DropBeforeRate + r.DropAfterRate + r.ShortVisibilityRate; sum > 1+1e-9 {
			return fmt.Errorf("snssqstest: fault rule %q: outcome probabilities add up to %v > 1", key, sum)
		}
		if r.Latency < 0 || r.Latency > MaxFaultLatency {
			return fmt.Errorf("snssqstest: fault rule %q: latency %v outside [0, %v]", key, r.Latency, MaxFaultLatency)
		}
		if r.ShortVisibility < 0 || r.ShortVisibility > time.Duration(maxVisibilityTimeout)*time.Second {
			return fmt.Errorf("snssqstest: fault rule %q: short visibility %v out of range", key, r.ShortVisibility)
		}
		if r.MaxFaults < 0 {
			return fmt.Errorf("snssqstest: fault rule %q: negative MaxFaults", key)
		}
		for _, e := range r.Errors {
			if e < FaultInternalError || e > FaultThrottling {
				return fmt.Errorf("snssqstest: fault rule %q: unknown FaultError %d", key, int(e))
			}
		}
	}
	return nil
}

// WithFaults starts the server with fault injection configured (see
// Faults); NewServer fails if f does not validate.
func WithFaults(f Faults) Option { return func(o *options) { o.faults = f } }

// SetFaults replaces the fault configuration, resetting the generator to
// f.Seed and the MaxFaults budgets. SetFaults(Faults{}) turns injection off.
// Requests already past the injection point are not affected.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// InjectedFaults returns how many faults were injected, keyed
// "operation/kind": "sqs:ReceiveMessage/drop-after",
// "sns:Publish/error:Throttled", "sqs:DeleteMessageBatch/latency".
func (s *Server) InjectedFaults() map[string]int64 {
	return s.faults.counts()
}

// faultInjector holds the active configuration and the seeded generator.
type faultInjector struct {
	closing <-chan struct{}

	mu       sync.Mutex
	rules    map[string]FaultRule
	rng      *rand.Rand
	used     map[string]int // faults injected per rule key, for MaxFaults
	injected map[string]int64
}

func newFaultInjector(f Faults, closing <-chan struct{}) *faultInjector {
	fi := &faultInjector{closing: closing}
	fi.set(f)
	return fi
}

func (fi *faultInjector) set(f Faults) {
	rules := make(map[string]FaultRule, len(f.Rules))
	for k, r := range f.Rules {
		r.Errors = append([]FaultError(nil), r.Errors...)
		rules[k] = r
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.rules = rules
	fi.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	fi.used = make(map[string]int)
	if fi.injected == nil {
		fi.injected = make(map[string]int64)
	}
}

func (fi *faultInjector) counts() map[string]int64 {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	out := make(map[string]int64, len(fi.injected))
	for k, v := range fi.injected {
		out[k] = v
	}
	return out
}

// plan is what happens to one request.
type plan struct {
	latency time.Duration
	kind    string // "" (handle normally) or a FaultKind*
	err     FaultError
	visible time.Duration // for short visibility
}

// decide draws the plan for one request. It draws the same number of values
// for every matching request, so one request's outcome does not shift the
// sequence seen by the next.
func (fi *faultInjector) decide(service, op string) plan {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	key, r, ok := fi.match(service, op)
	if !ok {
		return plan{}
	}
	uOutcome, uLatency, uAmount, uError := fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64()
	var p plan
	if r.Latency > 0 && (r.LatencyRate == 0 || uLatency < r.LatencyRate) {
		p.latency = r.Latency/2 + time.Duration(uAmount*float64(r.Latency/2))
		fi.injected[service+":"+op+"/"+FaultKindLatency]++
	}
	if r.MaxFaults > 0 && fi.used[key] >= r.MaxFaults {
		return p
	}
	edge := r.DropBeforeRate
	switch {
	case uOutcome < edge:
		p.kind = FaultKindDropBefore
	case uOutcome < edge+r.DropAfterRate:
		p.kind = FaultKindDropAfter
	case uOutcome < edge+r.DropAfterRate+r.ErrorRate:
		errs := r.Errors
		if len(errs) == 0 {
			errs = []FaultError{FaultInternalError, FaultServiceUnavailable, FaultThrottling}
		}
		p.err = errs[min(int(uError*float64(len(errs))), len(errs)-1)]
		p.kind = faultKindErrorPrefix + p.err.String()
	case uOutcome < edge+r.DropAfterRate+r.ErrorRate+r.ShortVisibilityRate && service == "sqs" && op == "ReceiveMessage":
		p.kind = FaultKindShortVisibility
		p.visible = r.ShortVisibility
	default:
		return p
	}
	fi.used[key]++
	fi.injected[service+":"+op+"/"+p.kind]++
	return p
}

// match finds the most specific rule for service:op.
func (fi *faultInjector) match(service, op string) (string, FaultRule, bool) {
	for _, key := range []string{service + ":" + op, service + ":*", "*"} {
		if r, ok := fi.rules[key]; ok {
			return key, r, true
		}
	}
	return "", FaultRule{}, false
}

// serve handles one AWS request, injecting the faults its plan calls for;
// next is the emulator's real handler.
func (fi *faultInjector) serve(w http.ResponseWriter, r *http.Request, service, op string,
	next func(http.ResponseWriter, *http.Request, string, string)) {
	p := fi.decide(service, op)
	if p.latency > 0 && !fi.wait(r, p.latency) {
		// The client went away or the server is closing: no answer.
		dropConnection(w)
		return
	}
	switch {
	case p.kind == "":
		next(w, r, service, op)
	case p.kind == FaultKindDropBefore:
		dropConnection(w)
	case p.kind == FaultKindDropAfter:
		buf := newBufferedResponse()
		next(buf, r, service, op)
		dropConnection(w)
	case p.kind == FaultKindShortVisibility:
		shortenVisibility(r, p.visible)
		next(w, r, service, op)
	default:
		writeFaultError(w, r, service, p.err)
	}
}

// wait sleeps d of wall time; it reports false when the client went away or
// the server is closing first.
func (fi *faultInjector) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-fi.closing:
		return false
	}
}

// dropConnection closes the client's connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 or a wrapped writer: the server aborts the response, which
	// closes the connection (or resets the stream) without one.
	panic(http.ErrAbortHandler)
}

// shortenVisibility rewrites a ReceiveMessage request to ask for visibility
// d, whatever it asked for.
func shortenVisibility(r *http.Request, d time.Duration) {
	secs := strconv.Itoa(int(d / time.Second))
	if isSQSJSON(r) {
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		var fields map[string]json.RawMessage
		if err == nil && json.Unmarshal(body, &fields) == nil && fields != nil {
			fields["VisibilityTimeout"] = json.RawMessage(secs)
			if b, err := json.Marshal(fields); err == nil {
				body = b
			}
		}
		// A body that is not a JSON object is passed on unchanged, for the
		// handler to reject.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return
	}
	// Query protocol: ServeHTTP parsed the form before routing.
	if r.Form != nil {
		r.Form.Set("VisibilityTimeout", secs)
	}
	if r.PostForm != nil && r.Method == http.MethodPost {
		r.PostForm.Set("VisibilityTimeout", secs)
	}
}

func isSQSJSON(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
}

// faultShape is how one FaultError looks in each protocol.
type faultShape struct {
	status    int
	jsonType  string // SQS JSON __type
	jsonCode  string // SQS JSON x-amzn-query-error code
	queryCode string // query-protocol code, by service
	sender    bool
	message   string
}

func shapeOf(e FaultError, service string) faultShape {
	switch e {
	case FaultServiceUnavailable:
		return faultShape{status: http.StatusServiceUnavailable,
			jsonType: "com.amazon.coral.availability#ServiceUnavailableException", jsonCode: "ServiceUnavailable",
			queryCode: "ServiceUnavailable", message: "Service is unable to handle request (injected fault)."}
	case FaultThrottled:
		switch service {
		case "sns":
			return faultShape{status: http.StatusTooManyRequests, queryCode: "Throttled", sender: true,
				message: "Rate exceeded (injected fault)."}
		case "sqs":
			return faultShape{status: http.StatusForbidden,
				jsonType: "com.amazonaws.sqs#RequestThrottled", jsonCode: "RequestThrottled",
				queryCode: "RequestThrottled", sender: true, message: "Request is throttled (injected fault)."}
		}
		return faultShape{status: http.StatusBadRequest, queryCode: "Throttling", sender: true,
			message: "Rate exceeded (injected fault)."}
	case FaultThrottling:
		return faultShape{status: http.StatusBadRequest,
			jsonType: "com.amazon.coral.availability#ThrottlingException", jsonCode: "ThrottlingException",
			queryCode: "Throttling", sender: true, message: "Rate exceeded (injected fault)."}
	}
	return faultShape{status: http.StatusInternalServerError,
		jsonType: "com.amazon.coral.service#InternalFailure", jsonCode: "InternalError",
		queryCode: "InternalError", message: "We encountered an internal error. Please try again. (injected fault)"}
}

// XML namespaces of the query-protocol services.
var faultXMLNS = map[string]string{
	"sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
	"sns": "http://sns.amazonaws.com/doc/2010-03-31/",
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}

type faultXMLError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

// writeFaultError answers with e in the request's protocol.
func writeFaultError(w http.ResponseWriter, r *http.Request, service string, e FaultError) {
	sh := shapeOf(e, service)
	fault := "Receiver"
	if sh.sender {
		fault = "Sender"
	}
	requestID := uuid.NewString()
	h := w.Header()
	h.Set("x-amzn-RequestId", requestID)
	if service == "sqs" && isSQSJSON(r) {
		body, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{sh.jsonType, sh.message})
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("x-amzn-query-error", sh.jsonCode+";"+fault)
		w.WriteHeader(sh.status)
		_, _ = w.Write(body)
		return
	}
	body, _ := xml.Marshal(faultXMLError{
		Xmlns: faultXMLNS[service], Type: fault, Code: sh.queryCode, Message: sh.message, RequestID: requestID,
	})
	h.Set("Content-Type", "text/xml")
	w.WriteHeader(sh.status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// bufferedResponse collects a response that will never be sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: make(http.Header)} }

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
