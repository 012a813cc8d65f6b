package clock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxTeardownStrikes bounds how many blocking calls an actor may make after
// the run started tearing down. Each fails immediately; an actor that keeps
// retrying (ignoring the error) is then ended with runtime.Goexit (its
// deferred calls still run), so a careless loop cannot hang Run.
const maxTeardownStrikes = 16

type phase uint8

const (
	phaseNormal   phase = iota
	phaseShutdown       // only daemons left: they are cancelled, the current instant drains
	phaseAbort          // deadlock, panic or cancelled Run ctx: everyone unwinds
)

type actorState uint8

const (
	stateReady   actorState = iota // a start or wake event is queued
	stateRunning                   // holds the baton
	stateParked                    // blocked in a clock call
	stateDone
)

// waitList is something an actor can be parked on besides time (a Chan or a
// WaitGroup). The scheduler needs to unlink the actor when it is woken for
// another reason (ctx done, teardown) and to describe it in deadlock reports.
// All methods are called with Virtual.mu held.
type waitList interface {
	add(a *actor)
	remove(a *actor)
	describe() string
}

// actor is the scheduler's view of one Go/GoDaemon goroutine.
type actor struct {
	v      *Virtual
	id     uint64
	name   string
	daemon bool
	fn     func(context.Context)
	ctx    context.Context
	cancel context.CancelFunc // daemons only
	doneCh <-chan struct{}    // daemon ctx Done registered in v.known, if any

	resume  chan struct{} // the baton arrives here
	started bool          // goroutine created (lazily, on first resume)

	// Fields below are guarded by v.mu.
	state   actorState
	gen     uint64 // bumped on every park and wake; stale events mismatch
	parkSeq uint64 // orders simultaneous ctx wake-ups deterministically
	wakeErr error
	waitCtx context.Context
	list    waitList
	waitIdx int  // index in v.waiting, -1 if absent
	foreign bool // waitCtx may be cancelled behind the clock's back
	strikes int
}

type actorKey struct{}

// Virtual is a deterministic discrete-event Clock.
//
// Every actor is a goroutine, but only the holder of the baton runs: the
// scheduler hands the baton to one actor through its resume channel and
// waits on the yield channel until the actor blocks on the clock or returns.
// Pending work lives in a min-heap ordered by (time, seq); time jumps to the
// next event, never backwards. Actors blocked on something other than the
// clock (a mutex, an in-process HTTP call) simply keep the baton.
//
// Cancellation is deterministic when the clock performs it (WithTimeout
// expiry or its CancelFunc, daemon shutdown, teardown): parked actors whose
// ctx became done are woken at that instant in park order. Contexts the clock
// does not own (for example context.WithCancel created by an actor) are
// polled before every event while an actor is parked on one, which is still
// deterministic but costs O(parked) per event; prefer WithTimeout-derived
// contexts on hot paths.
type Virtual struct {
	start  time.Time
	offset atomic.Int64 // nanoseconds since start; written under mu
	events atomic.Uint64
	rand   *Streams
	yield  chan struct{}

	mu            sync.Mutex
	heap          eventHeap
	seq           uint64
	nextID        uint64
	live          map[*actor]struct{}
	nonDaemon     int // live non-daemon actors
	userTimers    int // pending AfterFunc timers; they keep Run alive
	waiting       []*actor
	foreignParked int
	known         map[<-chan struct{}]struct{} // Done channels only the clock (or Run's ctx) closes
	current       *actor
	running       bool
	phase         phase
	cause         error // what Run returns after teardown
	teardownErr   error // what blocked calls return during teardown
	failure       error // first panic, picked up by the scheduler
	scratch       []*actor
}

// NewVirtual returns a virtual clock that starts at start and derives all
// Rand streams from seed. Nothing runs until Run or RunUntil is called.
func NewVirtual(start time.Time, seed uint64) *Virtual {
	return &Virtual{
		start: start.Round(0), // drop the monotonic reading: it is wall time
		rand:  NewStreams(seed),
		yield: make(chan struct{}),
		live:  make(map[*actor]struct{}),
		known: make(map[<-chan struct{}]struct{}),
	}
}

