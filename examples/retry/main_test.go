package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun checks the whole story: the flaky card fails twice and succeeds
// on its third receive, the poison card fails maxReceiveCount times and is
// then found in the dead-letter queue.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 15*time.Second, "-timeout=25s")

	attempts := make(map[string][]int) // card id -> receive counts, in order
	var succeeded []string
	var deadBody string
	var deleted bool
	attemptLine := regexp.MustCompile(`^attempt (\d) of 3`)
	for _, e := range entries {
		if e.Level <= logrus.WarnLevel {
			// The only warnings are the subscriber's, for the failed
			// attempts: each names its message and carries the error.
			assert.Equal(t, logrus.WarnLevel, e.Level, "unexpected %s: %q %v", e.Level, e.Message, e.Data)
			assert.Contains(t, e.Data, logrus.ErrorKey, "the warning carries the handler's error: %v", e.Data)
			assert.Contains(t, e.Data, "sqs_message_id", "the warning names the message: %v", e.Data)
			continue
		}
		if m := attemptLine.FindStringSubmatch(e.Message); m != nil {
			n, _ := strconv.Atoi(m[1])
			assert.Equal(t, n, e.Data["receive_count"], "the attempt number is the SQS receive count")
			card := e.Data["cardId"].(string)
			attempts[card] = append(attempts[card], n)
			if e.Message == "attempt "+m[1]+" of 3: card registered with the processor" {
				succeeded = append(succeeded, card)
			}
		}
		if m := regexp.MustCompile(`^dead-letter queue holds the poison message\. Body (.*)$`).FindStringSubmatch(e.Message); m != nil {
			deadBody = m[1]
			assert.Equal(t, "card.created", e.Data["type"])
		}
		deleted = deleted || e.Message == "deleted the poison message from the dead-letter queue"
	}
	require.Len(t, succeeded, 1, exampletest.Messages(entries))
	require.Len(t, attempts, 2, "two cards were attempted")
	good := succeeded[0]
	assert.Equal(t, []int{1, 2, 3}, attempts[good], "the flaky card came back twice, then succeeded")
	for card, counts := range attempts {
		if card == good {
			continue
		}
		assert.Equal(t, []int{1, 2, 3}, counts, "the poison card was tried maxReceiveCount times, no more")
		var c CardCreated
		require.NoError(t, json.Unmarshal([]byte(deadBody), &c), "the dead letter's body is the event: %q", deadBody)
		assert.Equal(t, CardCreated{CardID: card}, c, "the dead letter is the poison card")
	}
	assert.True(t, deleted)
}

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, run) }

// TestProcessor checks the flaky dependency's script.
func TestProcessor(t *testing.T) {
	p := newProcessor(2)
	ctx := context.Background()
	card := CardCreated{CardID: "c", UserID: "u"}
	assert.ErrorIs(t, p.Register(ctx, card), errUnavailable)
	assert.ErrorIs(t, p.Register(ctx, card), errUnavailable)
	assert.NoError(t, p.Register(ctx, card))
	assert.NoError(t, p.Register(ctx, card), "once up, it stays up for the card")
	assert.ErrorIs(t, p.Register(ctx, CardCreated{CardID: "d", UserID: "u"}), errUnavailable, "failures are counted per card")
}

// TestProcessorRejectsCardWithoutUser checks the poison case.
func TestProcessorRejectsCardWithoutUser(t *testing.T) {
	p := newProcessor(0)
	for range 5 {
		err := p.Register(context.Background(), CardCreated{CardID: "c"})
		assert.ErrorIs(t, err, errInvalidCard)
		assert.False(t, errors.Is(err, errUnavailable))
	}
}
