package main

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun runs the whole example against the embedded emulator and checks
// that Service 2 logged the article's line with the event Service 1 sent.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 10*time.Second, "-timeout=20s")

	exampletest.AssertNoWarnings(t, entries)
	var published, got []string
	bodyLine := regexp.MustCompile(`^got new message\. Body (\{.*\})$`)
	for _, e := range entries {
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

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, run) }
