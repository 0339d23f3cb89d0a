package snssqs

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Fuzz targets for everything that parses bytes from the network. Seed
// corpora are in testdata/fuzz/<target>; .ci/fuzz runs each target for 20 s:
//
//	go test -run '^$' -fuzz '^FuzzEnvelopeUnmarshal$' -fuzztime 20s .

// FuzzEnvelopeUnmarshal: decoding never panics, fails only with
// ErrMalformedMessage, and what decodes is a valid envelope that survives a
// MarshalJSON/UnmarshalJSON round trip with its data byte for byte. (The
// corpus entry e655168df2062475, binary data_base64 without a content type,
// is the first input this target found that did not.)
func FuzzEnvelopeUnmarshal(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Envelope
		if err := e.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		if e.SpecVersion != SpecVersion || e.ID == "" || e.Source == "" || e.Type == "" {
			t.Fatalf("decoded an invalid envelope: %+v", e)
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("a decoded envelope does not marshal: %v (input %q)", err, b)
		}
		var back Envelope
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("round trip fails: %v\ninput  %q\noutput %q", err, b, out)
		}
		if back.ID != e.ID || back.Type != e.Type || back.Source != e.Source || back.Subject != e.Subject ||
			back.DataContentType != e.DataContentType || !back.Time.Equal(e.Time) || len(back.Extensions) != len(e.Extensions) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", e, back)
		}
		if string(back.Data) != string(e.Data) || (back.Data == nil) != (e.Data == nil) {
			t.Fatalf("round trip changed the data: %q -> %q (via %q)", e.Data, back.Data, out)
		}
	})
}

// FuzzDecodeEnvelope: a body that is not an envelope passes through
// untouched; one that claims to be an envelope decodes or fails with
// ErrMalformedMessage.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &Message{}
		err := decodeEnvelope(m, b)
		switch {
		case err != nil:
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			if string(m.Data) != string(b) {
				t.Fatalf("a malformed body must be kept in Data for logging and dead-lettering")
			}
		case !m.IsEnvelope:
			if string(m.Data) != string(b) || m.Type != "" {
				t.Fatalf("a non-envelope body must pass through untouched: %q -> %+v", b, m)
			}
		default:
			if m.ID == "" || m.Type == "" || m.Source == "" {
				t.Fatalf("decoded an envelope without id, type or source: %+v", m)
			}
		}
	})
}

// FuzzDecodeSQSMessage: any SQS message (SNS notification or not, any
// attributes) yields a non-nil Message carrying the SQS metadata, and
// either decodes or fails with ErrMalformedMessage or ErrTopicNotAllowed;
// a notification from a topic outside a non-empty allow-list never
// decodes.
func FuzzDecodeSQSMessage(f *testing.F) {
	for _, s := range notificationSeeds {
		f.Add(s, "3", "1700000000000", "arn:aws:sns:us-east-1:000000000000:allowed", true)
	}
	for _, s := range envelopeSeeds {
		f.Add(s, "1", "x", "", false)
	}
	f.Fuzz(func(t *testing.T, body, receiveCount, sentTimestamp, allowedTopic string, restrict bool) {
		sm := types.Message{
			MessageId:     aws.String("mid"),
			ReceiptHandle: aws.String("rh"),
			Body:          aws.String(body),
			Attributes: map[string]string{
				string(types.MessageSystemAttributeNameApproximateReceiveCount): receiveCount,
				string(types.MessageSystemAttributeNameSentTimestamp):           sentTimestamp,
			},
			MessageAttributes: map[string]types.MessageAttributeValue{
				"a": {DataType: aws.String("Binary"), BinaryValue: []byte(receiveCount)},
			},
		}
		var allowed map[string]struct{}
		if restrict {
			allowed = map[string]struct{}{allowedTopic: {}}
		}
		m, err := decodeSQSMessage("https://queue.example/q", sm, allowed)
		if m == nil {
			t.Fatal("decodeSQSMessage returned a nil Message")
		}
		if m.QueueURL != "https://queue.example/q" || m.SQSMessageID != "mid" || m.receiptHandle != "rh" {
			t.Fatalf("SQS metadata lost: %+v", m)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) && !errors.Is(err, ErrTopicNotAllowed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if restrict && m.TopicARN != "" && m.TopicARN != allowedTopic {
			t.Fatalf("a notification from %q passed the allow-list {%q}", m.TopicARN, allowedTopic)
		}
		if m.IsEnvelope && (m.ID == "" || m.Type == "") {
			t.Fatalf("decoded an envelope without id or type: %+v", m)
		}
	})
}

var envelopeSeeds = []string{
	`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2025-01-02T03:04:05.123Z","datacontenttype":"application/json","data":{"a":[1,2,{"b":null}]},"traceparent":"00-abc"}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/octet-stream","data_base64":"AAEC/w=="}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data":"hello"}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/cloudevents+json; charset=utf-8","data":"x"}`,
	`{"specversion":"0.3","id":"1","source":"s","type":"t"}`,
	`{"specversion":"1.0","id":"","source":"s","type":"t"}`,
	`{"specversion":"1.0","id":1,"source":"s","type":"t"}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"!!"}`,
	`{"specversion":"1.0","id":"1","source":"s","type":"t","data":null,"ext":{"deep":[1,"2",true]}}`,
	`{"specversion":"1.0"`,
	`[]`, `null`, `"specversion"`, ``, `{}`, `{"order":42}`,
}

var notificationSeeds = []string{
	`{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-1:000000000000:allowed","Message":"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data\":{}}","Timestamp":"2025-01-02T03:04:05.000Z","MessageAttributes":{"ce_type":{"Type":"String","Value":"t"},"b":{"Type":"Binary","Value":"AAE="}}}`,
	`{"Type":"Notification","MessageId":"m2","TopicArn":"arn:aws:sns:us-east-1:000000000000:other","Message":"raw text"}`,
	`{"Type":"Notification","MessageId":"m3","TopicArn":"arn:aws:sns:us-east-1:000000000000:allowed","Message":"x","MessageAttributes":{"b":{"Type":"Binary","Value":"not base64"}}}`,
	`{"Type":"Notification","MessageId":"","TopicArn":"","Message":"x"}`,
	`{"Type":"Notification","MessageId":"m4","TopicArn":"t","Message":42}`,
	`{"Type":"SubscriptionConfirmation","MessageId":"m5","TopicArn":"t","Message":"confirm"}`,
}
