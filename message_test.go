package snssqs_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 17, 0, 0, 123000000, time.FixedZone("CET", 3600))
	in := snssqs.Envelope{
		SpecVersion: snssqs.SpecVersion, ID: "id-1", Source: "cards", Type: "card.created", Subject: "c-1",
		Time: at, DataContentType: snssqs.ContentTypeJSON, Data: []byte(`{"cardId":"c-1","n":1}`),
		Extensions: map[string]any{"traceparent": "00-abc-def-01", "tenant": "acme"},
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)

	var wire map[string]any
	require.NoError(t, json.Unmarshal(b, &wire))
	assert.Equal(t, "2026-11-26T16:00:00.123Z", wire["time"], "time is RFC 3339 in UTC")
	assert.Equal(t, map[string]any{"cardId": "c-1", "n": float64(1)}, wire["data"], "JSON data is embedded, not a string")
	assert.Equal(t, "00-abc-def-01", wire["traceparent"], "extensions are top-level members")

	var out snssqs.Envelope
	require.NoError(t, json.Unmarshal(b, &out))
	assert.True(t, out.Time.Equal(at))
	out.Time = in.Time
	assert.Equal(t, in, out)
}

func TestEnvelopeBinaryDataUsesDataBase64(t *testing.T) {
	raw := []byte{0, 1, 2, 0xff}
	for _, ct := range []string{"application/octet-stream", snssqs.ContentTypeJSON} {
		b, err := json.Marshal(snssqs.Envelope{SpecVersion: snssqs.SpecVersion, ID: "i", Source: "s", Type: "t", DataContentType: ct, Data: raw})
		require.NoError(t, err)
		assert.Contains(t, string(b), `"data_base64":"`+base64.StdEncoding.EncodeToString(raw)+`"`, ct)
		var out snssqs.Envelope
		require.NoError(t, json.Unmarshal(b, &out))
		assert.Equal(t, raw, out.Data, ct)
	}
}

func TestEnvelopeRejectsShadowingExtension(t *testing.T) {
	_, err := json.Marshal(snssqs.Envelope{SpecVersion: snssqs.SpecVersion, ID: "i", Source: "s", Type: "t", Extensions: map[string]any{"type": "x"}})
	require.ErrorIs(t, err, snssqs.ErrInvalidEvent)
}

func TestEnvelopeUnmarshalErrors(t *testing.T) {
	for name, body := range map[string]string{
		"wrong specversion": `{"specversion":"0.3","id":"i","source":"s","type":"t"}`,
		"missing id":        `{"specversion":"1.0","source":"s","type":"t"}`,
		"missing type":      `{"specversion":"1.0","id":"i","source":"s"}`,
		"type not a string": `{"specversion":"1.0","id":"i","source":"s","type":7}`,
		"bad time":          `{"specversion":"1.0","id":"i","source":"s","type":"t","time":"yesterday"}`,
		"bad data_base64":   `{"specversion":"1.0","id":"i","source":"s","type":"t","data_base64":"%%%"}`,
		"not an object":     `[1,2]`,
	} {
		var e snssqs.Envelope
		err := json.Unmarshal([]byte(body), &e)
		assert.ErrorIs(t, err, snssqs.ErrMalformedMessage, name)
	}
}

func TestDecodeErrorsClipHostileText(t *testing.T) {
	long := strings.Repeat("é", 5000)
	var e snssqs.Envelope
	err := json.Unmarshal([]byte(`{"specversion":"`+long+`","id":"i","source":"s","type":"t"}`), &e)
	require.ErrorIs(t, err, snssqs.ErrMalformedMessage)
	assert.Less(t, len(err.Error()), 200, "the error quotes at most 64 bytes of the message")
	assert.Contains(t, err.Error(), "(10000 bytes)")
}

