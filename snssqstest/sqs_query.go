package snssqstest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The SQS query protocol (older SDKs and CLIs): form parameters such as
// Attribute.N.Name / MessageAttribute.N.Value.StringValue, XML responses in
// the 2012-11-05 namespace.

const sqsXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"

type xmlNameValue struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlAttrValue struct {
	StringValue string `xml:"StringValue,omitempty"`
	BinaryValue string `xml:"BinaryValue,omitempty"`
	DataType    string `xml:"DataType"`
}

type xmlMessageAttribute struct {
	Name  string       `xml:"Name"`
	Value xmlAttrValue `xml:"Value"`
}

type xmlMessage struct {
	MessageID              string                `xml:"MessageId"`
	ReceiptHandle          string                `xml:"ReceiptHandle"`
	MD5OfBody              string                `xml:"MD5OfBody"`
	Body                   string                `xml:"Body"`
	Attribute              []xmlNameValue        `xml:"Attribute"`
	MD5OfMessageAttributes string                `xml:"MD5OfMessageAttributes,omitempty"`
	MessageAttribute       []xmlMessageAttribute `xml:"MessageAttribute"`
}

type xmlSendResult struct {
	ID                           string `xml:"Id,omitempty"`
	MessageID                    string `xml:"MessageId"`
	MD5OfMessageBody             string `xml:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `xml:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `xml:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `xml:"SequenceNumber,omitempty"`
}

type xmlBatchFailure struct {
	ID          string `xml:"Id"`
	Code        string `xml:"Code"`
	Message     string `xml:"Message,omitempty"`
	SenderFault bool   `xml:"SenderFault"`
}

type xmlIDEntry struct {
	ID string `xml:"Id"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func toXMLFailures(f []batchFailure) []xmlBatchFailure {
	out := make([]xmlBatchFailure, len(f))
	for i, x := range f {
		out[i] = xmlBatchFailure(x)
	}
	return out
}

func toXMLIDs(ids []string) []xmlIDEntry {
	out := make([]xmlIDEntry, len(ids))
	for i, id := range ids {
		out[i] = xmlIDEntry{ID: id}
	}
	return out
}

func toXMLSendResult(r sendResult) xmlSendResult {
	return xmlSendResult{ID: r.ID, MessageID: r.MessageID, MD5OfMessageBody: r.MD5Body, MD5OfMessageAttributes: r.MD5Attrs,
		MD5OfMessageSystemAttributes: r.MD5SysAttrs, SequenceNumber: r.Seq}
}

// serveQuery answers one query-protocol request; r.Form is parsed.
func (q *sqsService) serveQuery(w http.ResponseWriter, r *http.Request, action string) {
	requestID := newUUID()
	result, err := q.dispatchQuery(r, action)
	if err != nil {
		writeQueryError(w, requestID, err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, action, sqsXMLNS)
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeQueryError(w, requestID, newSQSError("InternalError", "InternalError", http.StatusInternalServerError, "could not encode the response"))
			return
		}
	}
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// queryQueueURL is the QueueUrl parameter, or the request path when the
// client posted to the queue URL itself.
func queryQueueURL(r *http.Request) string {
	if u := r.Form.Get("QueueUrl"); u != "" {
		return u
	}
	if p := strings.Trim(r.URL.Path, "/"); p != "" {
		return p
	}
	return ""
}

func (q *sqsService) dispatchQuery(r *http.Request, action string) (any, *sqsError) {
	f := r.Form
	switch action {
	case "CreateQueue":
		u, err := q.createQueue(f.Get("QueueName"), formPairs(f, "Attribute", "Name", "Value"), formPairs(f, "Tag", "Key", "Value"))
		if err != nil {
			return nil, err
		}
		return struct {
			QueueURL string `xml:"QueueUrl"`
		}{u}, nil
	case "DeleteQueue":
		return nil, q.deleteQueue(queryQueueURL(r))
	case "GetQueueUrl":
		u, err := q.getQueueURL(f.Get("QueueName"), f.Get("QueueOwnerAWSAccountId"))
		if err != nil {
			return nil, err
		}
		return struct {
			QueueURL string `xml:"QueueUrl"`
		}{u}, nil
	case "ListQueues":
		max, err := formInt(f, "MaxResults")
		if err != nil {
			return nil, err
		}
		m := 0
		if max != nil {
			if *max < 1 {
				return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *max)
			}
			m = *max
		}
		urls, token, err := q.listQueues(f.Get("QueueNamePrefix"), m, f.Get("NextToken"))
		if err != nil {
			return nil, err
		}
		return struct {
			QueueURL  []string `xml:"QueueUrl"`
			NextToken string   `xml:"NextToken,omitempty"`
		}{urls, token}, nil
	case "GetQueueAttributes":
		attrs, err := q.getQueueAttributes(queryQueueURL(r), formList(f, "AttributeName"))
		if err != nil {
			return nil, err
		}
		return struct {
			Attribute []xmlNameValue `xml:"Attribute"`
		}{sortedNameValues(attrs)}, nil
	case "SetQueueAttributes":
		return nil, q.setQueueAttributes(queryQueueURL(r), formPairs(f, "Attribute", "Name", "Value"))
	case "PurgeQueue":
		return nil, q.purgeQueue(queryQueueURL(r))
	case "TagQueue":
		return nil, q.tagQueue(queryQueueURL(r), formPairs(f, "Tag", "Key", "Value"))
	case "UntagQueue":
		return nil, q.untagQueue(queryQueueURL(r), formList(f, "TagKey"))
	case "ListQueueTags":
		tags, err := q.listQueueTags(queryQueueURL(r))
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]xmlTag, len(keys))
		for i, k := range keys {
			out[i] = xmlTag{Key: k, Value: tags[k]}
		}
		return struct {
			Tag []xmlTag `xml:"Tag"`
		}{out}, nil
	case "ListDeadLetterSourceQueues":
		urls, err := q.listDeadLetterSourceQueues(queryQueueURL(r))
		if err != nil {
			return nil, err
		}
		return struct {
			QueueURL []string `xml:"QueueUrl"`
		}{urls}, nil
	case "SendMessage":
		e, err := formSendEntry(f, "")
		if err != nil {
			return nil, err
		}
		res, err := q.sendMessage(queryQueueURL(r), e, q.senderIDOf(r))
		if err != nil {
			return nil, err
		}
		return toXMLSendResult(res), nil
	case "SendMessageBatch":
		var entries []sendEntry
		for _, n := range formIndexes(f, "SendMessageBatchRequestEntry") {
			e, err := formSendEntry(f, "SendMessageBatchRequestEntry."+n+".")
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
		}
		ok, failed, err := q.sendMessageBatch(queryQueueURL(r), entries, q.senderIDOf(r))
		if err != nil {
			return nil, err
		}
		res := struct {
			Successful []xmlSendResult   `xml:"SendMessageBatchResultEntry"`
			Failed     []xmlBatchFailure `xml:"BatchResultErrorEntry"`
		}{Failed: toXMLFailures(failed)}
		for _, x := range ok {
			res.Successful = append(res.Successful, toXMLSendResult(x))
		}
		return res, nil
	case "ReceiveMessage":
		req := receiveRequest{
			QueueURL:         queryQueueURL(r),
			SystemAttrNames:  append(formList(f, "AttributeName"), formList(f, "MessageSystemAttributeName")...),
			MessageAttrNames: formList(f, "MessageAttributeName"),
			ReceiveAttemptID: f.Get("ReceiveRequestAttemptId"),
		}
		var err *sqsError
		if req.Max, err = formInt(f, "MaxNumberOfMessages"); err != nil {
			return nil, err
		}
		if req.Wait, err = formInt(f, "WaitTimeSeconds"); err != nil {
			return nil, err
		}
		if req.Visibility, err = formInt(f, "VisibilityTimeout"); err != nil {
			return nil, err
		}
		msgs, err := q.receiveMessage(r.Context(), req)
		if err != nil {
			return nil, err
		}
		out := make([]xmlMessage, len(msgs))
		for i, m := range msgs {
			out[i] = xmlMessage{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5Body, Body: m.Body,
				Attribute: sortedNameValues(m.Attributes), MD5OfMessageAttributes: m.MD5Attrs, MessageAttribute: toXMLAttrs(m.MessageAttributes)}
		}
		return struct {
			Message []xmlMessage `xml:"Message"`
		}{out}, nil
	case "DeleteMessage":
		return nil, q.deleteMessage(queryQueueURL(r), f.Get("ReceiptHandle"))
	case "DeleteMessageBatch":
		entries, err := formHandleEntries(f, "DeleteMessageBatchRequestEntry")
		if err != nil {
			return nil, err
		}
		ok, failed, err := q.deleteMessageBatch(queryQueueURL(r), entries)
		if err != nil {
			return nil, err
		}
		return struct {
			Successful []xmlIDEntry      `xml:"DeleteMessageBatchResultEntry"`
			Failed     []xmlBatchFailure `xml:"BatchResultErrorEntry"`
		}{toXMLIDs(ok), toXMLFailures(failed)}, nil
	case "ChangeMessageVisibility":
		v, err := formInt(f, "VisibilityTimeout")
		if err != nil {
			return nil, err
		}
		return nil, q.changeMessageVisibility(queryQueueURL(r), f.Get("ReceiptHandle"), v)
	case "ChangeMessageVisibilityBatch":
		entries, err := formHandleEntries(f, "ChangeMessageVisibilityBatchRequestEntry")
		if err != nil {
			return nil, err
		}
		ok, failed, err := q.changeMessageVisibilityBatch(queryQueueURL(r), entries)
		if err != nil {
			return nil, err
		}
		return struct {
			Successful []xmlIDEntry      `xml:"ChangeMessageVisibilityBatchResultEntry"`
			Failed     []xmlBatchFailure `xml:"BatchResultErrorEntry"`
		}{toXMLIDs(ok), toXMLFailures(failed)}, nil
	case "AddPermission":
		return nil, q.addPermission(queryQueueURL(r), f.Get("Label"), formList(f, "AWSAccountId"), formList(f, "ActionName"))
	case "RemovePermission":
		return nil, q.removePermission(queryQueueURL(r), f.Get("Label"))
	case "StartMessageMoveTask":
		rate, err := formInt(f, "MaxNumberOfMessagesPerSecond")
		if err != nil {
			return nil, err
		}
		h, err := q.startMoveTask(f.Get("SourceArn"), f.Get("DestinationArn"), rate)
		if err != nil {
			return nil, err
		}
		return struct{ TaskHandle string }{h}, nil
	case "ListMessageMoveTasks":
		max, err := formInt(f, "MaxResults")
		if err != nil {
			return nil, err
		}
		res, err := q.listMoveTasks(f.Get("SourceArn"), max)
		if err != nil {
			return nil, err
		}
		return struct {
			Results []moveTaskResult `xml:"Results"`
		}{res}, nil
	case "CancelMessageMoveTask":
		n, err := q.cancelMoveTask(f.Get("TaskHandle"))
		if err != nil {
			return nil, err
		}
		return struct{ ApproximateNumberOfMessagesMoved int64 }{n}, nil
	case "":
		return nil, errMissingParameter("Action")
	}
	return nil, errInvalidAction(action)
}

