package snssqs

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/stretchr/testify/assert"
)

func TestValidateAttributeName(t *testing.T) {
	for _, ok := range []string{"a", "tenant", "Tenant_ID", "x-y.z", "a.b.c", strings.Repeat("n", 256), "AWSx", "Amazonian", "my.AWS.x"} {
		assert.NoError(t, validateAttributeName(ok), ok)
	}
	for _, bad := range []string{"", strings.Repeat("n", 257), ".a", "a.", "a..b", "AWS.x", "aws.x", "Aws.X",
		"Amazon.x", "AMAZON.x", "amazon.sns", "a b", "a/b", "a:b", "é", "a*"} {
		assert.ErrorIs(t, validateAttributeName(bad), ErrInvalidAttribute, "%q", bad)
	}
}

func TestValidateAttribute(t *testing.T) {
	valid := map[string]Attribute{
		"string":        StringAttribute("x"),
		"custom string": {DataType: "String.uuid", StringValue: "8a21d249"},
		"string array":  {DataType: "String.Array", StringValue: `["a", 1, true]`},
		"number":        NumberAttribute("-12.5e3"),
		"custom number": {DataType: "Number.float", StringValue: "1.5"},
		"binary":        BinaryAttribute([]byte{0, 1, 2}),
		"custom binary": {DataType: "Binary.gif", BinaryValue: []byte{1}},
		"unicode":       StringAttribute("ünïcødé 🚀\t\n"),
	}
	for name, a := range valid {
		assert.NoError(t, validateAttribute("n", a), name)
	}
	invalid := map[string]Attribute{
		"empty data type":        {StringValue: "x"},
		"unknown data type":      {DataType: "Integer", StringValue: "1"},
		"lowercase data type":    {DataType: "string", StringValue: "x"},
		"empty custom type":      {DataType: "String.", StringValue: "x"},
		"bad custom type":        {DataType: "String.a b", StringValue: "x"},
		"long data type":         {DataType: "String." + strings.Repeat("t", 250), StringValue: "x"},
		"empty string":           StringAttribute(""),
		"empty number":           NumberAttribute(""),
		"not a number":           NumberAttribute("twelve"),
		"empty binary":           BinaryAttribute(nil),
		"binary with string":     {DataType: DataTypeBinary, BinaryValue: []byte{1}, StringValue: "x"},
		"string with binary":     {DataType: DataTypeString, StringValue: "x", BinaryValue: []byte{1}},
		"string array not array": {DataType: "String.Array", StringValue: `{"a":1}`},
		"invalid utf8":           StringAttribute("\xff"),
		"control character":      StringAttribute("a\x00b"),
		"noncharacter":           StringAttribute("a\uFFFEb"),
	}
	for name, a := range invalid {
		assert.ErrorIs(t, validateAttribute("n", a), ErrInvalidAttribute, name)
	}
}

func TestValidNumber(t *testing.T) {
	for _, ok := range []string{"0", "-0", "+1", "42", "007", "3.14", ".5", "5.", "-1e10", "1E+5", "2.5e-3",
		"0.000", strings.Repeat("9", 38), "1" + strings.Repeat("0", 100), "1e126", "1e-128", "12345678901234567890123456789012345678e10"} {
		assert.True(t, validNumber(ok), ok)
	}
	for _, bad := range []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "0x10", "Inf", "NaN", "1_000",
		" 1", "1 ", strings.Repeat("9", 39), "1.000000000000000000000000000000000000001", "2e126", "1.1e126",
		"1e127", "1e-129", "1e9999999"} {
		assert.False(t, validNumber(bad), bad)
	}
}

func TestValidateFIFOID(t *testing.T) {
	for _, ok := range []string{"g", "order-123", `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`", strings.Repeat("i", 128)} {
		assert.NoError(t, validateFIFOID("group id", ok), ok)
	}
	for _, bad := range []string{"", strings.Repeat("i", 129), "a b", "é", "a\tb"} {
		assert.ErrorIs(t, validateFIFOID("group id", bad), ErrInvalidEvent, bad)
	}
}

func TestValidateExtensionName(t *testing.T) {
	for _, ok := range []string{"traceparent", "tenant", "a1", "partitionkey", strings.Repeat("x", 30)} {
		assert.NoError(t, validateExtensionName(ok), ok)
	}
	for _, bad := range []string{"", "traceParent", "trace_parent", "trace-parent", "é",
		"id", "type", "source", "specversion", "time", "subject", "datacontenttype", "dataschema", "data"} {
		assert.ErrorIs(t, validateExtensionName(bad), ErrInvalidEvent, bad)
	}
}

func TestMessageSizeCountsAsSNS(t *testing.T) {
	attrs := map[string]types.MessageAttributeValue{
		"ce_type": {DataType: aws.String("String"), StringValue: aws.String("card.created")},
		"blob":    {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
	}
	want := len("body!") + len("ce_type") + len("String") + len("card.created") + len("blob") + len("Binary") + 3
	assert.Equal(t, want, messageSize("body!", attrs))
}
