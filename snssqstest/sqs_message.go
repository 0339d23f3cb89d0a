package snssqstest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message validation, size accounting and checksums, as SQS does them.

const maxMessageAttributes = 10

var (
	attrNameRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	numberRE     = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
	fifoIDRE     = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")
	dataTypeBase = []string{"String", "Number", "Binary"}
)

// buildMessage validates e against queue x and returns the message (without
// id and sender) and its delay.
func buildMessage(x *queue, e sendEntry) (*sqsMessage, time.Duration, *sqsError) {
	cfg := x.config()
	if !e.HasBody || e.Body == "" {
		return nil, 0, errMissingParameter("MessageBody")
	}
	if !validMessageChars(e.Body) {
		return nil, 0, errInvalidMessageContents()
	}
	if err := validateMessageAttributes(e.Attributes); err != nil {
		return nil, 0, err
	}
	for name, a := range e.SystemAttributes {
		if name != "AWSTraceHeader" {
			return nil, 0, errInvalidParameterValue("Message system attribute name '%s' is invalid.", name)
		}
		if a.DataType != "String" || a.StringValue == "" {
			return nil, 0, errInvalidParameterValue("Message system attribute '%s' must contain a non-empty value of type 'String'.", name)
		}
	}
	if size := messageSize(e.Body, e.Attributes); size > cfg.maxMessageSize {
		return nil, 0, errInvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", cfg.maxMessageSize)
	}
	delay := time.Duration(cfg.delaySeconds) * time.Second
	if e.DelaySeconds != nil {
		d := *e.DelaySeconds
		if x.fifo && d != 0 { // 0 is valid: no delay of its own
			return nil, 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", d)
		}
		if d < 0 || d > maxDelaySeconds {
			return nil, 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", d)
		}
		delay = time.Duration(d) * time.Second
	}
	m := &sqsMessage{
		body:        e.Body,
		attrs:       e.Attributes,
		sysAttrs:    e.SystemAttributes,
		md5Body:     md5Hex(e.Body),
		md5Attrs:    md5OfAttributes(e.Attributes),
		md5SysAttrs: md5OfAttributes(e.SystemAttributes),
		groupID:     e.GroupID,
		dedupID:     e.DedupID,
	}
	if x.fifo {
		if e.GroupID == "" {
			return nil, 0, errMissingParameter("MessageGroupId")
		}
		if !fifoIDRE.MatchString(e.GroupID) {
			return nil, 0, errInvalidParameterValue("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", e.GroupID)
		}
		if m.dedupID == "" {
			if !cfg.contentDedup {
				return nil, 0, errInvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(e.Body))
			m.dedupID = hex.EncodeToString(sum[:])
		} else if !fifoIDRE.MatchString(m.dedupID) {
			return nil, 0, errInvalidParameterValue("Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.", m.dedupID)
		}
	} else {
		if e.DedupID != "" {
			return nil, 0, errInvalidParameterValue("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.", e.DedupID)
		}
		if e.GroupID != "" && !fifoIDRE.MatchString(e.GroupID) {
			return nil, 0, errInvalidParameterValue("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", e.GroupID)
		}
	}
	return m, delay, nil
}