// Now returns the virtual time. Safe from any goroutine.
func (v *Virtual) Now() time.Time { return v.start.Add(time.Duration(v.offset.Load())) }

// Events returns how many events (actor resumptions and timer fires) have
// been processed so far.
func (v *Virtual) Events() uint64 { return v.events.Load() }

// Seed returns the root seed.
func (v *Virtual) Seed() uint64 { return v.rand.seed }

// Rand returns the cached generator of the named stream.
func (v *Virtual) Rand(stream string) *rand.Rand { return v.rand.Get(stream) }

// Go queues a new actor at the current instant. It may be called from
// anywhere: before Run, from an actor, from an AfterFunc callback or from a
// non-actor goroutine.
func (v *Virtual) Go(ctx context.Context, name string, fn func(ctx context.Context)) {
	v.spawn(ctx, name, fn, false)
}

// GoDaemon queues a daemon actor; see Clock.GoDaemon.
func (v *Virtual) GoDaemon(ctx context.Context, name string, fn func(ctx context.Context)) {
	v.spawn(ctx, name, fn, true)
}

func (v *Virtual) spawn(parent context.Context, name string, fn func(context.Context), daemon bool) {
	if parent == nil {
		parent = context.Background()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	a := &actor{v: v, id: v.nextID, name: name, daemon: daemon, fn: fn,
		resume: make(chan struct{}), waitIdx: -1}
	v.nextID++
	ctx := parent
	if daemon {
		owned := v.knownLocked(parent)
		ctx, a.cancel = context.WithCancel(parent)
		if owned {
			a.doneCh = ctx.Done()
			v.known[a.doneCh] = struct{}{}
		}
	} else {
		v.nonDaemon++
	}
	a.ctx = context.WithValue(ctx, actorKey{}, a)
	v.live[a] = struct{}{}
	v.push(v.offset.Load(), a, nil)
}

// Sleep parks the calling actor for d; d <= 0 re-queues it at the current
// instant behind every ready actor.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	v.mu.Lock()
	a, err := v.callerLocked(ctx)
	if err != nil {
		v.mu.Unlock()
		return fmt.Errorf("clock: sleep: %w", err)
	}
	return v.park(a, ctx, nil, true, v.after(d))
}

// after returns the offset d from now, clamping negative durations to zero
// and saturating instead of overflowing (time must never run backwards).
func (v *Virtual) after(d time.Duration) int64 {
	now := v.offset.Load()
	if d <= 0 {
		return now
	}
	if int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

// Run processes events until every non-daemon actor has finished and no
// AfterFunc timer is pending; daemons are then cancelled and drained at the
// current instant, and Run returns nil. It returns a *DeadlockError when
// non-daemon actors are blocked with nothing left that could wake them, a
// *PanicError when an actor panicked, and ctx.Err() when ctx is cancelled.
// In every error case the blocked actors are woken with an error wrapping the
// cause and allowed to unwind before Run returns, so no goroutine leaks.
func (v *Virtual) Run(ctx context.Context) error { return v.run(ctx, false, 0) }

// RunUntil processes events up to and including time t, then sets Now to t
// (if that is later) and returns nil, leaving actors parked for a later Run
// or RunUntil. Because more work may be injected between calls, RunUntil does
// not detect deadlocks and does not shut daemons down. Panics and ctx
// cancellation are handled as in Run.
func (v *Virtual) RunUntil(ctx context.Context, t time.Time) error {
	return v.run(ctx, true, int64(t.Sub(v.start)))
}

// step is what the scheduler decided to do next.
type step struct {
	a    *actor // resume this actor, or
	f    func() // run this callback, or
	done bool   // return err
	err  error
}

func (v *Virtual) run(ctx context.Context, bounded bool, limit int64) error {
	if err := v.begin(ctx); err != nil {
		return err
	}
	defer v.end(ctx)
	for {
		st := v.next(ctx, bounded, limit)
		switch {
		case st.done:
			return st.err
		case st.a != nil:
			v.resumeActor(st.a)
		default:
			v.callback(st.f)
		}
	}
}

func (v *Virtual) begin(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running {
		return errors.New("clock: Run called while the virtual clock is already running")
	}
	v.running = true
	v.phase, v.cause, v.teardownErr, v.failure = phaseNormal, nil, nil, nil
	if d := ctx.Done(); d != nil {
		v.known[d] = struct{}{} // cancelling it aborts the run, which wakes everyone
	}
	return nil
}

func (v *Virtual) end(ctx context.Context) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.running = false
	if d := ctx.Done(); d != nil {
		delete(v.known, d)
	}
}

