package snssqstest

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postQuery sends a query-protocol request and returns status and body.
func postQuery(t *testing.T, endpoint string, form url.Values, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

type qCreateResp struct {
	XMLName   xml.Name `xml:"http://queue.amazonaws.com/doc/2012-11-05/ CreateQueueResponse"`
	QueueURL  string   `xml:"CreateQueueResult>QueueUrl"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}

type qSendResp struct {
	MessageID  string `xml:"SendMessageResult>MessageId"`
	MD5Body    string `xml:"SendMessageResult>MD5OfMessageBody"`
	MD5Attrs   string `xml:"SendMessageResult>MD5OfMessageAttributes"`
	SequenceNr string `xml:"SendMessageResult>SequenceNumber"`
}

type qReceiveResp struct {
	Messages []struct {
		MessageID     string `xml:"MessageId"`
		ReceiptHandle string `xml:"ReceiptHandle"`
		MD5OfBody     string `xml:"MD5OfBody"`
		Body          string `xml:"Body"`
		MD5Attrs      string `xml:"MD5OfMessageAttributes"`
		Attributes    []struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		} `xml:"Attribute"`
		MessageAttributes []struct {
			Name        string `xml:"Name"`
			DataType    string `xml:"Value>DataType"`
			StringValue string `xml:"Value>StringValue"`
			BinaryValue string `xml:"Value>BinaryValue"`
		} `xml:"MessageAttribute"`
	} `xml:"ReceiveMessageResult>Message"`
}

type qErrorResp struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func TestSQSQueryProtocolRoundTrip(t *testing.T) {
	srv := Run(t)
	status, body := postQuery(t, srv.URL(), url.Values{
		"Action": {"CreateQueue"}, "QueueName": {"legacy"},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"40"},
		"Attribute.2.Name": {"DelaySeconds"}, "Attribute.2.Value": {"0"},
		"Tag.1.Key": {"team"}, "Tag.1.Value": {"core"},
	})
	require.Equal(t, http.StatusOK, status, body)
	var created qCreateResp
	require.NoError(t, xml.Unmarshal([]byte(body), &created))
	assert.Equal(t, srv.URL()+"/000000000000/legacy", created.QueueURL)
	assert.NotEmpty(t, created.RequestID)
	qurl := created.QueueURL

	status, body = postQuery(t, srv.URL(), url.Values{
		"Action": {"SendMessage"}, "QueueUrl": {qurl}, "MessageBody": {"hello <world> & \"friends\"\r\n"},
		"MessageAttribute.1.Name": {"timestamp"}, "MessageAttribute.1.Value.DataType": {"Number"}, "MessageAttribute.1.Value.StringValue": {"1493147359900"},
		"MessageAttribute.2.Name": {"blob"}, "MessageAttribute.2.Value.DataType": {"Binary"}, "MessageAttribute.2.Value.BinaryValue": {base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff})},
	})
	require.Equal(t, http.StatusOK, status, body)
	var sent qSendResp
	require.NoError(t, xml.Unmarshal([]byte(body), &sent))
	assert.NotEmpty(t, sent.MessageID)
	assert.Equal(t, md5Hex("hello <world> & \"friends\"\r\n"), sent.MD5Body)
	assert.Equal(t, md5OfAttributes(map[string]messageAttribute{
		"timestamp": {DataType: "Number", StringValue: "1493147359900"},
		"blob":      {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xff}},
	}), sent.MD5Attrs)

	status, body = postQuery(t, srv.URL(), url.Values{
		"Action": {"ReceiveMessage"}, "QueueUrl": {qurl}, "MaxNumberOfMessages": {"10"},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"},
	})
	require.Equal(t, http.StatusOK, status, body)
	var recv qReceiveResp
	require.NoError(t, xml.Unmarshal([]byte(body), &recv))
	require.Len(t, recv.Messages, 1)
	m := recv.Messages[0]
	assert.Equal(t, sent.MessageID, m.MessageID)
	assert.Equal(t, "hello <world> & \"friends\"\r\n", m.Body, "XML escaping keeps the body byte for byte")
	assert.Equal(t, sent.MD5Body, m.MD5OfBody)
	assert.Equal(t, sent.MD5Attrs, m.MD5Attrs)
	attrs := map[string]string{}
	for _, a := range m.Attributes {
		attrs[a.Name] = a.Value
	}
	assert.Equal(t, "1", attrs["ApproximateReceiveCount"])
	assert.Equal(t, "000000000000", attrs["SenderId"])
	require.Len(t, m.MessageAttributes, 2)
	assert.Equal(t, "blob", m.MessageAttributes[0].Name)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}), m.MessageAttributes[0].BinaryValue)
	assert.Equal(t, "1493147359900", m.MessageAttributes[1].StringValue)

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {qurl}, "ReceiptHandle": {m.ReceiptHandle}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<DeleteMessageResponse")
	assert.Contains(t, body, "<RequestId>")

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {qurl}, "AttributeName.1": {"All"}})
	require.Equal(t, http.StatusOK, status, body)
	var ga struct {
		Attrs []struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		} `xml:"GetQueueAttributesResult>Attribute"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &ga))
	got := map[string]string{}
	for _, a := range ga.Attrs {
		got[a.Name] = a.Value
	}
	assert.Equal(t, "40", got["VisibilityTimeout"])
	assert.Equal(t, "0", got["ApproximateNumberOfMessages"])

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {qurl}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<Tag><Key>team</Key><Value>core</Value></Tag>")

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"ListQueues"}, "QueueNamePrefix": {"leg"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<QueueUrl>"+qurl+"</QueueUrl>")
}

