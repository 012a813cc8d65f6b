package clock

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

type timerState uint8

const (
	timerPending timerState = iota
	timerFired
	timerStopped
)

// vtimer is a scheduled callback (f != nil, from AfterFunc) or a context
// expiry (ctx != nil, from WithTimeout). Its state is guarded by v.mu.
type vtimer struct {
	v     *Virtual
	f     func()
	ctx   *timeoutCtx
	state timerState
}

// Stop cancels a pending AfterFunc. It reports whether the call was pending.
func (t *vtimer) Stop() bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	if t.state != timerPending {
		return false
	}
	t.state = timerStopped
	if t.f != nil {
		t.v.userTimers--
	}
	return true
}

// expire fires a WithTimeout deadline; v.mu is held.
func (t *vtimer) expire() {
	if t.ctx.finish(true) {
		t.v.wakeCancelled()
	}
}

// AfterFunc schedules f at Now()+d. Pending AfterFunc timers keep Run alive,
// because f may start new actors. f runs on the scheduler goroutine.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	if f == nil {
		panic("clock: AfterFunc with nil func")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	t := &vtimer{v: v, f: f}
	v.userTimers++
	v.push(v.after(d), nil, t)
	return t
}

// timeoutCtx is a context cancelled by the virtual clock. Deadline() is
// deliberately the parent's: a virtual deadline exposed as a real one would
// be misread as wall time by net/http and friends. Contexts derived from it
// with context.WithCancel report context.Canceled on expiry (their Cause is
// context.DeadlineExceeded); only this context itself reports
// DeadlineExceeded from Err.
type timeoutCtx struct {
	context.Context
	cancel  context.CancelCauseFunc
	expired atomic.Bool
	v       *Virtual
	timer   *vtimer
	done    <-chan struct{}
}

func (c *timeoutCtx) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return c.Context.Err()
}

func (c *timeoutCtx) String() string { return fmt.Sprintf("clock.WithTimeout(%v)", c.Context) }

// finish cancels the context, as expired or as cancelled, and reports
// whether it was still live; v.mu is held.
func (c *timeoutCtx) finish(expired bool) bool {
	delete(c.v.known, c.done)
	if c.Context.Err() != nil {
		return false // already cancelled (by the CancelFunc or a parent)
	}
	if expired {
		c.expired.Store(true) // before closing Done, so Err agrees with Done
		c.cancel(context.DeadlineExceeded)
	} else {
		c.cancel(context.Canceled)
	}
	return true
}

// WithTimeout returns a context that the scheduler cancels with
// context.DeadlineExceeded when virtual time reaches Now()+d. Actors parked
// on it wake at exactly that instant. The CancelFunc stops the timer.
func (v *Virtual) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	inner, cancel := context.WithCancelCause(parent)
	c := &timeoutCtx{Context: inner, cancel: cancel, v: v, done: inner.Done()}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.knownLocked(parent) {
		v.known[c.done] = struct{}{}
	}
	c.timer = &vtimer{v: v, ctx: c}
	if d <= 0 {
		c.timer.state = timerFired
		c.finish(true)
	} else {
		v.push(v.after(d), nil, c.timer)
	}
	return c, c.stop
}

// stop is the CancelFunc of a timeoutCtx.
func (c *timeoutCtx) stop() {
	v := c.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if c.timer.state == timerPending {
		c.timer.state = timerStopped
	}
	if c.finish(false) {
		v.wakeCancelled()
	}
}

// vwaitGroup is the virtual WaitGroup; its fields are guarded by v.mu.
type vwaitGroup struct {
	v       *Virtual
	n       int
	waiters []*actor
}

// NewWaitGroup returns a WaitGroup whose Wait parks the calling actor.
func (v *Virtual) NewWaitGroup() WaitGroup { return &vwaitGroup{v: v} }

func (w *vwaitGroup) Add(delta int) {
	w.v.mu.Lock()
	defer w.v.mu.Unlock()
	w.n += delta
	if w.n < 0 {
		panic("clock: negative WaitGroup counter")
	}
	if w.n == 0 {
		for len(w.waiters) > 0 {
			w.v.claim(w.waiters[0], nil) // unlinks it
		}
	}
}

func (w *vwaitGroup) Done() { w.Add(-1) }

// Wait parks the calling actor until the counter is zero or ctx is done.
func (w *vwaitGroup) Wait(ctx context.Context) error {
	v := w.v
	v.mu.Lock()
	a, err := v.callerLocked(ctx)
	if err != nil {
		v.mu.Unlock()
		return fmt.Errorf("clock: wait on waitgroup: %w", err)
	}
	if w.n == 0 {
		v.mu.Unlock()
		return nil
	}
	return v.park(a, ctx, w, false, 0)
}

func (w *vwaitGroup) add(a *actor)     { w.waiters = append(w.waiters, a) }
func (w *vwaitGroup) remove(a *actor)  { w.waiters = removeActor(w.waiters, a) }
func (w *vwaitGroup) describe() string { return "wait on waitgroup" }

// removeActor deletes a from s, preserving order (FIFO wake-ups).
func removeActor(s []*actor, a *actor) []*actor {
	for i, x := range s {
		if x == a {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}

var _ Clock = (*Virtual)(nil)
var _ Clock = (*Real)(nil)
