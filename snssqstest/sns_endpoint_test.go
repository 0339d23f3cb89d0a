package snssqstest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endpointPost is one POST an http endpoint received.
type endpointPost struct {
	header http.Header
	doc    map[string]string
}

// httpEndpoint serves an http subscription endpoint that hands each POST
// to the returned channel.
func httpEndpoint(t *testing.T) (string, <-chan endpointPost) {
	ch := make(chan endpointPost, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]string
		_ = json.Unmarshal(b, &doc)
		ch <- endpointPost{header: r.Header.Clone(), doc: doc}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/sns", ch
}

func nextPost(t *testing.T, ch <-chan endpointPost) endpointPost {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no POST reached the endpoint")
		return endpointPost{}
	}
}

// verifySNSSignature checks doc's Signature (SignatureVersion 1, SHA1 with
// RSA) the way AWS documents: with the certificate at SigningCertURL over
// the listed fields.
func verifySNSSignature(t *testing.T, doc map[string]string, fields ...string) {
	t.Helper()
	resp, err := http.Get(doc["SigningCertURL"])
	require.NoError(t, err)
	defer resp.Body.Close()
	certPEM, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block, "a PEM certificate at SigningCertURL")
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	var s string
	for _, f := range fields {
		if v, ok := doc[f]; ok {
			s += f + "\n" + v + "\n"
		}
	}
	sig, err := base64.StdEncoding.DecodeString(doc["Signature"])
	require.NoError(t, err)
	sum := sha1.Sum([]byte(s))
	require.Equal(t, "1", doc["SignatureVersion"])
	require.NoError(t, rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA1, sum[:], sig), "the signature verifies")
}

// An http subscription stays pending until confirmed: the endpoint gets a
// signed SubscriptionConfirmation, ConfirmSubscription with its token
// confirms, and the endpoint then gets signed Notifications.
func TestSNSHTTPSubscriptionConfirmAndNotify(t *testing.T) {
	e := newSNSEnv(t)
	ctx := t.Context()
	topic := e.topic("web", nil)
	endpoint, posts := httpEndpoint(t)
	out, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("http"), Endpoint: aws.String(endpoint)})
	require.NoError(t, err)
	assert.Equal(t, "pending confirmation", aws.ToString(out.SubscriptionArn))

	conf := nextPost(t, posts)
	assert.Equal(t, "SubscriptionConfirmation", conf.header.Get("x-amz-sns-message-type"))
	assert.Equal(t, topic, conf.header.Get("x-amz-sns-topic-arn"))
	assert.Equal(t, "SubscriptionConfirmation", conf.doc["Type"])
	require.NotEmpty(t, conf.doc["Token"])
	verifySNSSignature(t, conf.doc, "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")

	_, err = e.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("before")})
	require.NoError(t, err)
	_, err = e.sns.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String("not-the-token")})
	require.Error(t, err, "an unknown token is refused")
	confirmed, err := e.sns.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String(conf.doc["Token"])})
	require.NoError(t, err)
	attrs, err := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: confirmed.SubscriptionArn})
	require.NoError(t, err)
	assert.Equal(t, "false", attrs.Attributes["PendingConfirmation"])

	_, err = e.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("hello web"), Subject: aws.String("greeting")})
	require.NoError(t, err)
	note := nextPost(t, posts)
	assert.Equal(t, "Notification", note.header.Get("x-amz-sns-message-type"))
	assert.Equal(t, aws.ToString(confirmed.SubscriptionArn), note.header.Get("x-amz-sns-subscription-arn"))
	assert.Equal(t, "hello web", note.doc["Message"], "the message published before confirmation was not delivered")
	verifySNSSignature(t, note.doc, "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
}

// An email subscription's confirmation and notifications are recorded, as
// are an sms subscription's, which needs no confirmation.
func TestSNSRecordedEndpointDeliveries(t *testing.T) {
	e := newSNSEnv(t)
	ctx := t.Context()
	topic := e.topic("mail", nil)
	_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")})
	require.NoError(t, err)
	sms, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sms"), Endpoint: aws.String("+15555550100"), ReturnSubscriptionArn: true})
	require.NoError(t, err)
	d := e.srv.EndpointDeliveries()
	require.Len(t, d, 1, "only the email subscription asks for confirmation")
	assert.Equal(t, "SubscriptionConfirmation", d[0].Type)
	_, err = e.sns.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String(d[0].Token)})
	require.NoError(t, err)
	_, err = e.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("disk full")})
	require.NoError(t, err)
	d = e.srv.EndpointDeliveries()
	require.Len(t, d, 3)
	byProtocol := map[string]EndpointDelivery{d[1].Protocol: d[1], d[2].Protocol: d[2]}
	assert.Equal(t, "ops@example.com", byProtocol["email"].Endpoint)
	assert.Contains(t, byProtocol["email"].Body, "disk full")
	assert.Equal(t, aws.ToString(sms.SubscriptionArn), byProtocol["sms"].SubscriptionArn)
	assert.Zero(t, byProtocol["sms"].Status, "no request is made to a phone")

	resp, err := http.Get(e.srv.URL() + "/_snssqstest/sns/deliveries")
	require.NoError(t, err)
	defer resp.Body.Close()
	var listed []EndpointDelivery
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&listed))
	assert.Len(t, listed, 3, "the admin endpoint lists them too")
}
