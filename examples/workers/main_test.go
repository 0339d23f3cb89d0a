package main

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun checks that the competing notifiers handle every event exactly
// once between them, that the load is shared, and that the report adds up.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 10*time.Second, "-events=30", "-workers=3", "-work=20ms", "-timeout=20s")
	exampletest.AssertNoWarnings(t, entries)

	sent := make(map[int]string) // seq -> worker
	perWorker := make(map[string]int)
	reported := make(map[string]int)
	sentLine := regexp.MustCompile(`^(notifier-\d) sent notification #(\d+)$`)
	handledLine := regexp.MustCompile(`^(notifier-\d) handled (\d+) events$`)
	var total bool
	for _, e := range entries {
		if m := sentLine.FindStringSubmatch(e.Message); m != nil {
			seq, _ := strconv.Atoi(m[2])
			prev, dup := sent[seq]
			assert.False(t, dup, "notification #%d sent by %s and %s", seq, prev, m[1])
			sent[seq] = m[1]
			perWorker[m[1]]++
		}
		if m := handledLine.FindStringSubmatch(e.Message); m != nil {
			reported[m[1]], _ = strconv.Atoi(m[2])
		}
		if e.Message == "30 of 30 events handled, each by one worker; 0 duplicate deliveries" {
			total = true
		}
	}
	require.Len(t, sent, 30, exampletest.Messages(entries))
	for seq := 1; seq <= 30; seq++ {
		assert.Contains(t, sent, seq)
	}
	assert.Equal(t, perWorker, reported, "the report matches what the workers logged")
	assert.Len(t, perWorker, 3, "every notifier took a share of the load: %v", perWorker)
	assert.True(t, total, "the total is reported")
}

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, run) }

// TestTally checks counting, duplicates, leftovers and completion.
func TestTally(t *testing.T) {
	tl := newTally("run", 2)
	assert.Equal(t, deliveryFirst, tl.record("w1", "run", 1))
	assert.Equal(t, deliveryDuplicate, tl.record("w2", "run", 1))
	assert.Equal(t, deliveryStale, tl.record("w2", "old", 2))
	assert.Equal(t, deliveryStale, tl.record("w2", "run", 3))
	select {
	case <-tl.done:
		t.Fatal("done before event 2 was handled")
	default:
	}
	assert.Equal(t, deliveryFirst, tl.record("w2", "run", 2))
	<-tl.done
	assert.Equal(t, map[string]int{"w1": 1, "w2": 1}, tl.perWorker)
	assert.Equal(t, 1, tl.duplicates)
	assert.Equal(t, 2, tl.stale)
}
