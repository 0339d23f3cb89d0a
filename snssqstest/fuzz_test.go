package snssqstest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the emulator's request parsing: whatever a client sends,
// the emulator must answer with a well-formed response and never with a 5xx
// (no fault injection is configured) or a panic. Seed corpora are in
// testdata/fuzz/<target>; .ci/fuzz runs each target for 20 s:
//
//	go test -run '^$' -fuzz '^FuzzEmulatorSQSJSON$' -fuzztime 20s ./snssqstest

// fuzzRequestTimeout ends long polls a fuzzed ReceiveMessage may ask for.
const fuzzRequestTimeout = 50 * time.Millisecond

var fuzzSQSOps = []string{
	"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
	"ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "CreateQueue", "GetQueueAttributes",
	"SetQueueAttributes", "GetQueueUrl", "ListQueues", "PurgeQueue", "ListDeadLetterSourceQueues",
	"TagQueue", "ListQueueTags", "DeleteQueue", "NoSuchOperation",
}

var fuzzQueryActions = []string{
	// SNS
	"CreateTopic", "Publish", "PublishBatch", "Subscribe", "SetSubscriptionAttributes",
	"GetTopicAttributes", "SetTopicAttributes", "ListSubscriptionsByTopic", "TagResource",
	// SQS query protocol
	"SendMessage", "SendMessageBatch", "ReceiveMessage", "CreateQueue", "SetQueueAttributes",
	"DeleteMessageBatch", "ChangeMessageVisibilityBatch",
	// STS, unknown
	"GetCallerIdentity", "NoSuchAction",
}

// fuzzServer starts an emulator with a standard queue, a FIFO queue and a
// topic subscribed to the standard queue, so requests find resources.
func fuzzServer(f *testing.F) (*Server, map[string]string) {
	srv, err := NewServer()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	names := map[string]string{}
	do := func(target string, body string) map[string]any {
		rec := serveFuzz(srv, "sqs", target, body, "")
		if rec.Code != http.StatusOK {
			f.Fatalf("setup %s: %d %s", target, rec.Code, rec.Body)
		}
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return out
	}
	names["queue"] = do("CreateQueue", `{"QueueName":"fuzz"}`)["QueueUrl"].(string)
	names["fifo"] = do("CreateQueue", `{"QueueName":"fuzz.fifo","Attributes":{"FifoQueue":"true"}}`)["QueueUrl"].(string)
	do("SendMessage", `{"QueueUrl":"`+names["queue"]+`","MessageBody":"hello"}`)
	rec := serveFuzz(srv, "query", "", "", "Action=CreateTopic&Name=fuzz")
	if rec.Code != http.StatusOK {
		f.Fatalf("setup CreateTopic: %d %s", rec.Code, rec.Body)
	}
	names["topic"] = "arn:aws:sns:" + srv.Region() + ":" + srv.AccountID() + ":fuzz"
	names["queueArn"] = "arn:aws:sqs:" + srv.Region() + ":" + srv.AccountID() + ":fuzz"
	rec = serveFuzz(srv, "query", "", "", url.Values{"Action": {"Subscribe"}, "TopicArn": {names["topic"]},
		"Protocol": {"sqs"}, "Endpoint": {names["queueArn"]}, "ReturnSubscriptionArn": {"true"}}.Encode())
	if rec.Code != http.StatusOK {
		f.Fatalf("setup Subscribe: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	i, j := strings.Index(body, "<SubscriptionArn>"), strings.Index(body, "</SubscriptionArn>")
	if i < 0 || j < i {
		f.Fatalf("setup Subscribe: no SubscriptionArn in %s", body)
	}
	names["subscription"] = body[i+len("<SubscriptionArn>") : j]
	return srv, names
}

// serveFuzz sends one request straight to srv.ServeHTTP: an SQS JSON request
// when protocol is "sqs", a form-encoded query request otherwise.
func serveFuzz(srv *Server, protocol, target, jsonBody, form string) *httptest.ResponseRecorder {
	var req *http.Request
	if protocol == "sqs" {
		req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(jsonBody))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	} else {
		req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	ctx, cancel := context.WithTimeout(req.Context(), fuzzRequestTimeout)
	defer cancel()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req.WithContext(ctx))
	return rec
}

func checkFuzzResponse(t *testing.T, rec *httptest.ResponseRecorder, request string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d for bad input\nrequest: %s\nresponse: %s", rec.Code, request, rec.Body)
	}
}

