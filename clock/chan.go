package clock

import (
	"context"
	"fmt"
	"sync"
)

// Chan is a clock-aware unbounded FIFO queue. Send never blocks, so producers
// can never deadlock on a full buffer; Recv blocks the calling actor until an
// item arrives or ctx is done. With a Virtual clock a blocked Recv is visible
// to the scheduler (it yields, and shows up in deadlock reports), which a
// plain Go channel would not be.
type Chan[T any] struct {
	name string
	v    *Virtual // nil for any other clock

	mu      sync.Mutex // live mode only; virtual mode uses v.mu
	q       fifo[T]
	signal  chan struct{} // live mode: closed and replaced on every Send
	waiters []*actor      // virtual mode: parked receivers, FIFO
}

// NewChan returns an empty queue driven by c. The name is used in deadlock
// reports.
func NewChan[T any](c Clock, name string) *Chan[T] {
	ch := &Chan[T]{name: name}
	if v, ok := c.(*Virtual); ok {
		ch.v = v
	} else {
		ch.signal = make(chan struct{})
	}
	return ch
}

func (c *Chan[T]) lock() {
	if c.v != nil {
		c.v.mu.Lock()
	} else {
		c.mu.Lock()
	}
}

func (c *Chan[T]) unlock() {
	if c.v != nil {
		c.v.mu.Unlock()
	} else {
		c.mu.Unlock()
	}
}

// Send appends v. It never blocks and may be called from any goroutine.
func (c *Chan[T]) Send(v T) {
	c.lock()
	defer c.unlock()
	c.q.push(v)
	if c.v == nil {
		close(c.signal)
		c.signal = make(chan struct{})
		return
	}
	if len(c.waiters) > 0 {
		c.v.claim(c.waiters[0], nil) // claim unlinks it from c.waiters
	}
}

// TryRecv returns the oldest item without blocking.
func (c *Chan[T]) TryRecv() (T, bool) {
	c.lock()
	defer c.unlock()
	return c.q.pop()
}

// Len returns the number of queued items.
func (c *Chan[T]) Len() int {
	c.lock()
	defer c.unlock()
	return c.q.len()
}

// Recv returns the oldest item, blocking until one arrives or ctx is done.
func (c *Chan[T]) Recv(ctx context.Context) (T, error) {
	if c.v != nil {
		return c.recvVirtual(ctx)
	}
	for {
		c.mu.Lock()
		v, ok := c.q.pop()
		signal := c.signal
		c.mu.Unlock()
		if ok {
			return v, nil
		}
		select {
		case <-signal:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

func (c *Chan[T]) recvVirtual(ctx context.Context) (T, error) {
	var zero T
	v := c.v
	v.mu.Lock()
	a, err := v.callerLocked(ctx)
	if err != nil {
		v.mu.Unlock()
		return zero, fmt.Errorf("clock: recv on chan %q: %w", c.name, err)
	}
	for {
		if item, ok := c.q.pop(); ok {
			v.mu.Unlock()
			return item, nil
		}
		if err := v.park(a, ctx, c, false, 0); err != nil { // park unlocks v.mu
			return zero, err
		}
		// Woken by Send; another receiver may have taken the item in the
		// meantime (TryRecv), in which case we simply wait again.
		v.mu.Lock()
	}
}

// add implements waitList; v.mu is held.
func (c *Chan[T]) add(a *actor) { c.waiters = append(c.waiters, a) }

// remove implements waitList; v.mu is held.
func (c *Chan[T]) remove(a *actor) { c.waiters = removeActor(c.waiters, a) }

// describe implements waitList.
func (c *Chan[T]) describe() string { return fmt.Sprintf("recv on chan %q", c.name) }
