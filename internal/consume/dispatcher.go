package consume

import "sync"

// dispatcher hands received messages to the workers. On FIFO queues it
// keeps the messages of one message group in order and at one worker at a
// time, across every receive: a message whose group has a message at a
// worker waits behind it, and the worker that finishes a group's message
// goes on with the group's next one.
type dispatcher struct {
	fifo  bool
	ready chan *Delivery // buffered for every message the flow lets the engine hold

	mu     sync.Mutex
	groups map[string][]*Delivery // groups with a message at a worker: their later messages
	held   []*Delivery            // taken but not started, because the engine stopped
}

func newDispatcher(fifo bool, capacity int) *dispatcher {
	return &dispatcher{fifo: fifo, ready: make(chan *Delivery, capacity), groups: make(map[string][]*Delivery)}
}

// push queues ds, one receive's messages, in receive order. It never
// blocks: the flow holds no more messages than ready has room for.
func (p *dispatcher) push(ds []*Delivery) {
	for _, d := range ds {
		if p.ordered(d) {
			p.mu.Lock()
			if later, busy := p.groups[d.GroupID]; busy {
				p.groups[d.GroupID] = append(later, d)
				p.mu.Unlock()
				continue
			}
			p.groups[d.GroupID] = nil
			p.mu.Unlock()
		}
		p.ready <- d
	}
}

// ordered reports whether d must wait for its group's earlier messages.
func (p *dispatcher) ordered(d *Delivery) bool { return p.fifo && d.GroupID != "" }

// next returns the next message for a worker, or nil once stop is closed.
func (p *dispatcher) next(stop <-chan struct{}) *Delivery {
	select {
	case <-stop:
		return nil
	default:
	}
	select {
	case d := <-p.ready:
		return d
	case <-stop:
		return nil
	}
}

// after is told that d's handling ended, succeeded or not, and returns the
// message of d's group to handle next, if any. When d failed, its group's
// later messages are returned to be released instead, so that they come back
// after it and the group's order is kept.
func (p *dispatcher) after(d *Delivery, ok bool) (next *Delivery, release []*Delivery) {
	if !p.ordered(d) {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	later := p.groups[d.GroupID]
	if !ok || len(later) == 0 {
		delete(p.groups, d.GroupID)
		return nil, later
	}
	p.groups[d.GroupID] = later[1:]
	return later[0], nil
}

// hold keeps d, not started because the engine stopped, for drain.
func (p *dispatcher) hold(d *Delivery) {
	p.mu.Lock()
	p.held = append(p.held, d)
	p.mu.Unlock()
}

// drain returns every message not started: held, waiting for a worker or
// waiting behind its group. It runs once no receive is in progress; a
// worker's after may still run concurrently.
func (p *dispatcher) drain() []*Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.held
	p.held = nil
	for {
		select {
		case d := <-p.ready:
			out = append(out, d)
			continue
		default:
		}
		break
	}
	for g, later := range p.groups {
		out = append(out, later...)
		delete(p.groups, g)
	}
	return out
}
