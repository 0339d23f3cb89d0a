package exampletest

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
)

// AssertNoWarnings fails t for every entry logged at Warn level or above:
// an example that did its work without trouble logs none.
func AssertNoWarnings(t *testing.T, entries []*logrus.Entry) {
	t.Helper()
	for _, e := range entries {
		assert.Greater(t, e.Level, logrus.WarnLevel, "unexpected %s: %s %v", e.Level, e.Message, e.Data)
	}
}

// Messages returns the messages of entries, in order, for assertions and
// failure output.
func Messages(entries []*logrus.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Message
	}
	return out
}
