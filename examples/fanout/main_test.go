package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snssqs/snssqs/examples/internal/exampletest"
)

// TestRun checks that every service got every published card exactly once
// (the emulator never duplicates) and that nothing went wrong on the way.
func TestRun(t *testing.T) {
	entries := exampletest.Run(t, run, 10*time.Second, "-cards=4", "-timeout=20s")
	exampletest.AssertNoWarnings(t, entries)

	var published []string
	got := make(map[string][]string)
	gotLine := regexp.MustCompile(`^(\w+): got card\.created$`)
	var summary bool
	for _, e := range entries {
		switch {
		case e.Message == "card-service: published card.created":
			published = append(published, e.Data["cardId"].(string))
		case gotLine.MatchString(e.Message):
			svc := gotLine.FindStringSubmatch(e.Message)[1]
			assert.Equal(t, svc, e.Data["service"])
			got[svc] = append(got[svc], e.Data["cardId"].(string))
		case e.Message == "every service got every card: one publish, one delivery per queue":
			summary = true
		}
	}
	require.Len(t, published, 4, exampletest.Messages(entries))
	require.Len(t, got, len(services), "every service got cards")
	for _, svc := range services {
		assert.ElementsMatch(t, published, got[svc], "%s got each card once", svc)
	}
	assert.True(t, summary, "the final summary is logged")
}

// TestRunFlags checks -timeout, -h and unknown flags.
func TestRunFlags(t *testing.T) { exampletest.CheckFlags(t, run) }

// TestTally checks completion, duplicates and cards of earlier runs.
func TestTally(t *testing.T) {
	tl := newTally([]string{"a", "b"}, []string{"c1", "c2"})
	assert.Equal(t, deliveryFirst, tl.record("a", "c1"))
	assert.Equal(t, deliveryDuplicate, tl.record("a", "c1"))
	assert.Equal(t, deliveryStale, tl.record("a", "old"))
	assert.Equal(t, deliveryFirst, tl.record("a", "c2"))
	assert.Equal(t, deliveryFirst, tl.record("b", "c2"))
	select {
	case <-tl.done:
		t.Fatal("done before b got c1")
	default:
	}
	assert.Equal(t, deliveryFirst, tl.record("b", "c1"))
	select {
	case <-tl.done:
	default:
		t.Fatal("not done after every service got every card")
	}
	assert.Equal(t, deliveryDuplicate, tl.record("b", "c1"), "records after completion do not close done twice")
}