// FuzzEmulatorSQSJSON fuzzes the body of every SQS JSON operation.
func FuzzEmulatorSQSJSON(f *testing.F) {
	srv, names := fuzzServer(f)
	q, fifo := names["queue"], names["fifo"]
	seeds := map[string][]string{
		"SendMessage": {`{"QueueUrl":"` + q + `","MessageBody":"x","DelaySeconds":0,"MessageAttributes":{"a":{"DataType":"Number","StringValue":"1e3"},"b":{"DataType":"Binary","BinaryValue":"AAE="}}}`,
			`{"QueueUrl":"` + fifo + `","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}`,
			`{"QueueUrl":"` + q + `","MessageBody":"x","MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1"}}}`},
		"SendMessageBatch":        {`{"QueueUrl":"` + q + `","Entries":[{"Id":"a","MessageBody":"1"},{"Id":"b","MessageBody":"2","DelaySeconds":900}]}`},
		"ReceiveMessage":          {`{"QueueUrl":"` + q + `","MaxNumberOfMessages":10,"VisibilityTimeout":0,"WaitTimeSeconds":0,"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["All"]}`},
		"DeleteMessage":           {`{"QueueUrl":"` + q + `","ReceiptHandle":"bm90IGEgaGFuZGxl"}`},
		"DeleteMessageBatch":      {`{"QueueUrl":"` + q + `","Entries":[{"Id":"a","ReceiptHandle":"x"},{"Id":"a","ReceiptHandle":"y"}]}`},
		"ChangeMessageVisibility": {`{"QueueUrl":"` + q + `","ReceiptHandle":"x","VisibilityTimeout":43201}`},
		"CreateQueue":             {`{"QueueName":"q2","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:fuzz\",\"maxReceiveCount\":\"3\"}","VisibilityTimeout":"5"},"tags":{"k":"v"}}`},
		"SetQueueAttributes":      {`{"QueueUrl":"` + q + `","Attributes":{"Policy":"{}","MaximumMessageSize":"1024","RedriveAllowPolicy":"{\"redrivePermission\":\"allowAll\"}"}}`},
		"GetQueueAttributes":      {`{"QueueUrl":"` + q + `","AttributeNames":["All","Bogus"]}`},
		"ListQueues":              {`{"QueueNamePrefix":"f","MaxResults":1,"NextToken":"garbage"}`},
	}
	for i, op := range fuzzSQSOps {
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`{"QueueUrl":"`+q+`"}`))
		for _, s := range seeds[op] {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Add(uint8(0), []byte(`not json`))
	f.Add(uint8(0), []byte(`{"QueueUrl":123,"MessageBody":{"nested":true}}`))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		target := fuzzSQSOps[int(op)%len(fuzzSQSOps)]
		if target == "DeleteQueue" || target == "PurgeQueue" {
			// Keep the seeded resources for the other inputs; run them
			// against a queue that never existed instead.
			body = []byte(strings.ReplaceAll(string(body), q, q+"-gone"))
		}
		rec := serveFuzz(srv, "sqs", target, string(body), "")
		checkFuzzResponse(t, rec, target+" "+string(body))
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s answered with invalid JSON: %q", target, rec.Body)
		}
	})
}

