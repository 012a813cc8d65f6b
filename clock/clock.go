// Package clock is the single source of time for firedrill.
//
// Everything in the harness that waits (sleeps, timeouts, queues, wait
// groups) goes through a Clock. Live runs use Real, which maps straight onto
// the runtime's timers and goroutines. Drills use Virtual, a discrete-event
// simulator with a cooperative scheduler: exactly one actor runs at a time,
// time jumps from event to event, and the order of events is fully determined
// by (time, sequence number). That is why a 72-hour incident replays in
// milliseconds and produces byte-identical results regardless of GOMAXPROCS or
// the race detector.
package clock

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Clock abstracts time, concurrency and randomness so that the same harness
// code can run live (Real) or simulated (Virtual).
type Clock interface {
	// Now returns the current clock time. It is safe to call from any
	// goroutine, including non-actor goroutines such as HTTP handlers.
	Now() time.Time
	// Sleep blocks the calling actor for d of clock time. It returns
	// ctx.Err() if ctx is done first. On a Virtual clock d <= 0 still yields:
	// the actor is re-queued at the current instant behind every actor that
	// is already ready, which gives cooperative code a way to let others run.
	Sleep(ctx context.Context, d time.Duration) error
	// Go starts an actor. On a Virtual clock the actor is queued FIFO at the
	// current instant and the ctx passed to fn carries the actor identity, so
	// fn must pass that ctx (or a descendant) to blocking clock calls. The
	// name appears in deadlock and panic reports.
	Go(ctx context.Context, name string, fn func(ctx context.Context))
	// GoDaemon is like Go, but the actor does not keep a Virtual run alive:
	// once every non-daemon actor has finished, daemon contexts are cancelled
	// and their blocking calls return context.Canceled.
	GoDaemon(ctx context.Context, name string, fn func(ctx context.Context))
	// AfterFunc calls f at Now()+d. On a Virtual clock f runs on the
	// scheduler (it must not block on the clock, but may call Go, Send, ...).
	AfterFunc(d time.Duration, f func()) Timer
	// WithTimeout returns a context that is cancelled after d of clock time
	// with context.DeadlineExceeded. On a Virtual clock the context carries
	// no real deadline, because code such as net/http would interpret it as
	// wall-clock time.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// NewWaitGroup returns a WaitGroup whose Wait blocks in clock terms.
	NewWaitGroup() WaitGroup
	// Rand returns the deterministic generator of the named stream. Streams
	// are derived from Seed and the name only, so adding a stream never
	// perturbs another. The generator is cached per name: repeated calls with
	// the same name return the same *rand.Rand, which continues its sequence.
	// A *rand.Rand is not safe for concurrent use; on a Virtual clock only
	// one actor runs at a time, so sharing a stream is fine there.
	Rand(stream string) *rand.Rand
	// Seed returns the root seed all Rand streams derive from.
	Seed() uint64
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call from happening. It reports whether the call was
	// still pending.
	Stop() bool
}

// WaitGroup is a clock-aware sync.WaitGroup whose Wait honours ctx.
type WaitGroup interface {
	Add(delta int)
	Done()
	Wait(ctx context.Context) error
}

// ErrNotActor is returned by blocking Virtual clock calls made with a context
// that does not belong to the currently running actor of that clock. Blocking
// outside an actor would stall the scheduler, so it is refused instead.
var ErrNotActor = errors.New("clock: context does not carry the running actor of this clock")