func TestSQSQueryProtocolBatches(t *testing.T) {
	srv := Run(t)
	qurl, err := srv.CreateQueue("qbatch", nil)
	require.NoError(t, err)
	status, body := postQuery(t, srv.URL(), url.Values{
		"Action": {"SendMessageBatch"}, "QueueUrl": {qurl},
		"SendMessageBatchRequestEntry.1.Id": {"a"}, "SendMessageBatchRequestEntry.1.MessageBody": {"one"},
		"SendMessageBatchRequestEntry.2.Id": {"b"}, "SendMessageBatchRequestEntry.2.MessageBody": {"two"},
		"SendMessageBatchRequestEntry.2.DelaySeconds":                         {"1000"},
		"SendMessageBatchRequestEntry.3.Id":                                   {"c"},
		"SendMessageBatchRequestEntry.3.MessageBody":                          {"three"},
		"SendMessageBatchRequestEntry.3.MessageAttribute.1.Name":              {"k"},
		"SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.DataType":    {"String"},
		"SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.StringValue": {"v"},
	})
	require.Equal(t, http.StatusOK, status, body)
	var res struct {
		OK []struct {
			ID       string `xml:"Id"`
			MD5Attrs string `xml:"MD5OfMessageAttributes"`
		} `xml:"SendMessageBatchResult>SendMessageBatchResultEntry"`
		Failed []struct {
			ID          string `xml:"Id"`
			Code        string `xml:"Code"`
			SenderFault bool   `xml:"SenderFault"`
		} `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &res))
	require.Len(t, res.OK, 2)
	assert.Equal(t, "a", res.OK[0].ID)
	assert.Equal(t, "c", res.OK[1].ID)
	assert.NotEmpty(t, res.OK[1].MD5Attrs)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, "b", res.Failed[0].ID)
	assert.Equal(t, "InvalidParameterValue", res.Failed[0].Code)
	assert.True(t, res.Failed[0].SenderFault)

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {qurl}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>AWS.SimpleQueueService.EmptyBatchRequest</Code>")

	status, body = postQuery(t, srv.URL(), url.Values{
		"Action": {"DeleteMessageBatch"}, "QueueUrl": {qurl},
		"DeleteMessageBatchRequestEntry.1.Id": {"x"}, "DeleteMessageBatchRequestEntry.1.ReceiptHandle": {"junk"},
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "<BatchResultErrorEntry><Id>x</Id><Code>ReceiptHandleIsInvalid</Code>")
}

func TestSQSQueryProtocolErrors(t *testing.T) {
	srv := Run(t)
	status, body := postQuery(t, srv.URL(), url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"missing"}})
	assert.Equal(t, http.StatusBadRequest, status)
	var e qErrorResp
	require.NoError(t, xml.Unmarshal([]byte(body), &e), body)
	assert.Equal(t, "Sender", e.Type)
	assert.Equal(t, "AWS.SimpleQueueService.NonExistentQueue", e.Code)
	assert.NotEmpty(t, e.Message)
	assert.NotEmpty(t, e.RequestID)

	// A signed request names its service, so an unknown action reaches SQS.
	auth := "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=abc"
	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"Teleport"}}, "Authorization", auth)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidAction</Code>")

	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"CreateQueue"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>MissingParameter</Code>")

	qurl, err := srv.CreateQueue("qerr", nil)
	require.NoError(t, err)
	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {qurl}, "MaxNumberOfMessages": {"abc"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidParameterValue</Code>")
	status, body = postQuery(t, srv.URL(), url.Values{"Action": {"SetQueueAttributes"}, "QueueUrl": {qurl}, "Attribute.1.Name": {"Nope"}, "Attribute.1.Value": {"1"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "<Code>InvalidAttributeName</Code>")
}

// Old SDKs post to the queue URL itself instead of passing QueueUrl.
func TestSQSQueryProtocolQueueURLAsPath(t *testing.T) {
	srv := Run(t)
	qurl, err := srv.CreateQueue("bypath", nil)
	require.NoError(t, err)
	status, body := postQuery(t, qurl, url.Values{"Action": {"SendMessage"}, "MessageBody": {"via path"}})
	require.Equal(t, http.StatusOK, status, body)
	v, _, _ := srv.Counts("bypath")
	assert.Equal(t, 1, v)
}
