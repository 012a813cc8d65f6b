package clock

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Real is the live Clock: wall time, runtime timers and plain goroutines.
// Panics in actors are not recovered, exactly as with the go statement.
type Real struct {
	rand *Streams
}

// NewReal returns a live clock whose Rand streams derive from seed.
func NewReal(seed uint64) Clock {
	return &Real{rand: NewStreams(seed)}
}

// Now returns time.Now().
func (r *Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done. d <= 0 only checks ctx.
func (r *Real) Sleep(ctx context.Context, d time.Duration) error { return wallSleep(ctx, d) }

// wallSleep waits d of wall time or until ctx is done; d <= 0 only checks
// ctx.
func wallSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Go runs fn on a new goroutine; name is unused in live mode.
func (r *Real) Go(ctx context.Context, _ string, fn func(ctx context.Context)) {
	go fn(ctx)
}

// GoDaemon is Go: live mode has no run loop for daemons to outlive.
func (r *Real) GoDaemon(ctx context.Context, name string, fn func(ctx context.Context)) {
	r.Go(ctx, name, fn)
}

// AfterFunc is time.AfterFunc.
func (r *Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// WithTimeout is context.WithTimeout.
func (r *Real) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// NewWaitGroup returns a WaitGroup whose Wait can be abandoned via ctx.
func (r *Real) NewWaitGroup() WaitGroup { return &realWaitGroup{} }

// Rand returns the cached generator of the named stream.
func (r *Real) Rand(stream string) *rand.Rand { return r.rand.Get(stream) }

// Seed returns the root seed.
func (r *Real) Seed() uint64 { return r.rand.seed }

// realWaitGroup is a counter plus a channel closed when it reaches zero;
// unlike sync.WaitGroup it lets Wait give up when ctx is done.
type realWaitGroup struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // non-nil while n > 0; closed when n drops to 0
}

func (w *realWaitGroup) Add(delta int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 && delta > 0 {
		w.zero = make(chan struct{})
	}
	w.n += delta
	if w.n < 0 {
		panic("clock: negative WaitGroup counter")
	}
	if w.n == 0 && w.zero != nil {
		close(w.zero)
		w.zero = nil
	}
}

func (w *realWaitGroup) Done() { w.Add(-1) }

func (w *realWaitGroup) Wait(ctx context.Context) error {
	w.mu.Lock()
	zero := w.zero
	w.mu.Unlock()
	if zero == nil {
		return nil
	}
	select {
	case <-zero:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
