package conformance

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fanoutScenarios() []Scenario {
	return []Scenario{
		{Name: "Fanout/ThreeQueues", Run: fanoutThreeQueues},
		{Name: "Fanout/NotificationJSON", Run: fanoutNotificationJSON},
		{Name: "Fanout/NotificationSignatureVersionAndUnsubscribeURL", Run: fanoutNotificationSignatureAndUnsubscribe},
		{Name: "Fanout/NotificationSigningCertURLIsHTTPS", Run: fanoutSigningCertHTTPS},
		{Name: "Fanout/NotificationWithoutSubject", Run: fanoutNotificationWithoutSubject},
		{Name: "Fanout/RawMessageDelivery", Run: fanoutRawDelivery},
		{Name: "Fanout/RawMessageDeliveryBinaryAttribute", Run: fanoutRawDeliveryBinary},
		{Name: "Fanout/MessageStructureJSON", Run: fanoutMessageStructure},
		{Name: "Fanout/UnsubscribeStopsDelivery", Run: fanoutUnsubscribeStops},
		{Name: "Fanout/FIFOTopicToFIFOQueue", Run: fanoutFIFO},
		{Name: "Fanout/FIFOSequenceNumber", Run: fanoutFIFOSequenceNumber},
	}
}

// publish publishes in to topic and returns the message id.
func (e *Env) publish(t *testing.T, in *sns.PublishInput) string {
	t.Helper()
	out, err := e.SNS.Publish(e.Context(t), in)
	require.NoError(t, err, "Publish")
	id := aws.ToString(out.MessageId)
	require.NotEmpty(t, id, "Publish returns a MessageId")
	return id
}

// "Fanout": every SQS subscription of a topic receives each message.
func fanoutThreeQueues(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("fan"), nil)
	queues := make([]Queue, 3)
	for i := range queues {
		queues[i] = e.CreateQueue(t, e.Name(fmt.Sprintf("fan%d", i)), nil)
		e.SubscribeQueue(t, topic, queues[i], nil)
	}
	id := e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("to everyone")})
	for i, q := range queues {
		got := e.ReceiveN(ctx, t, q.URL, 1, true)
		n := ParseNotification(t, aws.ToString(got[0].Body))
		assert.Equal(t, id, n.MessageId, "queue %d got the published message", i)
		assert.Equal(t, "to everyone", n.Message, "queue %d", i)
		assert.Empty(t, e.ReceiveOnce(ctx, t, q.URL, 10, 0), "queue %d got it exactly once", i)
	}
}

