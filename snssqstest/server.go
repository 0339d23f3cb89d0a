// Package snssqstest is an in-process emulator of Amazon SNS and SQS that
// speaks the real AWS wire protocols (SQS JSON 1.0 and query, SNS query, STS
// GetCallerIdentity), so unmodified aws-sdk-go-v2 clients, older SDKs and the
// aws CLI can talk to it. Tests start one with Run(t); programs with
// NewServer. See README.md for what is and is not supported.
package snssqstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/snssqs/snssqs/clock"
)

// Defaults used when an Option does not override them.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	DefaultAddr      = "127.0.0.1:0"
)

// Server is a running emulator. It is safe for concurrent use.
type Server struct {
	opts options
	ln   net.Listener
	http *http.Server
	url  string
	sqs  *sqsService // the default account and region's
	sns  *snsService
	// regional are the services of each account and region requests have
	// named, the default one's among them; endpoints serves them all.
	regionalMu sync.Mutex
	regional   map[[2]string]*regional
	endpoints  *snsEndpoints
	stats      *requestStats
	faults     *faultInjector
	latency    latency
	closing    chan struct{}
	closeMu    sync.Once
	serveErr   chan error
}

type options struct {
	addr      string
	region    string
	accountID string
	clock     clock.Clock
	faults    Faults
	// latency bounds the delay of every answer; zero for none.
	latencyMin, latencyMax time.Duration
	requestLog             *requestLog // nil: none
}

// Option configures a Server.
type Option func(*options)

// WithAddr sets the listen address (default "127.0.0.1:0", a random port on
// loopback).
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithRegion sets the region used in ARNs and queue URLs (default us-east-1).
func WithRegion(region string) Option { return func(o *options) { o.region = region } }

// WithAccountID sets the account id used in ARNs, queue URLs and
// GetCallerIdentity (default 000000000000).
func WithAccountID(id string) Option { return func(o *options) { o.accountID = id } }

// WithClock sets the clock behind visibility timeouts, delays, retention,
// deduplication windows and long polls (default the wall clock).
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithLatency delays every SNS, SQS and STS answer by a random duration
// between min and max (uniformly; equal values give a fixed delay), in wall
// clock time, so that tests and benchmarks can model the round trips of a
// real network: in-region AWS calls take 10–20 ms, cross-region ones 50 ms
// and more. The admin endpoints are not delayed. A delay ends early when the
// client goes away or the server closes.
func WithLatency(min, max time.Duration) Option {
	return func(o *options) { o.latencyMin, o.latencyMax = min, max }
}

// NewServer starts an emulator listening on 127.0.0.1 (see WithAddr).
func NewServer(opts ...Option) (*Server, error) {
	o := options{addr: DefaultAddr, region: DefaultRegion, accountID: DefaultAccountID, clock: clock.Real()}
	for _, fn := range opts {
		fn(&o)
	}
	if err := o.faults.Validate(); err != nil {
		return nil, err
	}
	if err := checkLatency(o.latencyMin, o.latencyMax); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("snssqstest: listen %s: %w", o.addr, err)
	}
	s := &Server{
		opts:     o,
		ln:       ln,
		url:      "http://" + ln.Addr().String(),
		stats:    newRequestStats(),
		closing:  make(chan struct{}),
		serveErr: make(chan error, 1),
	}
	s.faults = newFaultInjector(o.faults, s.closing)
	_ = s.latency.set(o.latencyMin, o.latencyMax) // checked above
	s.endpoints = newSNSEndpoints()
	s.regional = map[[2]string]*regional{}
	home := s.services(o.accountID, o.region)
	s.sqs, s.sns = home.sqs, home.sns
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.serveErr <- s.http.Serve(ln) }()
	return s, nil
}

// TB is the part of testing.TB that Run uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Run starts an emulator for a test and closes it when the test ends.
func Run(t TB, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the base endpoint, e.g. "http://127.0.0.1:43567".
func (s *Server) URL() string { return s.url }

// Addr returns the listen address, e.g. "127.0.0.1:43567".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Region returns the emulated region.
func (s *Server) Region() string { return s.opts.region }

// AccountID returns the emulated account id.
func (s *Server) AccountID() string { return s.opts.accountID }

// AWSConfig returns an aws.Config pointing at the emulator with static test
// credentials and the HTTP client of NewHTTPClient, so sns.NewFromConfig, sqs.NewFromConfig and sts.NewFromConfig
// work unchanged.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       s.opts.region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   NewHTTPClient(),
		// Long polls may last 20 s; keep the SDK's own retries, which the
		// emulator's typed errors and fault injection exercise.
	}
}