// validMessageChars reports whether s holds only the characters SQS allows:
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func validMessageChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// validateMessageAttributes applies SQS's rules for names, data types and
// values of message attributes.
func validateMessageAttributes(attrs map[string]messageAttribute) *sqsError {
	if len(attrs) > maxMessageAttributes {
		return errInvalidParameterValue("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttributes)
	}
	for name, a := range attrs {
		lower := strings.ToLower(name)
		if !attrNameRE.MatchString(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") ||
			strings.Contains(name, "..") || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
			return errInvalidParameterValue("Message (user) attribute name '%s' is invalid. The attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters, must not start or end with a period or contain consecutive periods, and must not start with AWS. or Amazon.", name)
		}
		if a.DataType == "" {
			return errInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		base := dataTypeBaseOf(a.DataType)
		if base == "" || len(a.DataType) > 256 {
			return errInvalidParameterValue("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		switch base {
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return errInvalidParameterValue("The message attribute '%s' with type 'Binary' must use field 'Binary'.", name)
			}
		default:
			if a.StringValue == "" {
				return errInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
			}
			if !validMessageChars(a.StringValue) {
				return errInvalidMessageContents()
			}
			if base == "Number" && !numberRE.MatchString(a.StringValue) {
				return errInvalidParameterValue("Value %s for parameter MessageAttributes.%s is invalid. Reason: Could not parse the number.", a.StringValue, name)
			}
		}
	}
	return nil
}

// dataTypeBaseOf returns String, Number or Binary for a data type such as
// "Number.float", or "" when it is none of them.
func dataTypeBaseOf(dt string) string {
	for _, b := range dataTypeBase {
		if dt == b {
			return b
		}
		if rest, ok := strings.CutPrefix(dt, b+"."); ok && rest != "" {
			return b
		}
	}
	return ""
}

// messageSize is what counts against MaximumMessageSize: the body plus each
// attribute's name, data type and value.
func messageSize(body string, attrs map[string]messageAttribute) int {
	n := len(body)
	for name, a := range attrs {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: over the attributes
// sorted by name, each as length-prefixed (4-byte big-endian) name and data
// type, a transport byte (1 string/number, 2 binary) and the
// length-prefixed value. Empty when there are no attributes.
func md5OfAttributes(attrs map[string]messageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var lenBuf [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(lenBuf[:], uint32(len(b)))
		h.Write(lenBuf[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if dataTypeBaseOf(a.DataType) == "Binary" {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// systemAttrNames are the message system attributes ReceiveMessage returns.
var systemAttrNames = []string{
	"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
}

// systemAttrSelector returns the set of system attributes requested ("All"
// selects every one; unknown names are ignored, as the deprecated
// AttributeNames list also carries queue attribute names).
func systemAttrSelector(names []string) map[string]bool {
	sel := make(map[string]bool)
	for _, n := range names {
		if n == "All" {
			for _, a := range systemAttrNames {
				sel[a] = true
			}
			return sel
		}
		sel[n] = true
	}
	return sel
}

// selectMessageAttributes filters attrs by MessageAttributeNames: "All" or
// ".*" for every one, "prefix.*" for a prefix, else exact names.
func selectMessageAttributes(attrs map[string]messageAttribute, names []string) map[string]messageAttribute {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := make(map[string]messageAttribute)
	for _, want := range names {
		if want == "All" || want == ".*" {
			return attrs
		}
		if prefix, ok := strings.CutSuffix(want, ".*"); ok {
			for n, a := range attrs {
				if strings.HasPrefix(n, prefix+".") {
					out[n] = a
				}
			}
			continue
		}
		if a, ok := attrs[want]; ok {
			out[want] = a
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// renderDelivery builds a ReceiveMessage entry.
func renderDelivery(d delivery, sys map[string]bool, msgAttrNames []string) receivedMessage {
	m := d.msg
	rm := receivedMessage{
		MessageID:     m.id,
		ReceiptHandle: d.receipt,
		Body:          m.body,
		MD5Body:       m.md5Body,
	}
	if len(sys) > 0 {
		ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
		all := map[string]string{
			"SenderId":                         m.senderID,
			"SentTimestamp":                    ms(m.sentAt),
			"ApproximateReceiveCount":          strconv.Itoa(d.receiveCount),
			"ApproximateFirstReceiveTimestamp": ms(d.firstReceiveAt),
		}
		if m.groupID != "" {
			all["MessageGroupId"] = m.groupID
		}
		if m.seq != "" {
			all["SequenceNumber"] = m.seq
			all["MessageDeduplicationId"] = m.dedupID
		}
		if th, ok := m.sysAttrs["AWSTraceHeader"]; ok {
			all["AWSTraceHeader"] = th.StringValue
		}
		if m.dlqSource != "" {
			all["DeadLetterQueueSourceArn"] = m.dlqSource
		}
		rm.Attributes = make(map[string]string)
		for k, v := range all {
			if sys[k] {
				rm.Attributes[k] = v
			}
		}
	}
	if sel := selectMessageAttributes(m.attrs, msgAttrNames); len(sel) > 0 {
		rm.MessageAttributes = sel
		rm.MD5Attrs = md5OfAttributes(sel)
	}
	return rm
}
