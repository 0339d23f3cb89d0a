package snssqs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTopicARNEveryPartition(t *testing.T) {
	cases := []struct{ partition, region string }{
		{"aws", "us-east-1"},
		{"aws", "eu-west-1"},
		{"aws", "ap-southeast-2"},
		{"aws-cn", "cn-north-1"},
		{"aws-us-gov", "us-gov-west-1"},
		{"aws-iso", "us-iso-east-1"},
		{"aws-iso-b", "us-isob-east-1"},
		{"aws-iso-e", "eu-isoe-west-1"},
		{"aws-iso-f", "us-isof-south-1"},
		{"aws-eusc", "eusc-de-east-1"},
	}
	for _, c := range cases {
		t.Run(c.partition+"/"+c.region, func(t *testing.T) {
			s := "arn:" + c.partition + ":sns:" + c.region + ":123456789012:orders"
			a, err := ParseTopicARN(s)
			require.NoError(t, err)
			assert.Equal(t, TopicARN{Partition: c.partition, Region: c.region, AccountID: "123456789012", Name: "orders"}, a)
			assert.False(t, a.FIFO())
			assert.Equal(t, s, a.String())

			fifo, err := ParseTopicARN(s + ".fifo")
			require.NoError(t, err)
			assert.True(t, fifo.FIFO())
			assert.Equal(t, "orders.fifo", fifo.Name)
		})
	}
}

func TestParseTopicARNNameRules(t *testing.T) {
	prefix := "arn:aws:sns:us-east-1:123456789012:"
	for _, name := range []string{"a", "A-b_c9", strings.Repeat("n", 256), strings.Repeat("n", 251) + ".fifo"} {
		_, err := ParseTopicARN(prefix + name)
		assert.NoError(t, err, name)
	}
	for _, name := range []string{"", ".fifo", strings.Repeat("n", 257), strings.Repeat("n", 252) + ".fifo",
		"a.b", "a b", "a/b", "ä", "a.fifo.fifo", "a*"} {
		_, err := ParseTopicARN(prefix + name)
		assert.ErrorIs(t, err, ErrInvalidARN, "name %q", name)
	}
}

func TestParseTopicARNRejectsMalformed(t *testing.T) {
	bad := map[string]string{
		"empty":               "",
		"not an arn":          "orders",
		"wrong scheme":        "urn:aws:sns:us-east-1:123456789012:orders",
		"unknown partition":   "arn:aws-xx:sns:us-east-1:123456789012:orders",
		"empty partition":     "arn::sns:us-east-1:123456789012:orders",
		"wrong service":       "arn:aws:sqs:us-east-1:123456789012:orders",
		"empty region":        "arn:aws:sns::123456789012:orders",
		"bad region":          "arn:aws:sns:US-EAST-1:123456789012:orders",
		"region no hyphen":    "arn:aws:sns:useast1:123456789012:orders",
		"region/partition":    "arn:aws:sns:cn-north-1:123456789012:orders",
		"gov in aws-cn":       "arn:aws-cn:sns:us-gov-west-1:123456789012:orders",
		"short account":       "arn:aws:sns:us-east-1:12345678901:orders",
		"long account":        "arn:aws:sns:us-east-1:1234567890123:orders",
		"letters in account":  "arn:aws:sns:us-east-1:12345678901a:orders",
		"missing name":        "arn:aws:sns:us-east-1:123456789012",
		"subscription ARN":    "arn:aws:sns:us-east-1:123456789012:orders:8a21d249-4329-4871-acc6-7be709c6ea7f",
		"queue URL":           "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
		"trailing whitespace": "arn:aws:sns:us-east-1:123456789012:orders ",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTopicARN(s)
			assert.ErrorIs(t, err, ErrInvalidARN)
		})
	}
}

func TestPartitionAndBuildTopicARN(t *testing.T) {
	cases := map[string]string{
		"us-east-1":       "aws",
		"eu-central-2":    "aws",
		"il-central-1":    "aws",
		"mx-central-1":    "aws",
		"cn-north-1":      "aws-cn",
		"cn-northwest-1":  "aws-cn",
		"us-gov-east-1":   "aws-us-gov",
		"us-iso-east-1":   "aws-iso",
		"us-isob-east-1":  "aws-iso-b",
		"eu-isoe-west-1":  "aws-iso-e",
		"us-isof-south-1": "aws-iso-f",
		"eusc-de-east-1":  "aws-eusc",
	}
	for region, partition := range cases {
		t.Run(region, func(t *testing.T) {
			assert.Equal(t, partition, partitionForRegion(region))
			s := BuildTopicARN(region, "123456789012", "orders.fifo")
			assert.Equal(t, "arn:"+partition+":sns:"+region+":123456789012:orders.fifo", s)
			a, err := ParseTopicARN(s)
			require.NoError(t, err, "a built ARN parses")
			assert.Equal(t, partition, a.Partition)
			assert.True(t, a.FIFO())
		})
	}
}
