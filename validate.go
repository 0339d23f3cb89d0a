package snssqs

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/snssqs/snssqs/internal/awslimits"
	"github.com/snssqs/snssqs/internal/codec"
)

// SNS limits the Publisher enforces before sending.
const (
	// MaxSNSMessageSize is the SNS limit in bytes on one message, attributes
	// included, and on the total payload of one PublishBatch request.
	MaxSNSMessageSize = awslimits.MaxSNSMessageSize
	// MaxSQSMessageSize is the SQS limit in bytes on one message, attributes
	// included, and on the total payload of one SendMessageBatch request
	// (1 MiB since August 2025).
	MaxSQSMessageSize = awslimits.MaxSQSMessageSize
	// MaxMessageAttributes is the SNS limit on message attributes per message; the
	// ce_type attribute the Publisher adds counts toward it.
	MaxMessageAttributes = 10
	// MaxPublishBatchEntries is the SNS limit on entries per PublishBatch request.
	MaxPublishBatchEntries = awslimits.MaxBatchEntries

	maxAttributeNameLen = 256
	maxDataTypeLen      = 256
	maxFIFOIDLen        = 128
	maxNumberPrecision  = 38
	minNumberExponent   = -128
	maxNumberExponent   = 126
)

// validateAttributeName applies the SNS rules for message attribute names:
// 1-256 characters of A-Z, a-z, 0-9, "_", "-" and "."; no leading or
// trailing period and no two periods in a row; no "AWS." or "Amazon." prefix
// in any case, as those are reserved for AWS.
func validateAttributeName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty attribute name", ErrInvalidAttribute)
	case len(name) > maxAttributeNameLen:
		return fmt.Errorf("%w: attribute name %.32q... is %d characters, over the limit of %d", ErrInvalidAttribute, name, len(name), maxAttributeNameLen)
	case name[0] == '.' || name[len(name)-1] == '.':
		return fmt.Errorf("%w: attribute name %q starts or ends with a period", ErrInvalidAttribute, name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%w: attribute name %q has two successive periods", ErrInvalidAttribute, name)
	case hasPrefixFold(name, "AWS.") || hasPrefixFold(name, "Amazon."):
		return fmt.Errorf("%w: attribute name %q uses a prefix reserved for AWS", ErrInvalidAttribute, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !asciiAlnum(c) && c != '_' && c != '-' && c != '.' {
			return fmt.Errorf("%w: attribute name %q has invalid character %q (allowed: A-Z a-z 0-9 _ - .)", ErrInvalidAttribute, name, c)
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validateAttribute checks an attribute's data type and value: the data type
// is String, Number or Binary, optionally followed by ".customType"; String
// and Number attributes carry a non-empty StringValue of valid message
// characters (a Number one a decimal number SNS accepts: at most 38
// significant digits, magnitude between 10^-128 and 10^126), String.Array a
// JSON array, and Binary attributes a non-empty BinaryValue.
func validateAttribute(name string, a Attribute) error {
	if err := validateDataType(a.DataType); err != nil {
		return fmt.Errorf("%w: attribute %q: %v", ErrInvalidAttribute, name, err)
	}
	if a.IsBinary() {
		if len(a.BinaryValue) == 0 {
			return fmt.Errorf("%w: attribute %q: empty %s value", ErrInvalidAttribute, name, a.DataType)
		}
		if a.StringValue != "" {
			return fmt.Errorf("%w: attribute %q: %s attribute has a StringValue", ErrInvalidAttribute, name, a.DataType)
		}
		return nil
	}
	if a.BinaryValue != nil {
		return fmt.Errorf("%w: attribute %q: %s attribute has a BinaryValue", ErrInvalidAttribute, name, a.DataType)
	}
	if a.StringValue == "" {
		return fmt.Errorf("%w: attribute %q: empty %s value", ErrInvalidAttribute, name, a.DataType)
	}
	if !validMessageText(a.StringValue) {
		return fmt.Errorf("%w: attribute %q: value has invalid UTF-8 or characters SNS does not allow", ErrInvalidAttribute, name)
	}
	switch {
	case baseType(a.DataType) == DataTypeNumber:
		if !validNumber(a.StringValue) {
			return fmt.Errorf("%w: attribute %q: %q is not a number SNS accepts", ErrInvalidAttribute, name, a.StringValue)
		}
	case a.DataType == "String.Array":
		var arr []json.RawMessage
		if err := json.Unmarshal([]byte(a.StringValue), &arr); err != nil {
			return fmt.Errorf("%w: attribute %q: String.Array value is not a JSON array", ErrInvalidAttribute, name)
		}
	}
	return nil
}

// validateDataType accepts String, Number and Binary, each optionally
// followed by a period and a custom type label of A-Z, a-z, 0-9, "_", "-"
// and ".".
func validateDataType(dt string) error {
	base := baseType(dt)
	switch base {
	case DataTypeString, DataTypeNumber, DataTypeBinary:
	default:
		return fmt.Errorf("data type %q is not String, Number or Binary (optionally with a .customType suffix)", dt)
	}
	if len(dt) > maxDataTypeLen {
		return fmt.Errorf("data type is %d characters, over the limit of %d", len(dt), maxDataTypeLen)
	}
	if len(dt) == len(base) {
		return nil
	}
	custom := dt[len(base)+1:]
	if custom == "" {
		return fmt.Errorf("data type %q has an empty custom type", dt)
	}
	for i := 0; i < len(custom); i++ {
		if c := custom[i]; !asciiAlnum(c) && c != '_' && c != '-' && c != '.' {
			return fmt.Errorf("data type %q has invalid character %q in its custom type", dt, c)
		}
	}
	return nil
}

// validMessageText reports whether s is valid UTF-8 made only of the
// characters SNS and SQS accept: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD
// and #x10000-#x10FFFF.
func validMessageText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		if (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// validNumber reports whether s is a decimal number SNS accepts for a Number
// attribute: an optional sign, digits with an optional decimal point, an
// optional exponent; at most 38 significant digits; zero or a magnitude
// between 10^-128 and 10^126.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	intStart := i
	for i < len(s) && asciiDigit(s[i]) {
		i++
	}
	intDigits := s[intStart:i]
	var fracDigits string
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && asciiDigit(s[i]) {
			i++
		}
		fracDigits = s[fracStart:i]
	}
	if intDigits == "" && fracDigits == "" {
		return false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		expStart := i
		for i < len(s) && asciiDigit(s[i]) {
			if i-expStart >= 6 { // far outside the allowed range
				return false
			}
			exp = exp*10 + int(s[i]-'0')
			i++
		}
		if i == expStart {
			return false
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return false
	}
	digits := intDigits + fracDigits
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	sig := strings.TrimRight(digits[lead:], "0")
	if sig == "" {
		return true // zero
	}
	if len(sig) > maxNumberPrecision {
		return false
	}
	// The value is 0.sig × 10^(magnitude+1); its leading digit has the
	// decimal exponent magnitude.
	magnitude := len(intDigits) - lead - 1 + exp
	if magnitude < minNumberExponent || magnitude > maxNumberExponent {
		return false
	}
	return magnitude < maxNumberExponent || sig == "1"
}

func asciiDigit(c byte) bool { return c >= '0' && c <= '9' }

// validateFIFOID checks a message group id or deduplication id: 1-128
// characters of ASCII letters, digits and punctuation.
func validateFIFOID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidEvent, kind)
	}
	if len(id) > maxFIFOIDLen {
		return fmt.Errorf("%w: %s is %d characters, over the limit of %d", ErrInvalidEvent, kind, len(id), maxFIFOIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: %s %q has invalid character %q (allowed: ASCII letters, digits and punctuation)", ErrInvalidEvent, kind, id, c)
		}
	}
	return nil
}

// validateExtensionName applies the CloudEvents rule for extension attribute
// names (lowercase ASCII letters and digits; the spec recommends at most 20
// characters) and rejects the names of the core attributes.
func validateExtensionName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty CloudEvents extension name", ErrInvalidEvent)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("%w: CloudEvents extension name %q has invalid character %q (allowed: a-z 0-9)", ErrInvalidEvent, name, c)
		}
	}
	if codec.IsEnvelopeKey(name) {
		return fmt.Errorf("%w: CloudEvents extension name %q is a core attribute", ErrInvalidEvent, name)
	}
	return nil
}

// messageSize returns the size SNS counts against its message size limit:
// the body plus, for each attribute, its name, data type and value.
func messageSize(body string, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for name, a := range attrs {
		n += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
	}
	return n
}
