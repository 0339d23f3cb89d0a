package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun checks that every card's three steps are done, in order, and
// that the work was shared by the workers.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 10*time.Second, "-cards=6", "-workers=2", "-work=10ms", "-timeout=20s")
	exampletest.AssertNoWarnings(t, entries)
	line := regexp.MustCompile(`^(worker-\d): (card-\d+) (issue|print|ship)$`)
	done := map[string][]string{}
	byWorker := map[string]int{}
	var total bool
	for _, e := range entries {
		if m := line.FindStringSubmatch(e.Message); m != nil {
			done[m[2]] = append(done[m[2]], m[3])
			byWorker[m[1]]++
		}
		if e.Message == "6 cards issued, printed and shipped, each card's steps in order" {
			total = true
		}
	}
	require.Len(t, done, 6, exampletest.Messages(entries))
	for card, s := range done {
		assert.Equal(t, []string{"issue", "print", "ship"}, s, card)
	}
	assert.Len(t, byWorker, 2, "both workers did steps: %v", byWorker)
	assert.True(t, total)
}

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, run) }

func TestLedger(t *testing.T) {
	l := newLedger("r", 1)
	assert.True(t, l.record(CardJob{Run: "r", CardID: "c", Step: 0}))
	assert.False(t, l.record(CardJob{Run: "r", CardID: "c", Step: 0}), "a redelivery")
	assert.False(t, l.record(CardJob{Run: "old", CardID: "c", Step: 1}), "a leftover")
	assert.True(t, l.record(CardJob{Run: "r", CardID: "c", Step: 2}))
	assert.Equal(t, "c: steps done in the order [0 2]", l.outOfOrder())
	<-l.done
}