// next picks the next thing to run. It loops internally over bookkeeping
// (stale events, context timeouts, phase changes) so the caller only sees
// actor resumptions, callbacks and the final result.
func (v *Virtual) next(ctx context.Context, bounded bool, limit int64) step {
	v.mu.Lock()
	defer v.mu.Unlock()
	limit = max(limit, v.offset.Load())
	for {
		v.checkAbort(ctx)
		if v.foreignParked > 0 {
			v.wakeCancelled()
		}
		if v.phase == phaseNormal && !bounded && v.nonDaemon == 0 && v.userTimers == 0 {
			v.beginShutdown()
		}
		ev, ok := v.peek()
		if ok && (v.phase != phaseNormal && ev.when > v.offset.Load() || bounded && ev.when > limit) {
			ok = false
		}
		if !ok {
			if st, done := v.idle(bounded, limit); done {
				return st
			}
			continue
		}
		v.heap.pop()
		if st, run := v.dispatch(ev); run {
			return st
		}
	}
}

// peek returns the earliest valid event, discarding stale ones.
func (v *Virtual) peek() (event, bool) {
	for len(v.heap) > 0 {
		ev := v.heap[0]
		if v.valid(&ev) {
			return ev, true
		}
		v.heap.pop()
	}
	return event{}, false
}

func (v *Virtual) valid(ev *event) bool {
	if ev.t != nil {
		return ev.t.state == timerPending
	}
	a := ev.a
	return ev.gen == a.gen && (a.state == stateReady || a.state == stateParked)
}

// dispatch advances time to ev and turns it into a step. It reports false
// for events fully handled under the lock (context timeouts, discarded work
// during an abort).
func (v *Virtual) dispatch(ev event) (step, bool) {
	if v.phase == phaseAbort && (ev.t != nil && ev.t.f != nil || ev.a != nil && !ev.a.started) {
		v.discard(ev) // nothing new starts while unwinding
		return step{}, false
	}
	v.offset.Store(ev.when)
	v.events.Add(1)
	if t := ev.t; t != nil {
		t.state = timerFired
		if t.f == nil {
			t.expire()
			return step{}, false
		}
		v.userTimers--
		return step{f: t.f}, true
	}
	a := ev.a
	if a.state == stateParked { // its Sleep timer
		v.unlink(a)
		a.wakeErr = nil
	}
	a.state = stateRunning
	v.current = a
	return step{a: a}, true
}

func (v *Virtual) discard(ev event) {
	if t := ev.t; t != nil {
		t.state = timerStopped
		v.userTimers--
		return
	}
	v.retire(ev.a)
}

// idle handles "no runnable event". It reports true when the run is over.
func (v *Virtual) idle(bounded bool, limit int64) (step, bool) {
	switch {
	case v.phase != phaseNormal:
		if v.claimAllParked(v.teardownErr) {
			return step{}, false
		}
		return step{done: true, err: v.cause}, true
	case bounded:
		v.offset.Store(max(v.offset.Load(), limit))
		return step{done: true}, true
	case v.nonDaemon > 0:
		v.beginAbort(v.deadlock())
	default:
		v.beginShutdown()
	}
	return step{}, false
}

// checkAbort starts a teardown after a panic or when Run's ctx is done.
// Polling Done (a lock-free check) before every event, rather than reacting
// asynchronously, makes a cancellation performed by an actor take effect at a
// deterministic point.
func (v *Virtual) checkAbort(ctx context.Context) {
	if v.phase == phaseAbort {
		return
	}
	if v.failure != nil {
		v.beginAbort(v.failure)
		return
	}
	select {
	case <-ctx.Done():
		v.beginAbort(ctx.Err())
	default:
	}
}