func sortedNameValues(m map[string]string) []xmlNameValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]xmlNameValue, len(keys))
	for i, k := range keys {
		out[i] = xmlNameValue{Name: k, Value: m[k]}
	}
	return out
}

func toXMLAttrs(m map[string]messageAttribute) []xmlMessageAttribute {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]xmlMessageAttribute, len(keys))
	for i, k := range keys {
		a := m[k]
		v := xmlAttrValue{DataType: a.DataType}
		if dataTypeBaseOf(a.DataType) == "Binary" {
			v.BinaryValue = base64.StdEncoding.EncodeToString(a.BinaryValue)
		} else {
			v.StringValue = a.StringValue
		}
		out[i] = xmlMessageAttribute{Name: k, Value: v}
	}
	return out
}

// formIndexes returns the N of every "prefix.N" or "prefix.N.*" key, in
// numeric order.
func formIndexes(f url.Values, prefix string) []string {
	seen := map[string]bool{}
	var idx []string
	for k := range f {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		if _, err := strconv.Atoi(n); err != nil || seen[n] {
			continue
		}
		seen[n] = true
		idx = append(idx, n)
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := strconv.Atoi(idx[i])
		b, _ := strconv.Atoi(idx[j])
		return a < b
	})
	return idx
}

// formList reads prefix.1, prefix.2, ... (and a bare prefix).
func formList(f url.Values, prefix string) []string {
	var out []string
	if v := f.Get(prefix); v != "" {
		out = append(out, v)
	}
	for _, n := range formIndexes(f, prefix) {
		if v := f.Get(prefix + "." + n); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// formPairs reads prefix.N.key / prefix.N.value pairs into a map.
func formPairs(f url.Values, prefix, key, value string) map[string]string {
	out := map[string]string{}
	for _, n := range formIndexes(f, prefix) {
		if k := f.Get(prefix + "." + n + "." + key); k != "" {
			out[k] = f.Get(prefix + "." + n + "." + value)
		}
	}
	return out
}

func formInt(f url.Values, name string) (*int, *sqsError) {
	v, ok := f[name]
	if !ok || len(v) == 0 || v[0] == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v[0]))
	if err != nil {
		return nil, errInvalidParameterValue("Value %s for parameter %s is invalid. Reason: Must be an integer.", v[0], name)
	}
	return &n, nil
}

