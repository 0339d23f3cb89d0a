package snssqstest

import (
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// snsXMLNamespace is the namespace of every SNS query-protocol response.
const snsXMLNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"

// serveQuery answers one SNS query-protocol request; r.Form is parsed.
func (n *snsService) serveQuery(w http.ResponseWriter, r *http.Request, action string) {
	f := r.Form
	var (
		result any
		err    *snsError
	)
	switch action {
	case "CreateTopic":
		result, err = n.queryCreateTopic(f)
	case "DeleteTopic":
		err = n.deleteTopic(f.Get("TopicArn"))
	case "ListTopics":
		result, err = n.queryListTopics(f)
	case "GetTopicAttributes":
		result, err = snsAttributesResult(n.topicAttributes(f.Get("TopicArn")))
	case "SetTopicAttributes":
		err = n.setTopicAttribute(f.Get("TopicArn"), f.Get("AttributeName"), f.Get("AttributeValue"))
	case "Subscribe":
		result, err = n.querySubscribe(f)
	case "Unsubscribe":
		err = n.unsubscribe(f.Get("SubscriptionArn"))
	case "ListSubscriptions":
		result, err = n.queryListSubscriptions("", f)
	case "ListSubscriptionsByTopic":
		if f.Get("TopicArn") == "" {
			err = snsInvalidParameter("Invalid parameter: TopicArn")
			break
		}
		result, err = n.queryListSubscriptions(f.Get("TopicArn"), f)
	case "GetSubscriptionAttributes":
		result, err = snsAttributesResult(n.subscriptionAttributes(f.Get("SubscriptionArn")))
	case "SetSubscriptionAttributes":
		err = n.setSubscriptionAttribute(f.Get("SubscriptionArn"), f.Get("AttributeName"), f.Get("AttributeValue"))
	case "Publish":
		result, err = n.queryPublish(f)
	case "PublishBatch":
		result, err = n.queryPublishBatch(f)
	case "TagResource":
		// Unlike DeleteTopic and friends, the tagging actions answer with
		// an empty result element, which the SDK requires.
		result, err = struct{}{}, n.tagResource(f.Get("ResourceArn"), snsTags(f))
	case "UntagResource":
		result, err = struct{}{}, n.untagResource(f.Get("ResourceArn"), snsList(f, "TagKeys.member"))
	case "ListTagsForResource":
		result, err = n.queryListTags(f)
	case "CreatePlatformApplication":
		var arn string
		arn, err = n.createPlatformApplication(f.Get("Name"), f.Get("Platform"), snsMap(f, "Attributes"))
		result = struct{ PlatformApplicationArn string }{arn}
	case "GetPlatformApplicationAttributes":
		result, err = snsAttributesResult(n.platformAppAttributes(f.Get("PlatformApplicationArn")))
	case "SetPlatformApplicationAttributes":
		err = n.setPlatformAppAttributes(f.Get("PlatformApplicationArn"), snsMap(f, "Attributes"))
	case "ListPlatformApplications":
		result = struct {
			PlatformApplications []snsPlatformAppMember `xml:"PlatformApplications>member"`
		}{n.listPlatformApplications()}
	case "DeletePlatformApplication":
		err = n.deletePlatformApplication(f.Get("PlatformApplicationArn"))
	case "CreatePlatformEndpoint":
		var arn string
		arn, err = n.createPlatformEndpoint(f.Get("PlatformApplicationArn"), f.Get("Token"), f.Get("CustomUserData"), snsMap(f, "Attributes"))
		result = struct{ EndpointArn string }{arn}
	case "GetEndpointAttributes":
		result, err = snsAttributesResult(n.endpointAttributes(f.Get("EndpointArn")))
	case "SetEndpointAttributes":
		err = n.setEndpointAttributes(f.Get("EndpointArn"), snsMap(f, "Attributes"))
	case "ListEndpointsByPlatformApplication":
		var eps []snsEndpointMember
		eps, err = n.listEndpoints(f.Get("PlatformApplicationArn"))
		result = struct {
			Endpoints []snsEndpointMember `xml:"Endpoints>member"`
		}{eps}
	case "DeleteEndpoint":
		err = n.deleteEndpoint(f.Get("EndpointArn"))
	case "SetSMSAttributes":
		n.setSMSAttributes(snsMap(f, "attributes"))
		result = struct{}{}
	case "GetSMSAttributes":
		attrs := n.smsAttributes(snsList(f, "attributes.member"))
		result = struct {
			Attributes []snsAttributeEntry `xml:"attributes>entry"`
		}{entriesOf(attrs)}
	case "CheckIfPhoneNumberIsOptedOut":
		var out bool
		out, err = n.phoneOptedOut(f.Get("phoneNumber"))
		result = struct {
			IsOptedOut bool `xml:"isOptedOut"`
		}{out}
	case "ListPhoneNumbersOptedOut":
		result = struct {
			PhoneNumbers []string `xml:"phoneNumbers>member"`
		}{n.listOptedOut()}
	case "OptInPhoneNumber":
		result, err = struct{}{}, n.optIn(f.Get("phoneNumber"))
	case "CreateSMSSandboxPhoneNumber":
		result, err = struct{}{}, n.createSandboxNumber(f.Get("PhoneNumber"))
	case "VerifySMSSandboxPhoneNumber":
		result, err = struct{}{}, n.verifySandboxNumber(f.Get("PhoneNumber"), f.Get("OneTimePassword"))
	case "DeleteSMSSandboxPhoneNumber":
		result, err = struct{}{}, n.deleteSandboxNumber(f.Get("PhoneNumber"))
	case "ListSMSSandboxPhoneNumbers":
		result = struct {
			PhoneNumbers []snsSandboxNumberXML `xml:"PhoneNumbers>member"`
		}{n.listSandboxNumbers()}
	case "GetSMSSandboxAccountStatus":
		result = struct{ IsInSandbox bool }{true}
	case "PutDataProtectionPolicy":
		result, err = struct{}{}, n.putDataProtectionPolicy(f.Get("ResourceArn"), f.Get("DataProtectionPolicy"))
	case "GetDataProtectionPolicy":
		var policy string
		policy, err = n.dataProtectionPolicy(f.Get("ResourceArn"))
		result = struct{ DataProtectionPolicy string }{policy}
	case "ListOriginationNumbers":
		result = struct {
			PhoneNumbers []string `xml:"PhoneNumbers>member"`
		}{} // no origination numbers: the emulator sends no SMS
	case "ConfirmSubscription":
		var arn string
		arn, err = n.confirmSubscription(f.Get("TopicArn"), f.Get("Token"))
		result = struct{ SubscriptionArn string }{arn}
	case "AddPermission":
		err = n.addPermission(f.Get("TopicArn"), f.Get("Label"), snsList(f, "AWSAccountId.member"), snsList(f, "ActionName.member"))
	case "RemovePermission":
		err = n.removePermission(f.Get("TopicArn"), f.Get("Label"))
	default:
		err = snsBadRequest("InvalidAction", "Could not find operation "+action+" for version 2010-03-31")
	}
	if err != nil {
		writeSNSError(w, err)
		return
	}
	writeSNSResult(w, action, result)
}

// ---- wire structures ----

type snsCreateTopicResult struct {
	TopicArn string
}

type snsTopicMember struct {
	TopicArn string
}

type snsListTopicsResult struct {
	Topics    []snsTopicMember `xml:"Topics>member"`
	NextToken string           `xml:",omitempty"`
}

type snsAttributeEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type snsAttributesXML struct {
	Attributes []snsAttributeEntry `xml:"Attributes>entry"`
}

type snsSubscribeResult struct {
	SubscriptionArn string
}

type snsSubscriptionMember struct {
	TopicArn        string
	Protocol        string
	SubscriptionArn string
	Owner           string
	Endpoint        string
}

type snsListSubscriptionsResult struct {
	Subscriptions []snsSubscriptionMember `xml:"Subscriptions>member"`
	NextToken     string                  `xml:",omitempty"`
}

type snsPublishXML struct {
	MessageId      string
	SequenceNumber string `xml:",omitempty"`
}

type snsBatchSuccess struct {
	Id             string
	MessageId      string
	SequenceNumber string `xml:",omitempty"`
}

type snsBatchFailure struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

type snsPublishBatchResult struct {
	Successful struct {
		Members []snsBatchSuccess `xml:"member"`
	}
	Failed struct {
		Members []snsBatchFailure `xml:"member"`
	}
}

type snsTagMember struct {
	Key   string
	Value string
}

type snsListTagsResult struct {
	Tags []snsTagMember `xml:"Tags>member"`
}

// ---- responses ----

// writeSNSResult writes <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata/></ActionResponse>; actions without output omit the
// result element, as AWS does.
func writeSNSResult(w http.ResponseWriter, action string, result any) {
	body, err := queryResponseBody(snsXMLNamespace, action, uuid.NewString(), result)
	if err != nil {
		writeSNSError(w, &snsError{status: http.StatusInternalServerError, code: "InternalError", message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeSNSError writes an ErrorResponse; the SDK maps <Code> to its typed
// errors (NotFound → *types.NotFoundException, and so on).
func writeSNSError(w http.ResponseWriter, e *snsError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	body := queryErrorBody(snsXMLNamespace, typ, e.code, e.message, uuid.NewString())
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func snsAttributesResult(attrs map[string]string, err *snsError) (any, *snsError) {
	if err != nil {
		return nil, err
	}
	out := snsAttributesXML{Attributes: make([]snsAttributeEntry, 0, len(attrs))}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out.Attributes = append(out.Attributes, snsAttributeEntry{Key: k, Value: attrs[k]})
	}
	return out, nil
}

// ---- request parsing ----

// snsIndexes returns the sorted N of every "prefix.N..." key in f.
func snsIndexes(f url.Values, prefix string) []int {
	seen := map[int]bool{}
	prefix += "."
	for k := range f {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(num); err == nil && i > 0 {
			seen[i] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// snsMap reads an Attributes-style map: prefix.entry.N.key / .value.
func snsMap(f url.Values, prefix string) map[string]string {
	return snsPairs(f, prefix+".entry", "key", "value")
}

// snsList reads prefix.N values.
func snsList(f url.Values, prefix string) []string {
	var out []string
	for _, i := range snsIndexes(f, prefix) {
		out = append(out, f.Get(prefix+"."+strconv.Itoa(i)))
	}
	return out
}

// snsTags reads Tags.member.N.Key / .Value.
func snsTags(f url.Values) map[string]string {
	return snsPairs(f, "Tags.member", "Key", "Value")
}

// snsPairs reads the map held in prefix.N.keyName / prefix.N.valueName.
func snsPairs(f url.Values, prefix, keyName, valueName string) map[string]string {
	out := map[string]string{}
	for _, i := range snsIndexes(f, prefix) {
		p := prefix + "." + strconv.Itoa(i) + "."
		out[f.Get(p+keyName)] = f.Get(p + valueName)
	}
	return out
}

// snsMessageAttributes reads prefix.entry.N.Name / .Value.DataType /
// .Value.StringValue / .Value.BinaryValue (base64).
func snsMessageAttributes(f url.Values, prefix string) (map[string]messageAttribute, *snsError) {
	idx := snsIndexes(f, prefix+".entry")
	if len(idx) == 0 {
		return nil, nil
	}
	out := make(map[string]messageAttribute, len(idx))
	for _, i := range idx {
		p := prefix + ".entry." + strconv.Itoa(i)
		name := f.Get(p + ".Name")
		if name == "" {
			return nil, snsInvalidParameterValue("The message attribute name must not be empty.")
		}
		if _, dup := out[name]; dup {
			return nil, snsInvalidParameterValue("Message attribute name '%s' has multiple values.", name)
		}
		a := messageAttribute{DataType: f.Get(p + ".Value.DataType"), StringValue: f.Get(p + ".Value.StringValue")}
		if b64 := f.Get(p + ".Value.BinaryValue"); b64 != "" {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, snsInvalidParameterValue("The message attribute '%s' has an invalid binary value.", name)
			}
			a.BinaryValue = raw
		}
		out[name] = a
	}
	return out, nil
}

// snsEntryFromForm reads one Publish request or PublishBatch entry; prefix
// is "" or "PublishBatchRequestEntries.member.N.".
func snsEntryFromForm(f url.Values, prefix string) *snsPublishEntry {
	e := &snsPublishEntry{
		ID:               f.Get(prefix + "Id"),
		Message:          f.Get(prefix + "Message"),
		MessageStructure: f.Get(prefix + "MessageStructure"),
		GroupID:          f.Get(prefix + "MessageGroupId"),
		DedupID:          f.Get(prefix + "MessageDeduplicationId"),
	}
	if _, ok := f[prefix+"Subject"]; ok {
		e.HasSubject, e.Subject = true, f.Get(prefix+"Subject")
	}
	e.Attributes, e.Err = snsMessageAttributes(f, prefix+"MessageAttributes")
	return e
}

// ---- actions ----

func (n *snsService) queryCreateTopic(f url.Values) (any, *snsError) {
	if _, ok := f["Name"]; !ok {
		return nil, snsInvalidParameter("Invalid parameter: Name")
	}
	arn, err := n.createTopic(f.Get("Name"), snsMap(f, "Attributes"), snsTags(f))
	if err != nil {
		return nil, err
	}
	return snsCreateTopicResult{TopicArn: arn}, nil
}

func (n *snsService) queryListTopics(f url.Values) (any, *snsError) {
	arns, next, err := n.listTopics(f.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	out := snsListTopicsResult{Topics: make([]snsTopicMember, 0, len(arns)), NextToken: next}
	for _, a := range arns {
		out.Topics = append(out.Topics, snsTopicMember{TopicArn: a})
	}
	return out, nil
}

func (n *snsService) querySubscribe(f url.Values) (any, *snsError) {
	arn, err := n.subscribe(f.Get("TopicArn"), f.Get("Protocol"), f.Get("Endpoint"),
		snsMap(f, "Attributes"), strings.EqualFold(f.Get("ReturnSubscriptionArn"), "true"))
	if err != nil {
		return nil, err
	}
	return snsSubscribeResult{SubscriptionArn: arn}, nil
}

func (n *snsService) queryListSubscriptions(topicARN string, f url.Values) (any, *snsError) {
	subs, next, err := n.listSubscriptions(topicARN, f.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	out := snsListSubscriptionsResult{Subscriptions: make([]snsSubscriptionMember, 0, len(subs)), NextToken: next}
	for _, s := range subs {
		out.Subscriptions = append(out.Subscriptions, snsSubscriptionMember{
			TopicArn: s.TopicArn, Protocol: s.Protocol, SubscriptionArn: s.SubscriptionArn, Owner: s.Owner, Endpoint: s.Endpoint,
		})
	}
	return out, nil
}

func (n *snsService) queryListTags(f url.Values) (any, *snsError) {
	tags, err := n.listTags(f.Get("ResourceArn"))
	if err != nil {
		return nil, err
	}
	out := snsListTagsResult{Tags: make([]snsTagMember, 0, len(tags))}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out.Tags = append(out.Tags, snsTagMember{Key: k, Value: tags[k]})
	}
	return out, nil
}

// snsPublishTarget returns the topic a Publish addresses (TopicArn or
// TargetArn) and the parameter it came from.
func snsPublishTarget(f url.Values) (string, string, *snsError) {
	topic, target := f.Get("TopicArn"), f.Get("TargetArn")
	switch {
	case f.Get("PhoneNumber") != "" && (topic != "" || target != ""):
		return "", "", snsInvalidParameter("Invalid parameter: PhoneNumber Reason: Only one of TopicArn, TargetArn or PhoneNumber may be specified")
	case f.Get("PhoneNumber") != "":
		return f.Get("PhoneNumber"), "PhoneNumber", nil
	case topic != "" && target != "":
		return "", "", snsInvalidParameter("Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified")
	case topic != "":
		return topic, "TopicArn", nil
	case target != "":
		return target, "TargetArn", nil
	}
	return "", "", snsInvalidParameter("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
}

func (n *snsService) queryPublish(f url.Values) (any, *snsError) {
	arn, param, err := snsPublishTarget(f)
	if err != nil {
		return nil, err
	}
	e := snsEntryFromForm(f, "")
	// Publish validates the message before looking the topic up.
	if verr := e.validate(); verr != nil {
		return nil, verr
	}
	if param == "PhoneNumber" || strings.Contains(arn, ":endpoint/") {
		phone := ""
		if param == "PhoneNumber" {
			phone, arn = arn, ""
		}
		protocol := "application"
		if phone != "" {
			protocol = "sms"
		}
		id, err := n.publishDirect(arn, phone, e.messageFor(protocol))
		if err != nil {
			return nil, err
		}
		return snsPublishXML{MessageId: id}, nil
	}
	results, err := n.publish(arn, param, []*snsPublishEntry{e})
	if err != nil {
		return nil, err
	}
	if results[0].Err != nil {
		return nil, results[0].Err
	}
	return snsPublishXML{MessageId: results[0].MessageID, SequenceNumber: results[0].SequenceNumber}, nil
}

func (n *snsService) queryPublishBatch(f url.Values) (any, *snsError) {
	topicARN := f.Get("TopicArn")
	if topicARN == "" {
		return nil, snsInvalidParameter("Invalid parameter: TopicArn")
	}
	idx := snsIndexes(f, "PublishBatchRequestEntries.member")
	if len(idx) == 0 {
		return nil, snsBadRequest("EmptyBatchRequest", "The batch request doesn't contain any entries.")
	}
	if len(idx) > snsMaxBatchEntries {
		return nil, snsBadRequest("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.")
	}
	entries := make([]*snsPublishEntry, 0, len(idx))
	seen := map[string]bool{}
	total := 0
	for _, i := range idx {
		e := snsEntryFromForm(f, "PublishBatchRequestEntries.member."+strconv.Itoa(i)+".")
		if !snsBatchIDRE.MatchString(e.ID) {
			return nil, snsBadRequest("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[e.ID] {
			return nil, snsBadRequest("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
		}
		seen[e.ID] = true
		total += e.size()
		entries = append(entries, e)
	}
	if total > snsMaxMessageBytes {
		return nil, snsBadRequest("BatchRequestTooLong", "The length of all the batch messages put together is more than the limit.")
	}
	results, err := n.publish(topicARN, "TopicArn", entries)
	if err != nil {
		return nil, err
	}
	var out snsPublishBatchResult
	for _, r := range results {
		if r.Err != nil {
			out.Failed.Members = append(out.Failed.Members, snsBatchFailure{Id: r.ID, Code: r.Err.code, Message: r.Err.message, SenderFault: r.Err.status < 500})
			continue
		}
		out.Successful.Members = append(out.Successful.Members, snsBatchSuccess{Id: r.ID, MessageId: r.MessageID, SequenceNumber: r.SequenceNumber})
	}
	return out, nil
}