// beginAbort switches to teardown: every parked actor is woken with an error
// wrapping cause, and further blocking calls fail immediately.
func (v *Virtual) beginAbort(cause error) {
	v.phase = phaseAbort
	v.cause = cause
	v.teardownErr = fmt.Errorf("clock: run aborted: %w", cause)
	v.claimAllParked(v.teardownErr)
}

// beginShutdown cancels every daemon (in creation order) and wakes those
// parked on their now-cancelled context.
func (v *Virtual) beginShutdown() {
	v.phase = phaseShutdown
	v.teardownErr = context.Canceled
	for _, a := range v.liveSorted() {
		if a.cancel != nil {
			a.cancel()
		}
	}
	v.wakeCancelled()
}

func (v *Virtual) deadlock() *DeadlockError {
	e := &DeadlockError{At: v.Now()}
	for _, a := range v.liveSorted() {
		if a.state != stateParked {
			continue
		}
		what := "sleep"
		if a.list != nil {
			what = a.list.describe()
		}
		e.Blocked = append(e.Blocked, BlockedActor{Name: a.name, WaitingOn: what, Daemon: a.daemon})
	}
	slices.SortStableFunc(e.Blocked, func(x, y BlockedActor) int { return cmp.Compare(x.Name, y.Name) })
	return e
}

// liveSorted returns the live actors in creation order.
func (v *Virtual) liveSorted() []*actor {
	out := make([]*actor, 0, len(v.live))
	for a := range v.live {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *actor) int { return cmp.Compare(x.id, y.id) })
	return out
}

// claimAllParked wakes every parked actor with err, in creation order, and
// reports whether there was any.
func (v *Virtual) claimAllParked(err error) bool {
	woke := false
	for _, a := range v.liveSorted() {
		if v.claim(a, err) {
			woke = true
		}
	}
	return woke
}

// resumeActor hands the baton to a and waits until it comes back.
func (v *Virtual) resumeActor(a *actor) {
	if a.started {
		a.resume <- struct{}{}
	} else {
		a.started = true
		go v.actorMain(a)
	}
	<-v.yield
}

// callback runs an AfterFunc callback on the scheduler, turning a panic into
// a run failure instead of a crash.
func (v *Virtual) callback(f func()) {
	defer func() {
		if r := recover(); r != nil {
			v.fail(&PanicError{Actor: "AfterFunc callback", Value: r, Stack: debug.Stack()})
		}
	}()
	f()
}

func (v *Virtual) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failure == nil {
		v.failure = err
	}
}

// actorMain is the body of every actor goroutine. It starts holding the
// baton and gives it back for good when fn returns, panics or Goexits.
func (v *Virtual) actorMain(a *actor) {
	completed := false
	defer func() {
		if !completed {
			if r := recover(); r != nil {
				v.fail(&PanicError{Actor: a.name, Value: r, Stack: debug.Stack()})
			}
		}
		v.mu.Lock()
		v.retire(a)
		v.current = nil
		v.mu.Unlock()
		v.yield <- struct{}{}
	}()
	a.fn(a.ctx)
	completed = true
}

// retire removes a finished (or never started) actor from the books.
func (v *Virtual) retire(a *actor) {
	a.state = stateDone
	a.gen++
	delete(v.live, a)
	if !a.daemon {
		v.nonDaemon--
	}
	if a.cancel != nil {
		if a.doneCh != nil {
			delete(v.known, a.doneCh)
		}
		a.cancel()
	}
}

// callerLocked returns the running actor identified by ctx.
func (v *Virtual) callerLocked(ctx context.Context) (*actor, error) {
	if ctx == nil {
		return nil, ErrNotActor
	}
	a, ok := ctx.Value(actorKey{}).(*actor)
	if !ok || a.v != v {
		return nil, ErrNotActor
	}
	if v.current != a {
		return nil, fmt.Errorf("%w (actor %q is not the one running; was its ctx passed to another goroutine?)",
			ErrNotActor, a.name)
	}
	return a, nil
}