// formMessageAttributes reads prefix.N.Name / .Value.DataType / .Value.StringValue / .Value.BinaryValue.
func formMessageAttributes(f url.Values, prefix string) (map[string]messageAttribute, *sqsError) {
	idx := formIndexes(f, prefix)
	if len(idx) == 0 {
		return nil, nil
	}
	out := make(map[string]messageAttribute, len(idx))
	for _, n := range idx {
		p := prefix + "." + n + "."
		name := f.Get(p + "Name")
		if name == "" {
			return nil, errInvalidParameterValue("The request must contain non-empty message attribute name.")
		}
		a := messageAttribute{DataType: f.Get(p + "Value.DataType"), StringValue: f.Get(p + "Value.StringValue")}
		if b := f.Get(p + "Value.BinaryValue"); b != "" {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, errInvalidParameterValue("Value %s for parameter BinaryValue is invalid. Reason: not valid base64.", b)
			}
			a.BinaryValue = raw
		}
		if _, dup := out[name]; dup {
			return nil, errInvalidParameterValue("Message (user) attribute name %s is duplicated.", name)
		}
		out[name] = a
	}
	return out, nil
}

// formSendEntry reads a SendMessage request, or a batch entry under prefix.
func formSendEntry(f url.Values, prefix string) (sendEntry, *sqsError) {
	e := sendEntry{ID: f.Get(prefix + "Id"), GroupID: f.Get(prefix + "MessageGroupId"), DedupID: f.Get(prefix + "MessageDeduplicationId")}
	if v, ok := f[prefix+"MessageBody"]; ok && len(v) > 0 {
		e.Body, e.HasBody = v[0], true
	}
	var err *sqsError
	if e.DelaySeconds, err = formInt(f, prefix+"DelaySeconds"); err != nil {
		return e, err
	}
	if e.Attributes, err = formMessageAttributes(f, prefix+"MessageAttribute"); err != nil {
		return e, err
	}
	if e.SystemAttributes, err = formMessageAttributes(f, prefix+"MessageSystemAttribute"); err != nil {
		return e, err
	}
	return e, nil
}

func formHandleEntries(f url.Values, prefix string) ([]handleEntry, *sqsError) {
	var out []handleEntry
	for _, n := range formIndexes(f, prefix) {
		p := prefix + "." + n + "."
		v, err := formInt(f, p+"VisibilityTimeout")
		if err != nil {
			return nil, err
		}
		out = append(out, handleEntry{ID: f.Get(p + "Id"), ReceiptHandle: f.Get(p + "ReceiptHandle"), Visibility: v})
	}
	return out, nil
}