// FuzzEmulatorQuery fuzzes the parameters of query-protocol requests (SNS,
// SQS query, STS).
func FuzzEmulatorQuery(f *testing.F) {
	srv, names := fuzzServer(f)
	topic, q := url.QueryEscape(names["topic"]), url.QueryEscape(names["queue"])
	seeds := []string{
		"TopicArn=" + topic + "&Message=hi&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=x",
		"TopicArn=" + topic + "&MessageStructure=json&Message=%7B%22default%22%3A%22x%22%7D",
		"TopicArn=" + topic + "&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m",
		"Name=t2&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true",
		"QueueUrl=" + q + "&MessageBody=hi&MessageAttribute.1.Name=n&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=AAE%3D",
		"QueueUrl=" + q + "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x",
		"QueueUrl=" + q + "&MaxNumberOfMessages=11&AttributeName.1=All",
		"SubscriptionArn=" + url.QueryEscape(names["subscription"]) + "&AttributeName=FilterPolicy&AttributeValue=%7B%22a%22%3A%5B%7B%22prefix%22%3A%22x%22%7D%5D%7D",
		"%zz=1&&==&a[]=",
	}
	for i := range fuzzQueryActions {
		f.Add(uint8(i), "")
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, action uint8, params string) {
		a := fuzzQueryActions[int(action)%len(fuzzQueryActions)]
		form := "Action=" + a + "&Version=2010-03-31&" + params
		rec := serveFuzz(srv, "query", "", "", form)
		checkFuzzResponse(t, rec, form)
	})
}

// FuzzEmulatorFilterPolicy sets a fuzzed filter policy on a subscription and
// publishes a fuzzed message through it: policy parsing and matching must
// not fail with a 5xx or panic.
func FuzzEmulatorFilterPolicy(f *testing.F) {
	srv, names := fuzzServer(f)
	seeds := []struct{ policy, attr, body string }{
		{`{"ce_type":["card.created"]}`, "card.created", `{}`},
		{`{"price":[{"numeric":[">",0,"<=",100]}]}`, "50", `{}`},
		{`{"a":[{"prefix":"x"},{"suffix":"y"},{"anything-but":["z"]},{"exists":true}]}`, "xy", `{}`},
		{`{"a":[{"equals-ignore-case":"X"}],"$or":[{"b":["1"]},{"c":[{"cidr":"10.0.0.0/8"}]}]}`, "x", `{}`},
		{`{"detail":{"n":[{"numeric":["=",1e300]}]}}`, "1", `{"detail":{"n":1e300}}`},
		{`{"a":[{"wildcard":"*x*y*"}]}`, "axby", `{"a":"axby"}`},
		{`{"a":[[[[[]]]]]}`, "", `[]`},
		{`{}`, "", ``},
		{`not json`, "x", `{`},
	}
	for _, s := range seeds {
		f.Add(s.policy, s.attr, s.body, false)
		f.Add(s.policy, s.attr, s.body, true)
	}
	f.Fuzz(func(t *testing.T, policy, attr, body string, bodyScope bool) {
		scope := "MessageAttributes"
		if bodyScope {
			scope = "MessageBody"
		}
		for _, attrName := range []string{"FilterPolicyScope", "FilterPolicy"} {
			value := scope
			if attrName == "FilterPolicy" {
				value = policy
			}
			form := url.Values{"Action": {"SetSubscriptionAttributes"}, "SubscriptionArn": {names["subscription"]},
				"AttributeName": {attrName}, "AttributeValue": {value}}.Encode()
			checkFuzzResponse(t, serveFuzz(srv, "query", "", "", form), form)
		}
		if body == "" {
			body = "-"
		}
		for _, dataType := range []string{"String", "Number", "String.Array"} {
			form := url.Values{"Action": {"Publish"}, "TopicArn": {names["topic"]}, "Message": {body},
				"MessageAttributes.entry.1.Name": {"a"}, "MessageAttributes.entry.1.Value.DataType": {dataType},
				"MessageAttributes.entry.1.Value.StringValue": {attr}}.Encode()
			checkFuzzResponse(t, serveFuzz(srv, "query", "", "", form), form)
		}
	})
}