// park blocks the running actor a until something claims it. v.mu must be
// held; park releases it before handing the baton back. list, if non-nil,
// is what a waits on; timed adds a wake-up event at when.
func (v *Virtual) park(a *actor, ctx context.Context, list waitList, timed bool, when int64) error {
	if err, exit := v.refuse(a, ctx); err != nil {
		v.mu.Unlock()
		if exit {
			runtime.Goexit()
		}
		return err
	}
	a.gen++
	a.state = stateParked
	a.parkSeq = v.seq
	a.waitCtx = ctx
	if list != nil {
		a.list = list
		list.add(a)
	}
	if ctx.Done() != nil {
		v.watch(a, ctx)
	}
	if timed {
		v.push(when, a, nil)
	} else {
		v.seq++ // keep parkSeq unique
	}
	v.current = nil
	v.mu.Unlock()
	v.yield <- struct{}{}
	<-a.resume
	err := a.wakeErr
	a.wakeErr = nil
	return err
}

// refuse decides whether a blocking call fails without parking. During
// teardown repeated calls use up strikes; exit asks the caller to Goexit.
func (v *Virtual) refuse(a *actor, ctx context.Context) (err error, exit bool) {
	if v.phase == phaseAbort {
		err = v.teardownErr
	} else if err = ctx.Err(); err == nil {
		return nil, false
	}
	if v.phase == phaseNormal {
		return err, false
	}
	a.strikes++
	return err, a.strikes > maxTeardownStrikes
}

// claim wakes a parked actor with err at the current instant. It reports
// false if a is not parked (already claimed by someone else).
func (v *Virtual) claim(a *actor, err error) bool {
	if a.state != stateParked {
		return false
	}
	v.unlink(a)
	a.state = stateReady
	a.wakeErr = err
	a.gen++
	v.push(v.offset.Load(), a, nil)
	return true
}

// unlink detaches a from whatever it was parked on.
func (v *Virtual) unlink(a *actor) {
	if a.list != nil {
		a.list.remove(a)
		a.list = nil
	}
	if i := a.waitIdx; i >= 0 {
		last := len(v.waiting) - 1
		v.waiting[i] = v.waiting[last]
		v.waiting[i].waitIdx = i
		v.waiting[last] = nil
		v.waiting = v.waiting[:last]
		a.waitIdx = -1
	}
	if a.foreign {
		a.foreign = false
		v.foreignParked--
	}
	a.waitCtx = nil
}

// watch records that a is parked on a cancellable ctx.
func (v *Virtual) watch(a *actor, ctx context.Context) {
	a.waitIdx = len(v.waiting)
	v.waiting = append(v.waiting, a)
	if !v.knownLocked(ctx) {
		a.foreign = true
		v.foreignParked++
	}
}

// knownLocked reports whether ctx can only be cancelled by the clock itself
// (or by Run's ctx, which aborts the run anyway).
func (v *Virtual) knownLocked(ctx context.Context) bool {
	d := ctx.Done()
	if d == nil {
		return true
	}
	_, ok := v.known[d]
	return ok
}

// wakeCancelled claims every parked actor whose ctx is done, in park order,
// so simultaneous cancellations resolve deterministically.
func (v *Virtual) wakeCancelled() {
	s := v.scratch[:0]
	for _, a := range v.waiting {
		if a.waitCtx.Err() != nil {
			s = append(s, a)
		}
	}
	slices.SortFunc(s, func(x, y *actor) int { return cmp.Compare(x.parkSeq, y.parkSeq) })
	for i, a := range s {
		v.claim(a, a.waitCtx.Err())
		s[i] = nil
	}
	v.scratch = s[:0]
}

// push schedules an actor (t == nil) or a timer at when.
func (v *Virtual) push(when int64, a *actor, t *vtimer) {
	gen := uint64(0)
	if a != nil {
		gen = a.gen
	}
	v.heap.push(event{when: when, seq: v.seq, a: a, gen: gen, t: t})
	v.seq++
}
