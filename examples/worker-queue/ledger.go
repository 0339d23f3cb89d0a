package main

import (
	"fmt"
	"sync"
)

// ledger records the steps done per card and closes done once every card
// of the run was shipped.
type ledger struct {
	mu      sync.Mutex
	run     string
	cards   int
	done    chan struct{}
	steps   map[string][]int // card -> steps in the order they were done
	shipped int
}

func newLedger(run string, cards int) *ledger {
	return &ledger{run: run, cards: cards, done: make(chan struct{}), steps: make(map[string][]int)}
}

// record notes that step j was done; it reports false for a job of an
// earlier run or one already done (an at-least-once redelivery).
func (l *ledger) record(j CardJob) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if j.Run != l.run {
		return false
	}
	for _, s := range l.steps[j.CardID] {
		if s == j.Step {
			return false
		}
	}
	l.steps[j.CardID] = append(l.steps[j.CardID], j.Step)
	if j.Step == len(steps)-1 {
		if l.shipped++; l.shipped == l.cards {
			close(l.done)
		}
	}
	return true
}

// outOfOrder describes the first card whose steps ran out of order, or
// returns "".
func (l *ledger) outOfOrder() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for card, done := range l.steps {
		for i, s := range done {
			if s != i {
				return fmt.Sprintf("%s: steps done in the order %v", card, done)
			}
		}
	}
	return ""
}
