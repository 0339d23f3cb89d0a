package main

import (
	"sync"

	"github.com/sirupsen/logrus"
)

// delivery classifies one handled message.
type delivery int

const (
	deliveryFirst     delivery = iota // first delivery of an event of this run
	deliveryDuplicate                 // an event of this run handled before
	deliveryStale                     // an event an earlier run published
)

// tally counts the events of one run per worker and closes done once each
// was handled.
type tally struct {
	mu         sync.Mutex
	run        string
	events     int
	handled    map[int]int    // seq -> deliveries
	perWorker  map[string]int // first deliveries per worker
	duplicates int
	stale      int
	done       chan struct{}
}

func newTally(run string, events int) *tally {
	return &tally{run: run, events: events, handled: make(map[int]int, events), perWorker: make(map[string]int), done: make(chan struct{})}
}

// record notes that worker handled event seq of run.
func (t *tally) record(worker, run string, seq int) delivery {
	t.mu.Lock()
	defer t.mu.Unlock()
	if run != t.run || seq < 1 || seq > t.events {
		t.stale++
		return deliveryStale
	}
	t.handled[seq]++
	if t.handled[seq] > 1 {
		t.duplicates++
		return deliveryDuplicate
	}
	t.perWorker[worker]++
	if len(t.handled) == t.events {
		close(t.done)
	}
	return deliveryFirst
}

// report logs how many events each worker handled and the totals.
func (t *tally) report(log logrus.FieldLogger, workers []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range workers {
		log.WithField("worker", w).WithField("handled", t.perWorker[w]).Infof("%s handled %d events", w, t.perWorker[w])
	}
	log.WithFields(logrus.Fields{
		"handled":    len(t.handled),
		"events":     t.events,
		"duplicates": t.duplicates,
		"stale":      t.stale,
	}).Infof("%d of %d events handled, each by one worker; %d duplicate deliveries", len(t.handled), t.events, t.duplicates)
}
