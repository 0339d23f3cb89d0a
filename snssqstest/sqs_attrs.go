package snssqstest

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Queue attribute validation and canonical forms, for CreateQueue and
// SetQueueAttributes.

// queueAttrRange is the inclusive range of a numeric queue attribute.
var queueAttrRange = map[string][2]int{
	"VisibilityTimeout":             {0, maxVisibilityTimeout},
	"DelaySeconds":                  {0, maxDelaySeconds},
	"ReceiveMessageWaitTimeSeconds": {0, maxWaitTimeSeconds},
	"MessageRetentionPeriod":        {60, 1209600},
	"MaximumMessageSize":            {1024, maxMessageSizeLimit},
	"KmsDataKeyReusePeriodSeconds":  {60, 86400},
}

// readOnlyQueueAttrs are returned by GetQueueAttributes but cannot be set.
var readOnlyQueueAttrs = map[string]bool{
	"QueueArn": true, "ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true,
	"ApproximateNumberOfMessagesDelayed": true, "CreatedTimestamp": true, "LastModifiedTimestamp": true,
}

// knownQueueAttribute reports whether GetQueueAttributes accepts name.
func knownQueueAttribute(name string) bool {
	if readOnlyQueueAttrs[name] {
		return true
	}
	switch name {
	case "Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "SqsManagedSseEnabled",
		"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit":
		return true
	}
	_, ok := queueAttrRange[name]
	return ok
}

// normalizeQueueAttrs validates attributes for a queue (fifo or not) and
// returns their canonical values. An empty value of an optional attribute
// (RedrivePolicy, Policy, ...) means "remove" to SetQueueAttributes.
func (q *sqsService) normalizeQueueAttrs(attrs map[string]string, fifo, creating bool) (map[string]string, *sqsError) {
	out := make(map[string]string, len(attrs))
	for name, v := range attrs {
		if r, ok := queueAttrRange[name]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < r[0] || n > r[1] {
				return nil, errInvalidAttributeValue(name)
			}
			out[name] = strconv.Itoa(n)
			continue
		}
		switch name {
		case "FifoQueue":
			if !creating {
				return nil, errInvalidAttributeName("Unknown Attribute %s.", name)
			}
			b, ok := parseBool(v)
			if !ok || b != fifo {
				return nil, errInvalidAttributeValue(name)
			}
			if fifo {
				out[name] = "true"
			}
		case "ContentBasedDeduplication":
			b, ok := parseBool(v)
			if !ok {
				return nil, errInvalidAttributeValue(name)
			}
			if !fifo {
				return nil, errInvalidAttributeName("Unknown Attribute %s.", name)
			}
			out[name] = strconv.FormatBool(b)
		case "SqsManagedSseEnabled":
			b, ok := parseBool(v)
			if !ok {
				return nil, errInvalidAttributeValue(name)
			}
			out[name] = strconv.FormatBool(b)
		case "DeduplicationScope", "FifoThroughputLimit":
			if !fifo {
				return nil, errInvalidAttributeName("Unknown Attribute %s.", name)
			}
			allowed := map[string][]string{
				"DeduplicationScope":  {"messageQueue", "messageGroup", "queue"},
				"FifoThroughputLimit": {"perQueue", "perMessageGroupId"},
			}[name]
			okv := false
			for _, a := range allowed {
				okv = okv || a == v
			}
			if !okv {
				return nil, errInvalidAttributeValue(name)
			}
			out[name] = v
		case "Policy", "RedriveAllowPolicy":
			if v != "" && !json.Valid([]byte(v)) {
				return nil, errInvalidAttributeValue(name)
			}
			out[name] = v
		case "KmsMasterKeyId":
			out[name] = v
		case "RedrivePolicy":
			if v == "" {
				out[name] = ""
				continue
			}
			p, err := parseRedrivePolicy(v)
			if err != nil {
				return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: %s", v, err.Error())
			}
			dlq := q.queueByARN(p.arn)
			if dlq == nil {
				return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", v)
			}
			if dlq.fifo != fifo {
				return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target must be the same type of queue as the source queue.", v)
			}
			out[name] = p.canonical()
		default:
			return nil, errInvalidAttributeName("Unknown Attribute %s.", name)
		}
	}
	return out, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

type redrivePolicy struct {
	arn             string
	maxReceiveCount int
}

type redrivePolicyError string

func (e redrivePolicyError) Error() string { return string(e) }

// parseRedrivePolicy reads {"deadLetterTargetArn":..., "maxReceiveCount":...}
// where maxReceiveCount may be a number or a numeric string.
func parseRedrivePolicy(v string) (redrivePolicy, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return redrivePolicy{}, redrivePolicyError("Redrive policy is not a valid JSON map.")
	}
	var p redrivePolicy
	if err := json.Unmarshal(raw["deadLetterTargetArn"], &p.arn); err != nil || p.arn == "" {
		return redrivePolicy{}, redrivePolicyError("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	mrc, ok := raw["maxReceiveCount"]
	if !ok {
		return redrivePolicy{}, redrivePolicyError("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	var s string
	if json.Unmarshal(mrc, &s) != nil {
		s = string(mrc)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 1000 {
		return redrivePolicy{}, redrivePolicyError("Value for maxReceiveCount must be an integer between 1 and 1000.")
	}
	p.maxReceiveCount = n
	return p, nil
}

func (p redrivePolicy) canonical() string {
	b, _ := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{p.arn, p.maxReceiveCount})
	return string(b)
}
