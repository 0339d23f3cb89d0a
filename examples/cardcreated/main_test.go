package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun runs the whole example against the embedded emulator and checks
// that Service 2 logged the article's line with the event Service 1 sent.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 10*time.Second, "-timeout=20s")

	var published, got []string
	bodyLine := regexp.MustCompile(`^got new message\. Body (\{.*\})$`)
	for _, e := range entries {
		assert.Greater(t, e.Level, logrus.WarnLevel, "unexpected %s: %s %v", e.Level, e.Message, e.Data)
		if e.Message == "card created, event published" {
			published = append(published, e.Data["cardId"].(string))
		}
		if m := bodyLine.FindStringSubmatch(e.Message); m != nil {
			var card CardCreated
			require.NoError(t, json.Unmarshal([]byte(m[1]), &card))
			assert.Equal(t, `{"cardId":"`+card.CardID+`","userId":"`+card.UserID+`"}`, m[1], "the body is exactly the event JSON")
			assert.Equal(t, logrus.InfoLevel, e.Level)
			got = append(got, card.CardID)
		}
	}
	require.Len(t, published, 1, exampletest.Messages(entries))
	assert.Equal(t, published, got, "Service 2 logs exactly the card Service 1 published")
}

// TestRunTimeout checks that the program gives up with an error instead of
// hanging when the event cannot arrive in time.
func TestRunTimeout(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	err := run(context.Background(), []string{"-endpoint=", "-timeout=1ns"}, log)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestRunBadFlag checks that flag errors are reported, not ignored.
func TestRunBadFlag(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	require.Error(t, run(context.Background(), []string{"-no-such-flag"}, log))
}
