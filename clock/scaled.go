package clock

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Scaled is a live clock running Speed times faster than the wall clock,
// from a chosen start instant: `sim serve --scenario` plays an attack on it
// against outside clients. Like Virtual, it runs one actor at a time (an
// actor holds the baton while it runs and hands it back while it sleeps or
// waits), so code written for the cooperative scheduler needs no locks of
// its own; unlike Virtual, time passes whether or not anyone waits.
//
// Now is safe from any goroutine (HTTP handlers read it); blocking calls
// made with a context that is not an actor's block without the baton.
type Scaled struct {
	start, wall0 time.Time
	speed        float64
	rand         *Streams
	baton        sync.Mutex
	// wall is the wall clock (tests replace it).
	wall func() time.Time
}

// actorKey marks a context as belonging to an actor holding the baton.
type scaledActorKey struct{ c *Scaled }

// NewScaled returns a clock that reads start now and then runs speed times
// real time (speed must be positive); its Rand streams derive from seed.
func NewScaled(start time.Time, speed float64, seed uint64) *Scaled {
	if speed <= 0 {
		panic("clock: NewScaled needs a positive speed")
	}
	return &Scaled{start: start, wall0: time.Now(), speed: speed, rand: NewStreams(seed), wall: time.Now}
}

// Speed is how many clock seconds pass per wall-clock second.
func (s *Scaled) Speed() float64 { return s.speed }

// Now is start plus the wall time elapsed since the clock was made, times
// the speed.
func (s *Scaled) Now() time.Time {
	return s.start.Add(time.Duration(float64(s.wall().Sub(s.wall0)) * s.speed))
}

// Wall is how long d of clock time lasts on the wall clock.
func (s *Scaled) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

func (s *Scaled) isActor(ctx context.Context) bool {
	c, _ := ctx.Value(scaledActorKey{}).(*Scaled)
	return c == s
}

// block runs wait without the baton when ctx is an actor's.
func (s *Scaled) block(ctx context.Context, wait func() error) error {
	if !s.isActor(ctx) {
		return wait()
	}
	s.baton.Unlock()
	defer s.baton.Lock()
	return wait()
}

// Sleep waits d of clock time (d/speed of wall time) or until ctx is done.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return s.block(ctx, func() error { return wallSleep(ctx, s.Wall(d)) })
}

// Go runs fn as an actor on a new goroutine: it starts once it holds the
// baton.
func (s *Scaled) Go(ctx context.Context, _ string, fn func(ctx context.Context)) {
	actx := context.WithValue(ctx, scaledActorKey{}, s)
	go func() {
		s.baton.Lock()
		defer s.baton.Unlock()
		fn(actx)
	}()
}

// GoDaemon is Go: a live clock has no run loop for daemons to outlive.
func (s *Scaled) GoDaemon(ctx context.Context, name string, fn func(ctx context.Context)) {
	s.Go(ctx, name, fn)
}

// AfterFunc calls f, holding the baton, after d of clock time.
func (s *Scaled) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(s.Wall(d), func() {
		s.baton.Lock()
		defer s.baton.Unlock()
		f()
	})
}

// WithTimeout is context.WithTimeout over d of clock time.
func (s *Scaled) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.Wall(d))
}

// NewWaitGroup returns a WaitGroup whose Wait hands the baton back while
// it waits.
func (s *Scaled) NewWaitGroup() WaitGroup { return &scaledWaitGroup{c: s} }

// Rand returns the cached generator of the named stream.
func (s *Scaled) Rand(stream string) *rand.Rand { return s.rand.Get(stream) }

// Seed returns the root seed.
func (s *Scaled) Seed() uint64 { return s.rand.seed }

type scaledWaitGroup struct {
	c *Scaled
	realWaitGroup
}

func (w *scaledWaitGroup) Wait(ctx context.Context) error {
	return w.c.block(ctx, func() error { return w.realWaitGroup.Wait(ctx) })
}