// Close stops the server, ends pending long polls and releases every
// goroutine. It is safe to call more than once.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		close(s.closing) // ends long polls and fault latencies at once
		// Let requests in progress finish, briefly: http.Server.Shutdown also
		// waits up to 5 s for connections a client opened but never used,
		// which the SDK's transport leaves behind under concurrency.
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		if s.http.Shutdown(ctx) != nil {
			_ = s.http.Close()
		}
		<-s.serveErr // http.ErrServerClosed, or the listener's failure: nothing left to release
		s.regionalMu.Lock()
		all := make([]*regional, 0, len(s.regional))
		for _, r := range s.regional {
			all = append(all, r)
		}
		s.regionalMu.Unlock()
		for _, r := range all {
			r.sqs.close()
		}
		s.endpoints.close() // cancels and waits for POSTs to endpoints
	})
}

// closeGrace is how long Close lets requests in progress finish.
const closeGrace = 250 * time.Millisecond

// ServeHTTP routes a request to SQS (JSON protocol when X-Amz-Target starts
// with "AmazonSQS.", query protocol otherwise), SNS or STS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l := s.opts.requestLog; l != nil {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		service, op := "admin", r.URL.Path
		if !strings.HasPrefix(r.URL.Path, adminPrefix) {
			service, op = "?", "?"
		}
		defer func() { l.write(start, service, op, rec.code()) }()
		w = rec
		s.serve(w, r, func(svc, o string) { service, op = svc, o })
		return
	}
	s.serve(w, r, nil)
}

// serve answers r; named, when set, learns its service and operation.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, named func(service, op string)) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	service, op, ok := operationOf(w, r)
	if ok && named != nil {
		named(service, op)
	}
	if !ok {
		return
	}
	if !s.delay(r) {
		return
	}
	s.faults.serve(w, r, service, op, s.dispatch)
}

// operationOf names the service and operation of an AWS request. It answers
// a request that names none with a 4xx and returns false.
func operationOf(w http.ResponseWriter, r *http.Request) (service, op string, ok bool) {
	if target := r.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "AmazonSQS.") {
		return "sqs", strings.TrimPrefix(target, "AmazonSQS."), true
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return "", "", false
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return "", "", false
	}
	action := r.Form.Get("Action")
	return serviceOf(r, action), action, true
}

// regional is the SQS and SNS of one account and region.
type regional struct {
	sqs *sqsService
	sns *snsService
}

// services returns the services of account and region, made on first use.
func (s *Server) services(account, region string) *regional {
	s.regionalMu.Lock()
	defer s.regionalMu.Unlock()
	k := [2]string{account, region}
	r := s.regional[k]
	if r == nil {
		r = &regional{sqs: newSQSService(s, account, region), sns: newSNSService(s, account, region)}
		s.regional[k] = r
	}
	return r
}

// identityOf returns the account and region a request is for: the region
// of its SigV4 credential scope, and the account its access key id names
// when that is 12 digits (LocalStack's convention); the server's defaults
// otherwise.
func (s *Server) identityOf(r *http.Request) (account, region string) {
	account, region = s.opts.accountID, s.opts.region
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return account, region
	}
	// Credential=AKID/20250101/us-east-1/sqs/aws4_request
	parts := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
	if len(parts) >= 5 {
		if parts[2] != "" {
			region = parts[2]
		}
		if isAccountID(parts[0]) {
			account = parts[0]
		}
	}
	return account, region
}

// dispatch hands a request to the service that implements it, in the
// request's account and region.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, service, op string) {
	account, region := s.identityOf(r)
	switch service {
	case "sqs":
		s.stats.add("sqs", op)
		q := s.services(account, region).sqs
		if isSQSJSON(r) {
			q.serveJSON(w, r, op)
		} else {
			q.serveQuery(w, r, op)
		}
	case "sns":
		s.stats.add("sns", op)
		s.services(account, region).sns.serveQuery(w, r, op)
	case "sts":
		s.stats.add("sts", op)
		serveSTS(w, r, op, account)
	default:
		http.Error(w, fmt.Sprintf("unknown action %q", op), http.StatusBadRequest)
	}
}

// serviceOf picks the service of a query-protocol request: from the SigV4
// credential scope when the request is signed, from the action name otherwise.
func serviceOf(r *http.Request, action string) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		// Credential=AKID/20250101/us-east-1/sqs/aws4_request
		if i := strings.Index(auth, "Credential="); i >= 0 {
			parts := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
			if len(parts) >= 5 {
				return parts[3]
			}
		}
	}
	switch {
	case action == "GetCallerIdentity":
		return "sts"
	case action == "AddPermission" || action == "RemovePermission": // both services have them
		if r.Form.Get("TopicArn") != "" {
			return "sns"
		}
		return "sqs"
	case isSQSAction(action):
		return "sqs"
	default:
		return "sns"
	}
}

// inboundMessage is what SNS hands to SQS when it delivers to a subscribed
// queue: the body exactly as AWS formats it (notification JSON or raw), the
// message attributes (carried over only for raw delivery), and the FIFO ids.
type inboundMessage struct {
	Body                   string
	Attributes             map[string]messageAttribute
	MessageGroupID         string
	MessageDeduplicationID string
	// SenderID is the value of the SenderId system attribute.
	SenderID string
}

// messageAttribute is one message attribute as both services store it.
type messageAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}
