package snssqs

import (
	"maps"
	"sync"
	"sync/atomic"
)

// maxCachedTopics bounds the topics a Publisher remembers as parsed; more
// are parsed on every call.
const maxCachedTopics = 1024

// topicCache remembers the valid topic ARNs a Publisher has parsed, so that
// a Publish to a known topic reads a map instead of validating the ARN
// again. Reads take no lock: the map is replaced, never changed.
type topicCache struct {
	parsed atomic.Pointer[map[string]TopicARN]
	mu     sync.Mutex // serializes replacements
}

// parse returns ParseTopicARN(s), from the cache when s was seen before.
func (c *topicCache) parse(s string) (TopicARN, error) {
	if m := c.parsed.Load(); m != nil {
		if t, ok := (*m)[s]; ok {
			return t, nil
		}
	}
	t, err := ParseTopicARN(s)
	if err != nil {
		return t, err // invalid ARNs are not remembered
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]TopicARN)
	if old := c.parsed.Load(); old != nil {
		if len(*old) >= maxCachedTopics {
			return t, nil
		}
		maps.Copy(m, *old)
	}
	m[s] = t
	c.parsed.Store(&m)
	return t, nil
}
