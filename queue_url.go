package snssqs

import (
	"fmt"
	"net/url"
	"strings"
)

// maxQueueNameLen is the SQS limit on queue names, ".fifo" included.
const maxQueueNameLen = 80

// queueRef is a parsed SQS queue URL.
type queueRef struct {
	url  string
	name string // the last path segment, ".fifo" included
}

// FIFO reports whether the queue is a FIFO queue (its name ends in ".fifo").
func (q queueRef) FIFO() bool { return strings.HasSuffix(q.name, fifoSuffix) }

// parseQueueURL checks that s is an SQS queue URL, as GetQueueUrl and
// CreateQueue return it: http or https, a host, and a path ending in the
// queue name (https://sqs.us-east-1.amazonaws.com/123456789012/orders;
// LocalStack and emulators put the account and name on their own host). The
// name has 1 to 80 characters of A-Z, a-z, 0-9, "-" and "_", with an
// optional ".fifo" suffix counted in the 80. Errors wrap ErrInvalidQueueURL.
func parseQueueURL(s string) (queueRef, error) {
	u, err := url.Parse(s)
	if err != nil {
		return queueRef{}, fmt.Errorf("%w: %q: %v", ErrInvalidQueueURL, s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return queueRef{}, fmt.Errorf("%w: %q is not an http(s) URL of a queue", ErrInvalidQueueURL, s)
	}
	path := strings.TrimSuffix(u.Path, "/")
	name := path[strings.LastIndex(path, "/")+1:]
	base := strings.TrimSuffix(name, fifoSuffix)
	if base == "" || len(name) > maxQueueNameLen {
		return queueRef{}, fmt.Errorf("%w: %q: the queue name must have 1 to %d characters", ErrInvalidQueueURL, s, maxQueueNameLen)
	}
	for i := 0; i < len(base); i++ {
		if c := base[i]; !asciiAlnum(c) && c != '-' && c != '_' {
			return queueRef{}, fmt.Errorf("%w: %q: queue name %q has invalid character %q (allowed: A-Z a-z 0-9 - _)", ErrInvalidQueueURL, s, name, c)
		}
	}
	return queueRef{url: s, name: name}, nil
}
