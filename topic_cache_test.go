package snssqs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopicCache(t *testing.T) {
	var c topicCache
	want, err := ParseTopicARN(benchPubTopic)
	require.NoError(t, err)
	for range 2 { // parsed, then from the cache
		got, err := c.parse(benchPubTopic)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for range 2 { // invalid ARNs fail every time and are not remembered
		_, err := c.parse("arn:aws:sqs:eu-west-1:123456789012:cards")
		assert.True(t, errors.Is(err, ErrInvalidARN), "%v", err)
	}
	assert.Len(t, *c.parsed.Load(), 1)

	for i := range maxCachedTopics + 10 {
		arn := fmt.Sprintf("arn:aws:sns:eu-west-1:123456789012:t%d", i)
		got, err := c.parse(arn)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("t%d", i), got.Name)
	}
	assert.Len(t, *c.parsed.Load(), maxCachedTopics, "the cache is bounded; topics past the bound are still parsed")
}
