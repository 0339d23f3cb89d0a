package snssqstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Subscriptions to endpoints other than SQS queues. http and https
// subscriptions, like email and email-json ones, wait for confirmation:
// the emulator sends a SubscriptionConfirmation with a token, and
// ConfirmSubscription (or a GET of its SubscribeURL) confirms. Documents go
// by POST to loopback http(s) endpoints, signed as SNS signs them with a
// key whose certificate the emulator serves at signingCertPath; to every
// other endpoint (e-mail, phones, Lambda, Firehose, platform endpoints, a
// non-loopback URL) they are only recorded. Every document sent or
// recorded is kept (Server.EndpointDeliveries, GET
// /_snssqstest/sns/deliveries).

// signingCertPath is where the emulator serves its signing certificate.
const signingCertPath = adminPrefix + "sns/certificate.pem"

// snsAutoConfirmed are the protocols SNS confirms without a token.
var snsAutoConfirmed = map[string]bool{"sqs": true, "sms": true, "lambda": true, "firehose": true, "application": true}

// EndpointDelivery is one document SNS sent, or would send, to an endpoint
// that is not an SQS queue.
type EndpointDelivery struct {
	// Type is "SubscriptionConfirmation" or "Notification".
	Type            string
	Protocol        string
	Endpoint        string
	SubscriptionArn string
	TopicArn        string
	// Body is the document: the JSON SNS sends, or the raw message.
	Body string
	// Token is the confirmation token (SubscriptionConfirmation only).
	Token string
	// Status is the HTTP status the endpoint answered; 0 when no request
	// was made (not a loopback http(s) endpoint) or it failed (Error).
	Status int
	Error  string
}

// snsEndpoints delivers and records documents for an snsService. It owns
// the POST goroutines; close cancels and waits for them.
type snsEndpoints struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client

	keyOnce sync.Once
	key     *rsa.PrivateKey
	certPEM []byte

	mu         sync.Mutex
	deliveries []EndpointDelivery
}

func newSNSEndpoints() *snsEndpoints {
	ctx, cancel := context.WithCancel(context.Background())
	return &snsEndpoints{ctx: ctx, cancel: cancel, client: &http.Client{Timeout: 15 * time.Second}}
}

func (e *snsEndpoints) close() {
	e.cancel()
	e.wg.Wait()
}

// signer returns the signing key and its self-signed certificate, made on
// first use.
func (e *snsEndpoints) signer() (*rsa.PrivateKey, []byte) {
	e.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("snssqstest: generating the SNS signing key: " + err.Error())
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com (snssqstest)"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic("snssqstest: making the SNS signing certificate: " + err.Error())
		}
		e.key, e.certPEM = key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
	return e.key, e.certPEM
}