// The notification JSON documented in "Amazon SNS message and JSON formats"
// (HTTP/HTTPS Notification JSON format), which SQS subscriptions receive as
// the message body.
func fanoutNotificationJSON(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("json"), nil)
	q := e.CreateQueue(t, e.Name("json"), nil)
	e.SubscribeQueue(t, topic, q, nil)

	before := time.Now()
	id := e.publish(t, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String("the subject"),
		Message:  aws.String(`{"payload":"ünïcode \" quoted"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"str": {DataType: aws.String("String"), StringValue: aws.String("v")},
			"num": {DataType: aws.String("Number"), StringValue: aws.String("42.5")},
			"bin": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 0xfe}},
			"arr": {DataType: aws.String("String.Array"), StringValue: aws.String(`["a","b"]`)},
		},
	})
	m := e.ReceiveN(ctx, t, q.URL, 1, true)[0]
	assert.Empty(t, m.MessageAttributes, "without raw delivery the attributes travel inside the JSON, not as SQS attributes")
	n := ParseNotification(t, aws.ToString(m.Body))

	assert.Equal(t, "Notification", n.Type)
	assert.Equal(t, id, n.MessageId)
	assert.Equal(t, topic, n.TopicArn)
	assert.Equal(t, "the subject", n.Subject)
	assert.Equal(t, `{"payload":"ünïcode \" quoted"}`, n.Message)
	ts, err := time.Parse(time.RFC3339Nano, n.Timestamp)
	if assert.NoError(t, err, "Timestamp %q is ISO 8601", n.Timestamp) {
		assert.WithinDuration(t, before, ts, 5*time.Minute)
		assert.True(t, strings.HasSuffix(n.Timestamp, "Z"), "Timestamp %q is in UTC", n.Timestamp)
	}
	assert.Contains(t, []string{"1", "2"}, n.SignatureVersion, "SignatureVersion is 1 (SHA1) or 2 (SHA256)")
	sig, err := base64.StdEncoding.DecodeString(n.Signature)
	assert.NoError(t, err, "Signature is base64")
	assert.NotEmpty(t, sig, "Signature is present")
	assert.True(t, strings.HasSuffix(n.SigningCertURL, ".pem"), "SigningCertURL %q points at a certificate", n.SigningCertURL)
	u, err := url.Parse(n.UnsubscribeURL)
	if assert.NoError(t, err, "UnsubscribeURL %q", n.UnsubscribeURL) {
		assert.Equal(t, "Unsubscribe", u.Query().Get("Action"), "UnsubscribeURL %q", n.UnsubscribeURL)
	}
	assert.Equal(t, map[string]NotificationAttribute{
		"str": {Type: "String", Value: "v"},
		"num": {Type: "Number", Value: "42.5"},
		"bin": {Type: "Binary", Value: base64.StdEncoding.EncodeToString([]byte{0, 1, 0xfe})},
		"arr": {Type: "String.Array", Value: `["a","b"]`},
	}, n.MessageAttributes)
	assert.NotContains(t, n.Fields, "SequenceNumber", "standard topics have no SequenceNumber")
}

// The topic attribute SignatureVersion: "By default, SignatureVersion is
// set to 1" (SHA1), and the notification's UnsubscribeURL: "A URL that you
// can use to unsubscribe the endpoint from this topic" — so it names the
// receiving subscription.
func fanoutNotificationSignatureAndUnsubscribe(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "SetTopicAttributes documents 'By default, SignatureVersion is set to 1' and the notification's UnsubscribeURL unsubscribes the receiving endpoint; moto always signs with SignatureVersion 2 and puts a fixed example subscription ARN (…:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55, region us-east-1) in every UnsubscribeURL")
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("unsub"), nil)
	q := e.CreateQueue(t, e.Name("unsub"), nil)
	sub := e.SubscribeQueue(t, topic, q, nil)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")})
	n := ParseNotification(t, aws.ToString(e.ReceiveN(ctx, t, q.URL, 1, true)[0].Body))
	assert.Equal(t, "1", n.SignatureVersion, "default SignatureVersion")
	u, err := url.Parse(n.UnsubscribeURL)
	require.NoError(t, err, "UnsubscribeURL %q", n.UnsubscribeURL)
	assert.Equal(t, "Unsubscribe", u.Query().Get("Action"))
	assert.Equal(t, sub, u.Query().Get("SubscriptionArn"), "UnsubscribeURL %q names the subscription", n.UnsubscribeURL)
}

// SigningCertURL: "The URL to the certificate that was used to sign the
// message"; the SNS guide on verifying signatures tells receivers to fetch
// it over HTTPS only and to reject other URLs, so a notification with an
// http:// SigningCertURL fails verification in a receiver that follows it.
func fanoutSigningCertHTTPS(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("cert"), nil)
	q := e.CreateQueue(t, e.Name("cert"), nil)
	e.SubscribeQueue(t, topic, q, nil)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")})
	n := ParseNotification(t, aws.ToString(e.ReceiveN(ctx, t, q.URL, 1, true)[0].Body))
	u, err := url.Parse(n.SigningCertURL)
	require.NoError(t, err, "SigningCertURL %q", n.SigningCertURL)
	assert.Equal(t, "https", u.Scheme, "SigningCertURL %q uses HTTPS", n.SigningCertURL)
	assert.True(t, strings.HasSuffix(u.Path, ".pem"), "SigningCertURL %q names a PEM certificate", n.SigningCertURL)
}

// Subject: "If no Subject was specified, then this name-value pair does not
// appear in this JSON document." Likewise MessageAttributes.
func fanoutNotificationWithoutSubject(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("nosubj"), nil)
	q := e.CreateQueue(t, e.Name("nosubj"), nil)
	e.SubscribeQueue(t, topic, q, nil)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("plain")})
	n := ParseNotification(t, aws.ToString(e.ReceiveN(ctx, t, q.URL, 1, true)[0].Body))
	assert.Equal(t, "plain", n.Message)
	assert.NotContains(t, n.Fields, "Subject", "no Subject key when none was published")
	for _, k := range []string{"Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"} {
		assert.Contains(t, n.Fields, k)
	}
}

// RawMessageDelivery: the body is the published message itself and the
// message attributes become SQS message attributes.
func fanoutRawDelivery(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("raw"), nil)
	q := e.CreateQueue(t, e.Name("raw"), nil)
	e.SubscribeQueue(t, topic, q, map[string]string{"RawMessageDelivery": "true"})
	e.publish(t, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String("ignored in raw"),
		Message:  aws.String(`{"raw":true}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"str": {DataType: aws.String("String"), StringValue: aws.String("v")},
			"num": {DataType: aws.String("Number"), StringValue: aws.String("7")},
		},
	})
	m := e.ReceiveN(ctx, t, q.URL, 1, true)[0]
	assert.Equal(t, `{"raw":true}`, aws.ToString(m.Body), "the body is the message, not a notification")
	want := map[string]sqstypes.MessageAttributeValue{
		"str": {DataType: aws.String("String"), StringValue: aws.String("v")},
		"num": {DataType: aws.String("Number"), StringValue: aws.String("7")},
	}
	assert.Equal(t, want, m.MessageAttributes)
	assert.Equal(t, MessageAttributesMD5(want), aws.ToString(m.MD5OfMessageAttributes))
}

