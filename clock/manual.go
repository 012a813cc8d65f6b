package clock

import (
	"context"
	"sync"
	"time"
)

// Manual is a clock tests move by hand. Sleep advances it instead of
// waiting, so code that polls through a Sleeper (providers, waiters) sees
// simulated time pass instantly. It is safe for concurrent use; it is not a
// scheduler — use Virtual where several actors must interleave.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now returns the current manual time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep advances the clock by d (if positive) unless ctx is already done.
func (c *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
