package otelsnssqs

import (
	"sync"
	"sync/atomic"
)

// cowMap is a map read on every message and written once per key: reads
// load an immutable map through an atomic pointer, so the goroutines of
// every publisher and subscriber read it without writing to a shared cache
// line (an RWMutex's RLock does); a new key copies the map.
type cowMap[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serializes writers
}

// get returns k's value, built by build the first time.
func (c *cowMap[K, V]) get(k K, build func() V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	next := make(map[K]V, 1)
	if old != nil {
		for k2, v2 := range *old {
			next[k2] = v2
		}
	}
	v := build()
	next[k] = v
	c.m.Store(&next)
	return v
}

// each calls fn for every entry.
func (c *cowMap[K, V]) each(fn func(K, V)) {
	if m := c.m.Load(); m != nil {
		for k, v := range *m {
			fn(k, v)
		}
	}
}
