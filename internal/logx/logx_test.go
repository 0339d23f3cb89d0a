package logx

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
)

// A publisher or subscriber given a logger entry (log.WithField(...)) at
// Info level must not build debug fields, the body among them, for every
// message: logrus defines IsLevelEnabled on *Logger only.
func TestDebugEnabledSeesThroughEntries(t *testing.T) {
	l := logrus.New()
	l.SetLevel(logrus.InfoLevel)
	assert.False(t, DebugEnabled(l))
	assert.False(t, DebugEnabled(l.WithField("service", "cards")))
	l.SetLevel(logrus.DebugLevel)
	assert.True(t, DebugEnabled(l))
	assert.True(t, DebugEnabled(l.WithField("service", "cards")))
}