// sign signs the string SNS signs for a document of these fields, with
// SHA1 (SignatureVersion 1) or SHA256 (2).
func (e *snsEndpoints) sign(version string, fields [][2]string) string {
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString(f[0] + "\n" + f[1] + "\n")
	}
	key, _ := e.signer()
	var sig []byte
	var err error
	if version == "2" {
		sum := sha256.Sum256(b.Bytes())
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	} else {
		sum := sha1.Sum(b.Bytes())
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	}
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// newToken returns a confirmation token.
func newToken() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// confirmationDoc is the SubscriptionConfirmation SNS sends for sub.
func (n *snsService) confirmationDoc(sub *snsSubscription, sigVersion string, now time.Time) string {
	ts := now.UTC().Format(snsTimestampLayout)
	msgID := uuid.NewString()
	subscribeURL := n.s.url + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(sub.topicARN) + "&Token=" + sub.token
	message := "You have chosen to subscribe to the topic " + sub.topicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
	sig := n.endpoints.sign(sigVersion, [][2]string{{"Message", message}, {"MessageId", msgID}, {"SubscribeURL", subscribeURL},
		{"Timestamp", ts}, {"Token", sub.token}, {"TopicArn", sub.topicARN}, {"Type", "SubscriptionConfirmation"}})
	doc := map[string]string{
		"Type": "SubscriptionConfirmation", "MessageId": msgID, "Token": sub.token, "TopicArn": sub.topicARN,
		"Message": message, "SubscribeURL": subscribeURL, "Timestamp": ts, "SignatureVersion": sigVersion,
		"Signature": sig, "SigningCertURL": n.s.url + signingCertPath,
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

// endpointNotificationDoc is the Notification SNS sends to an endpoint, signed.
func (n *snsService) endpointNotificationDoc(p snsDeliveryPlan) string {
	ts := p.timestamp.UTC().Format(snsTimestampLayout)
	fields := [][2]string{{"Message", p.message}, {"MessageId", p.messageID}}
	if p.hasSubject {
		fields = append(fields, [2]string{"Subject", p.subject})
	}
	fields = append(fields, [2]string{"Timestamp", ts}, [2]string{"TopicArn", p.topicARN}, [2]string{"Type", "Notification"})
	doc := map[string]any{
		"Type": "Notification", "MessageId": p.messageID, "TopicArn": p.topicARN, "Message": p.message, "Timestamp": ts,
		"SignatureVersion": p.signatureVersion, "Signature": n.endpoints.sign(p.signatureVersion, fields),
		"SigningCertURL": n.s.url + signingCertPath,
		"UnsubscribeURL": n.s.url + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(p.subscriptionARN),
	}
	if p.hasSubject {
		doc["Subject"] = p.subject
	}
	if len(p.attrs) > 0 {
		attrs := map[string]map[string]string{}
		for name, a := range p.attrs {
			v := a.StringValue
			if snsAttrBaseType(a.DataType) == "Binary" {
				v = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			attrs[name] = map[string]string{"Type": a.DataType, "Value": v}
		}
		doc["MessageAttributes"] = attrs
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

// send records d and, for a loopback http(s) endpoint, POSTs it with the
// headers SNS sends, in a goroutine the endpoints own.
func (e *snsEndpoints) send(d EndpointDelivery, raw bool) {
	u, err := url.Parse(d.Endpoint)
	loopback := err == nil && (d.Protocol == "http" || d.Protocol == "https") && isLoopbackHost(u.Hostname())
	if !loopback {
		e.record(d)
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, d.Endpoint, bytes.NewBufferString(d.Body))
		if err == nil {
			req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
			req.Header.Set("x-amz-sns-message-type", d.Type)
			req.Header.Set("x-amz-sns-topic-arn", d.TopicArn)
			if d.Type == "Notification" {
				req.Header.Set("x-amz-sns-subscription-arn", d.SubscriptionArn)
			}
			if raw {
				req.Header.Set("x-amz-sns-rawdelivery", "true")
			}
			var resp *http.Response
			if resp, err = e.client.Do(req); err == nil {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
		}
		if err != nil {
			d.Error = err.Error()
		}
		e.record(d)
	}()
}

func (e *snsEndpoints) record(d EndpointDelivery) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliveries = append(e.deliveries, d)
}

func (e *snsEndpoints) all() []EndpointDelivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]EndpointDelivery(nil), e.deliveries...)
}

// isLoopbackHost reports a host on this machine: localhost or a loopback IP.
func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// EndpointDeliveries returns every document sent, or recorded, for
// subscriptions that are not SQS queues, in order: confirmations and
// notifications to http(s), email, sms, lambda, firehose and application
// endpoints.
func (s *Server) EndpointDeliveries() []EndpointDelivery { return s.endpoints.all() }

// confirmSubscription confirms the pending subscription of topicARN whose
// token is token.
func (n *snsService) confirmSubscription(topicARN, token string) (string, *snsError) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.lookupTopicLocked(topicARN, "TopicArn")
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", snsInvalidParameter("Invalid parameter: Token")
	}
	for _, s := range t.subs {
		if s.token == token {
			s.confirmed = true
			return s.arn, nil
		}
	}
	return "", snsInvalidParameter("Invalid token")
}

// askConfirmation sends (or records) the SubscriptionConfirmation of a new
// subscription that needs one. Called with n.mu held.
func (n *snsService) askConfirmationLocked(t *snsTopic, sub *snsSubscription) {
	sub.token = newToken()
	n.endpoints.send(EndpointDelivery{
		Type: "SubscriptionConfirmation", Protocol: sub.protocol, Endpoint: sub.endpoint, SubscriptionArn: sub.arn,
		TopicArn: sub.topicARN, Body: n.confirmationDoc(sub, t.signatureVersionLocked(), n.s.opts.clock.Now()), Token: sub.token,
	}, false)
}

// deliverToEndpoint sends one notification to a confirmed subscription
// that is not an SQS queue.
func (n *snsService) deliverToEndpoint(p snsDeliveryPlan, protocol, endpoint string) {
	body := p.message
	if !p.raw {
		body = n.endpointNotificationDoc(p)
	}
	n.endpoints.send(EndpointDelivery{
		Type: "Notification", Protocol: protocol, Endpoint: endpoint, SubscriptionArn: p.subscriptionARN,
		TopicArn: p.topicARN, Body: body,
	}, p.raw)
}