// Raw message delivery carries Binary message attributes too.
func fanoutRawDeliveryBinary(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "SNS raw message delivery passes every message attribute (String, Number and Binary) to the SQS message; moto stores a raw-delivered Binary attribute as a str and then fails every ReceiveMessage on that queue with HTTP 500 (TypeError: Strings must be encoded before hashing)")
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("rawbin"), nil)
	q := e.CreateQueue(t, e.Name("rawbin"), nil)
	e.SubscribeQueue(t, topic, q, map[string]string{"RawMessageDelivery": "true"})
	attrs := map[string]snstypes.MessageAttributeValue{"bin": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 9, 8, 0xff}}}
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("b"), MessageAttributes: attrs})
	m := e.ReceiveN(ctx, t, q.URL, 1, true)[0]
	want := map[string]sqstypes.MessageAttributeValue{"bin": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 9, 8, 0xff}}}
	assert.Equal(t, want, m.MessageAttributes)
	assert.Equal(t, MessageAttributesMD5(want), aws.ToString(m.MD5OfMessageAttributes))
}

// SNS FIFO topics deliver to SQS FIFO queues in order within a message
// group, keeping the MessageGroupId; "When you publish a message to an SNS
// FIFO topic, the message must include a deduplication ID. This ID is
// included in the message that the SNS FIFO topic delivers to the
// subscribed SQS FIFO queues", and a duplicate "is accepted but not
// delivered".
func fanoutFIFO(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("fifo")+".fifo", nil)
	q := e.CreateQueue(t, e.Name("fifo")+".fifo", nil)
	e.SubscribeQueue(t, topic, q, nil)
	publish := func(body, dedup string) {
		out, err := e.SNS.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(topic), Message: aws.String(body), MessageGroupId: aws.String("grp"), MessageDeduplicationId: aws.String(dedup),
		})
		require.NoError(t, err)
		assert.NotEmpty(t, aws.ToString(out.MessageId))
	}
	for i := range 4 {
		publish(fmt.Sprintf("f%d", i), fmt.Sprintf("d%d", i))
	}
	publish("duplicate of f1", "d1")
	publish("marker", "d-marker")
	got := e.ReceiveThroughMarker(ctx, t, q.URL, func(m sqstypes.Message) bool {
		return ParseNotification(t, aws.ToString(m.Body)).Message == "marker"
	})
	var order []string
	for _, m := range got {
		n := ParseNotification(t, aws.ToString(m.Body))
		order = append(order, n.Message)
		assert.Equal(t, "grp", SystemAttribute(m, sqstypes.MessageSystemAttributeNameMessageGroupId))
		if strings.HasPrefix(n.Message, "f") {
			assert.Equal(t, "d"+strings.TrimPrefix(n.Message, "f"), SystemAttribute(m, sqstypes.MessageSystemAttributeNameMessageDeduplicationId),
				"the published deduplication ID reaches the queue")
		}
	}
	assert.Equal(t, []string{"f0", "f1", "f2", "f3", "marker"}, order, "in order, the duplicate not delivered")
}

