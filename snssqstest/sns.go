package snssqstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// snsPageSize is how many rows ListTopics and ListSubscriptions(ByTopic)
// return a page.
const snsPageSize = 100

// snsDefaultEffectiveDeliveryPolicy is the EffectiveDeliveryPolicy AWS
// reports for topics and for http(s) subscriptions.
const snsDefaultEffectiveDeliveryPolicy = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`

// snsService is the SNS half of the emulator: topics, subscriptions and
// publishing, with synchronous delivery to subscribed SQS queues.
type snsService struct {
	s               *Server
	account, region string // of every topic here: the server holds one service per account and region

	mu     sync.Mutex
	topics map[string]*snsTopic        // by ARN
	subs   map[string]*snsSubscription // by ARN
	subSeq uint64                      // creation order of subscriptions

	// deliveryFailures counts deliveries SQS refused (missing queue, ...),
	// after any redrive to the subscription's dead-letter queue.
	deliveryFailures atomic.Int64

	endpoints *snsEndpoints // subscriptions that are not SQS queues
	mobile    snsMobile     // platform applications, SMS; guarded by mu
}

// snsError is an SNS error as the query protocol reports it.
type snsError struct {
	status  int
	code    string
	message string
}

func (e *snsError) Error() string { return e.code + ": " + e.message }

// snsBadRequest is a client error (HTTP 400) with the given code.
func snsBadRequest(code, message string) *snsError {
	return &snsError{status: http.StatusBadRequest, code: code, message: message}
}

func snsInvalidParameter(format string, args ...any) *snsError {
	return snsBadRequest("InvalidParameter", fmt.Sprintf(format, args...))
}

// snsInvalidParameterValue is InvalidParameterValueException, whose query
// protocol code is ParameterValueInvalid.
func snsInvalidParameterValue(format string, args ...any) *snsError {
	return snsBadRequest("ParameterValueInvalid", fmt.Sprintf(format, args...))
}

func snsTopicNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "NotFound", message: "Topic does not exist"}
}

func snsSubscriptionNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "NotFound", message: "Subscription does not exist"}
}

func snsResourceNotFound() *snsError {
	return &snsError{status: http.StatusNotFound, code: "ResourceNotFound", message: "Resource does not exist"}
}

func newSNSService(s *Server, account, region string) *snsService {
	return &snsService{s: s, account: account, region: region, topics: make(map[string]*snsTopic), subs: make(map[string]*snsSubscription), endpoints: s.endpoints}
}

func (n *snsService) topicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", n.region, n.account, name)
}

// snsParseTopicARN checks an ARN has the shape arn:PARTITION:sns:REGION:ACCOUNT:NAME.
func snsParseTopicARN(arn, param string) *snsError {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sns" || p[5] == "" {
		return snsInvalidParameter("Invalid parameter: %s", param)
	}
	return nil
}

// snsQueueARN reports whether arn looks like arn:PARTITION:sqs:REGION:ACCOUNT:NAME
// and returns the queue name.
func snsQueueARN(arn string) (string, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[3] == "" || p[4] == "" || p[5] == "" {
		return "", false
	}
	return p[5], true
}

func snsBool(name, v string) (bool, *snsError) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, snsInvalidParameter("Invalid parameter: Attributes Reason: %s: Invalid value [%s]. Must be true or false.", name, v)
}

// snsValidateJSON checks that a JSON-valued attribute (empty to unset) parses.
func snsValidateJSON(name, value string) *snsError {
	if value != "" && !json.Valid([]byte(value)) {
		return snsInvalidParameter("Invalid parameter: %s: failed to parse JSON", name)
	}
	return nil
}

// snsSetOrDelete stores an attribute, or removes it when value is empty.
func snsSetOrDelete(attrs map[string]string, name, value string) {
	if value == "" {
		delete(attrs, name)
		return
	}
	attrs[name] = value
}

func snsEncodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func snsDecodeToken(tok string) (string, *snsError) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", snsInvalidParameter("Invalid parameter: NextToken")
	}
	return string(b), nil
}

// snsAttrBaseType returns the type a data type is based on: "String" for
// "String", "String.Array" or "String.custom".
func snsAttrBaseType(dataType string) string {
	base, _, _ := strings.Cut(dataType, ".")
	return base
}

// snsIsStringArray reports the String.Array data type, whose value is a
// JSON array that filter policies match element by element.
func snsIsStringArray(dataType string) bool { return dataType == "String.Array" }
