package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Errors of the card processor.
var (
	// errUnavailable is a transient failure: trying again later helps.
	errUnavailable = errors.New("card processor unavailable")
	// errInvalidCard is a permanent failure: no retry will help, so the
	// message ends in the dead-letter queue.
	errInvalidCard = errors.New("card processor rejected the card")
)

// processor stands for the third-party card processor the integration
// service forwards cards to: a flaky dependency. It is unavailable for the
// first failures calls for each card and rejects every card without a user.
type processor struct {
	failures int

	mu    sync.Mutex
	calls map[string]int // card id -> calls so far
}

func newProcessor(failures int) *processor {
	return &processor{failures: failures, calls: make(map[string]int)}
}

// Register sends the card to the processor.
func (p *processor) Register(ctx context.Context, card CardCreated) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if card.UserID == "" {
		return fmt.Errorf("%w: card %s has no user", errInvalidCard, card.CardID)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[card.CardID]++
	if n := p.calls[card.CardID]; n <= p.failures {
		return fmt.Errorf("%w (call %d for card %s)", errUnavailable, n, card.CardID)
	}
	return nil
}