func TestDecodeSQSMessage(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:cards"
	env := `{"specversion":"1.0","id":"e-1","source":"cards","type":"card.created","data":{"cardId":"c-1"}}`
	sqsMsg := func(body string) types.Message {
		return types.Message{
			MessageId: aws.String("sqs-1"), ReceiptHandle: aws.String("rh-1"), Body: aws.String(body),
			Attributes: map[string]string{
				"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000000",
				"MessageGroupId": "g-1", "MessageDeduplicationId": "d-1",
			},
			MessageAttributes: map[string]types.MessageAttributeValue{
				"blob": {DataType: aws.String("Binary"), BinaryValue: []byte{0xff, 0}},
				"n":    {DataType: aws.String("Number"), StringValue: aws.String("42")},
			},
		}
	}

	t.Run("raw delivery of an envelope", func(t *testing.T) {
		m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(env))
		require.NoError(t, err)
		assert.True(t, m.IsEnvelope)
		assert.Equal(t, "card.created", m.Type)
		assert.Equal(t, "e-1", m.ID)
		assert.JSONEq(t, `{"cardId":"c-1"}`, string(m.Data))
		assert.Empty(t, m.TopicARN, "raw delivery does not name the topic")
		assert.Equal(t, 3, m.ReceiveCount)
		assert.Equal(t, time.UnixMilli(1700000000000).UTC(), m.SentAt)
		assert.Equal(t, "g-1", m.MessageGroupID)
		assert.Equal(t, "d-1", m.DeduplicationID)
		assert.Equal(t, snssqs.BinaryAttribute([]byte{0xff, 0}), m.Attributes["blob"])
		assert.True(t, m.Attributes["blob"].IsBinary())
		assert.Equal(t, snssqs.NumberAttribute("42"), m.Attributes["n"])
	})

	t.Run("SNS notification of an envelope", func(t *testing.T) {
		body := snsBody(t, topic, env, map[string]snsAttribute{
			"ce_type": {Type: "String", Value: "card.created"},
			"blob":    {Type: "Binary", Value: base64.StdEncoding.EncodeToString([]byte{1, 2})},
		})
		m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(body))
		require.NoError(t, err)
		assert.True(t, m.IsEnvelope)
		assert.Equal(t, "card.created", m.Type)
		assert.Equal(t, topic, m.TopicARN)
		assert.True(t, strings.HasPrefix(m.SNSMessageID, "sns-"), m.SNSMessageID)
		assert.Equal(t, snssqs.StringAttribute("card.created"), m.Attributes["ce_type"])
		assert.Equal(t, snssqs.BinaryAttribute([]byte{1, 2}), m.Attributes["blob"], "notification attributes replace the SQS ones")
	})

	t.Run("not an envelope", func(t *testing.T) {
		for _, body := range []string{`plain text`, `{"cardId":"c-1"}`, `{"type":"x","Type":"y"}`, `[1]`, `{broken`} {
			m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(body))
			require.NoError(t, err, body)
			assert.False(t, m.IsEnvelope, body)
			assert.Empty(t, m.Type, body)
			assert.Equal(t, body, string(m.Data), body)
		}
	})

	t.Run("notification of a non-envelope body", func(t *testing.T) {
		m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(snsBody(t, topic, "hello from the console", nil)))
		require.NoError(t, err)
		assert.False(t, m.IsEnvelope)
		assert.Equal(t, "hello from the console", string(m.Data))
		assert.Equal(t, topic, m.TopicARN)
	})

	t.Run("lowercase type is not mistaken for a notification", func(t *testing.T) {
		body := `{"type":"Notification","messageid":"x","topicarn":"y","message":"z"}`
		m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(body))
		require.NoError(t, err)
		assert.Empty(t, m.TopicARN)
		assert.Equal(t, body, string(m.Data))
	})

	t.Run("malformed", func(t *testing.T) {
		for name, body := range map[string]string{
			"wrong specversion":   `{"specversion":"2.0","id":"i","source":"s","type":"t"}`,
			"notification no arn": `{"Type":"Notification","MessageId":"m","TopicArn":"","Message":"x"}`,
			"bad binary attr":     snsBody(t, topic, env, map[string]snsAttribute{"b": {Type: "Binary", Value: "%%%"}}),
		} {
			m, err := snssqs.DecodeSQSMessage("q-url", sqsMsg(body))
			assert.ErrorIs(t, err, snssqs.ErrMalformedMessage, name)
			assert.NotNil(t, m, name)
		}
	})
}

func TestMessageDecode(t *testing.T) {
	m := &snssqs.Message{Type: "card.created", Data: []byte(`{"cardId":"c-1"}`)}
	var v struct {
		CardID string `json:"cardId"`
	}
	require.NoError(t, m.Decode(&v))
	assert.Equal(t, "c-1", v.CardID)
	m.Data = []byte(`nope`)
	assert.ErrorIs(t, m.Decode(&v), snssqs.ErrMalformedMessage)
}

// json.Marshal of an Envelope missing what CloudEvents requires fails, so
// it cannot be sent and then dead-lettered by the Subscriber.
func TestEnvelopeMarshalRequiresCloudEventsAttributes(t *testing.T) {
	ok := snssqs.Envelope{SpecVersion: snssqs.SpecVersion, ID: "1", Source: "s", Type: "t", DataContentType: snssqs.ContentTypeJSON, Data: []byte(`{}`)}
	_, err := json.Marshal(ok)
	require.NoError(t, err)
	for name, e := range map[string]snssqs.Envelope{
		"no specversion": {ID: "1", Source: "s", Type: "t"},
		"other version":  {SpecVersion: "0.3", ID: "1", Source: "s", Type: "t"},
		"no id":          {SpecVersion: snssqs.SpecVersion, Source: "s", Type: "t"},
		"no type":        {SpecVersion: snssqs.SpecVersion, ID: "1", Source: "s"},
	} {
		_, err := json.Marshal(e)
		assert.ErrorIs(t, err, snssqs.ErrInvalidEvent, name)
	}
}