// Publish SequenceNumber: "This response element applies only to FIFO
// (first-in-first-out) topics. The large, non-consecutive number that
// Amazon SNS assigns to each message." The FIFO notification delivered to
// SQS carries the same SequenceNumber.
func fanoutFIFOSequenceNumber(t *testing.T, e *Env) {
	e.SkipOnMoto(t, "Publish reference: SequenceNumber 'applies only to FIFO topics', assigned to each message; moto returns no SequenceNumber from Publish to a FIFO topic and none in the notification")
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("fifoseq")+".fifo", map[string]string{"ContentBasedDeduplication": "true"})
	q := e.CreateQueue(t, e.Name("fifoseq")+".fifo", nil)
	e.SubscribeQueue(t, topic, q, nil)
	out, err := e.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("s"), MessageGroupId: aws.String("grp")})
	require.NoError(t, err)
	seq := aws.ToString(out.SequenceNumber)
	assert.Regexp(t, `^\d+$`, seq, "Publish returns a decimal SequenceNumber")
	n := ParseNotification(t, aws.ToString(e.ReceiveN(ctx, t, q.URL, 1, true)[0].Body))
	assert.Equal(t, seq, n.SequenceNumber, "the notification carries the Publish SequenceNumber")
}

// Publish MessageStructure "json": "the value of the Message parameter must
// ... contain at least a top-level JSON key of "default" ... You can define
// other top-level keys that define the message you want to send to a
// specific transport protocol": SQS subscriptions get the "sqs" key.
func fanoutMessageStructure(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("mstruct"), nil)
	q := e.CreateQueue(t, e.Name("mstruct"), nil)
	e.SubscribeQueue(t, topic, q, nil)
	e.publish(t, &sns.PublishInput{
		TopicArn: aws.String(topic), MessageStructure: aws.String("json"),
		Message: aws.String(`{"default":"for everyone","sqs":"for sqs","http":"for http"}`),
	})
	n := ParseNotification(t, aws.ToString(e.ReceiveN(ctx, t, q.URL, 1, true)[0].Body))
	assert.Equal(t, "for sqs", n.Message)

	e.SkipOnMoto(t, "Publish reference: with MessageStructure json the Message must 'contain at least a top-level JSON key of \"default\"' (InvalidParameter otherwise); moto accepts a structure without it")
	_, err := e.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topic), MessageStructure: aws.String("json"), Message: aws.String(`{"sqs":"no default"}`),
	})
	RequireAPIError[*snstypes.InvalidParameterException](t, err, "InvalidParameter")
}

// Unsubscribe: "Deletes a subscription." A message published afterwards is
// not delivered to the former subscriber (asserted by a marker published
// after the endpoint subscribes again).
func fanoutUnsubscribeStops(t *testing.T, e *Env) {
	ctx := e.Context(t)
	topic := e.CreateTopic(t, e.Name("unsubd"), nil)
	q := e.CreateQueue(t, e.Name("unsubd"), nil)
	sub := e.SubscribeQueue(t, topic, q, map[string]string{"RawMessageDelivery": "true"})
	_, err := e.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)})
	require.NoError(t, err)
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("after unsubscribe")})
	e.SubscribeQueue(t, topic, q, map[string]string{"RawMessageDelivery": "true"})
	e.publish(t, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("marker")})
	got := e.ReceiveThroughMarker(ctx, t, q.URL, func(m sqstypes.Message) bool { return aws.ToString(m.Body) == "marker" })
	assert.Equal(t, []string{"marker"}, Bodies(got))
}
