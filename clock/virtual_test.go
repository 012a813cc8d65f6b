package clock_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
)

// firing is one observed timer or wake-up in the 72-hour timeline.
type firing struct {
	at      time.Duration
	isActor bool
	id      int
}

func TestTimeline72h(t *testing.T) {
	const n = 10_000
	v := clock.NewVirtual(epoch, 7)
	r := v.Rand("timeline")
	var fired []firing
	want := make([]firing, 0, n)
	for i := range n {
		// Minute granularity forces many ties, which must resolve FIFO.
		off := time.Duration(r.IntN(72*60)) * time.Minute
		f := firing{at: off, isActor: i%2 == 1, id: i}
		want = append(want, f)
		record := func() { fired = append(fired, firing{at: v.Now().Sub(epoch), isActor: f.isActor, id: i}) }
		if !f.isActor {
			v.AfterFunc(off, record)
			continue
		}
		v.Go(context.Background(), fmt.Sprintf("sleeper-%d", i), func(ctx context.Context) {
			if err := v.Sleep(ctx, off); err == nil {
				record()
			}
		})
	}
	require.NoError(t, v.Run(context.Background()))

	// AfterFuncs were queued before Run, sleepers' wake-ups when they ran at
	// t=0, in start order: so (time, kind, id) is exactly (time, seq).
	slices.SortStableFunc(want, func(a, b firing) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if a.isActor != b.isActor {
			if a.isActor {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.id, b.id)
	})
	require.Len(t, fired, n)
	require.Equal(t, want, fired)
	assert.Equal(t, epoch.Add(want[n-1].at), v.Now())
	assert.LessOrEqual(t, want[n-1].at, 72*time.Hour)
	// n/2 AfterFunc fires + n/2 actor starts + n/2 sleep wake-ups.
	assert.Equal(t, uint64(3*n/2), v.Events())
}

func TestDeadlockReport(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	toCollector := clock.NewChan[string](v, "evidence")
	toResponder := clock.NewChan[string](v, "orders")
	errs := make(map[string]error)
	for _, p := range []struct {
		name string
		in   *clock.Chan[string]
		out  *clock.Chan[string]
	}{{"responder", toResponder, toCollector}, {"collector", toCollector, toResponder}} {
		v.Go(context.Background(), p.name, func(ctx context.Context) {
			require.NoError(t, v.Sleep(ctx, 3*time.Hour))
			msg, err := p.in.Recv(ctx) // each waits for the other: deadlock
			errs[p.name] = err
			if err == nil {
				p.out.Send(msg)
			}
		})
	}
	err := v.Run(context.Background())

	var dl *clock.DeadlockError
	require.ErrorAs(t, err, &dl)
	assert.Equal(t, epoch.Add(3*time.Hour), dl.At)
	assert.Equal(t, []clock.BlockedActor{
		{Name: "collector", WaitingOn: `recv on chan "evidence"`},
		{Name: "responder", WaitingOn: `recv on chan "orders"`},
	}, dl.Blocked)
	assert.Equal(t, `clock: deadlock at 2026-01-01T03:00:00Z: 2 actors blocked: `+
		`"collector" (recv on chan "evidence"), "responder" (recv on chan "orders")`, err.Error())
	// Both blocked calls were unwound with an error wrapping the deadlock.
	require.Len(t, errs, 2)
	for name, e := range errs {
		assert.ErrorAs(t, e, &dl, name)
	}
}

func TestDeadlockOnWaitGroup(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	wg := v.NewWaitGroup()
	wg.Add(1)
	v.Go(context.Background(), "responder", func(ctx context.Context) { _ = wg.Wait(ctx) })
	err := v.Run(context.Background())
	require.EqualError(t, err, `clock: deadlock at 2026-01-01T00:00:00Z: 1 actor blocked: "responder" (wait on waitgroup)`)
}

func TestDaemonBlockedForeverIsNotDeadlock(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	never := clock.NewChan[int](v, "never")
	var daemonErr, tickerErr error
	v.GoDaemon(context.Background(), "listener", func(ctx context.Context) {
		_, daemonErr = never.Recv(ctx)
	})
	v.GoDaemon(context.Background(), "ticker", func(ctx context.Context) {
		for tickerErr == nil {
			tickerErr = v.Sleep(ctx, time.Minute)
		}
	})
	v.Go(context.Background(), "main", func(ctx context.Context) {
		require.NoError(t, v.Sleep(ctx, 90*time.Second))
	})
	require.NoError(t, v.Run(context.Background()))
	assert.ErrorIs(t, daemonErr, context.Canceled)
	assert.ErrorIs(t, tickerErr, context.Canceled)
	assert.Equal(t, epoch.Add(90*time.Second), v.Now())
}

func TestVirtualTimeout(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	ch := clock.NewChan[int](v, "alerts")
	var (
		err      error
		at       time.Time
		deadline bool
	)
	v.Go(context.Background(), "waiter", func(ctx context.Context) {
		tctx, cancel := v.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		_, deadline = tctx.Deadline()
		_, err = ch.Recv(tctx)
		at = v.Now()
	})
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, context.DeadlineExceeded, err)
	assert.Equal(t, epoch.Add(5*time.Minute), at)
	assert.False(t, deadline, "a virtual timeout must not expose a wall-clock deadline")
}

func TestTimeoutCancelFuncWakesAndStopsTimer(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	ch := clock.NewChan[int](v, "alerts")
	var (
		err error
		at  time.Time
	)
	v.Go(context.Background(), "main", func(ctx context.Context) {
		tctx, cancel := v.WithTimeout(ctx, time.Hour)
		v.Go(ctx, "canceller", func(ctx context.Context) {
			_ = v.Sleep(ctx, time.Minute)
			cancel()
		})
		_, err = ch.Recv(tctx)
		at = v.Now()
	})
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, context.Canceled, err)
	assert.Equal(t, epoch.Add(time.Minute), at)
	assert.Equal(t, epoch.Add(time.Minute), v.Now(), "stopped timeout must not advance time")
}

func TestForeignContextCancellation(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	ch := clock.NewChan[int](v, "alerts")
	var (
		err error
		at  time.Time
	)
	v.Go(context.Background(), "main", func(ctx context.Context) {
		cctx, cancel := context.WithCancel(ctx)
		v.Go(ctx, "canceller", func(ctx context.Context) {
			_ = v.Sleep(ctx, 2*time.Minute)
			cancel()
		})
		_, err = ch.Recv(cctx)
		at = v.Now()
	})
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, context.Canceled, err)
	assert.Equal(t, epoch.Add(2*time.Minute), at)
}

func TestSleepsOverlap(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	finished := map[string]time.Time{}
	for _, name := range []string{"a", "b", "c"} {
		v.Go(context.Background(), name, func(ctx context.Context) {
			for range 10 {
				require.NoError(t, v.Sleep(ctx, 100*time.Millisecond))
			}
			finished[name] = v.Now()
		})
	}
	require.NoError(t, v.Run(context.Background()))
	want := epoch.Add(time.Second)
	assert.Equal(t, map[string]time.Time{"a": want, "b": want, "c": want}, finished)
	assert.Equal(t, want, v.Now())
}

func TestSleepZeroYields(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	var order []string
	for _, name := range []string{"a", "b"} {
		v.Go(context.Background(), name, func(ctx context.Context) {
			for i := range 3 {
				order = append(order, fmt.Sprint(name, i))
				require.NoError(t, v.Sleep(ctx, 0))
			}
		})
	}
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, []string{"a0", "b0", "a1", "b1", "a2", "b2"}, order)
	assert.Equal(t, epoch, v.Now())
}

func TestAfterFuncStopAndSpawn(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	var got []string
	stopped := v.AfterFunc(time.Hour, func() { got = append(got, "stopped") })
	v.AfterFunc(time.Minute, func() {
		got = append(got, "timer")
		v.Go(context.Background(), "spawned", func(ctx context.Context) {
			require.NoError(t, v.Sleep(ctx, time.Minute))
			got = append(got, "spawned "+v.Now().Format(time.TimeOnly))
		})
	})
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop(), "second Stop reports not pending")
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, []string{"timer", "spawned 00:02:00"}, got)
	assert.Equal(t, epoch.Add(2*time.Minute), v.Now())
}

func TestRunUntilResumes(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	var ticks []time.Duration
	v.Go(context.Background(), "ticker", func(ctx context.Context) {
		for range 5 {
			require.NoError(t, v.Sleep(ctx, time.Hour))
			ticks = append(ticks, v.Now().Sub(epoch))
		}
	})
	require.NoError(t, v.RunUntil(context.Background(), epoch.Add(150*time.Minute)))
	assert.Equal(t, []time.Duration{time.Hour, 2 * time.Hour}, ticks)
	assert.Equal(t, epoch.Add(150*time.Minute), v.Now())
	require.NoError(t, v.Run(context.Background()))
	assert.Len(t, ticks, 5)
	assert.Equal(t, epoch.Add(5*time.Hour), v.Now())
}

func TestRunContextCancelled(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sleeperErr error
	exited := false
	v.Go(runCtx, "sleeper", func(ctx context.Context) {
		defer func() { exited = true }()
		for sleeperErr == nil {
			sleeperErr = v.Sleep(ctx, time.Hour)
		}
	})
	v.Go(runCtx, "operator", func(ctx context.Context) {
		_ = v.Sleep(ctx, 10*time.Hour)
		cancel()
		_ = v.Sleep(ctx, time.Hour) // ctx is done now: returns at once
	})
	err := v.Run(runCtx)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, sleeperErr, context.Canceled)
	assert.True(t, exited, "actors must be unwound before Run returns")
	assert.Equal(t, epoch.Add(10*time.Hour), v.Now())
}

func TestNotActor(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	other := clock.NewVirtual(epoch, 1)
	ch := clock.NewChan[int](v, "q")
	wg := v.NewWaitGroup()
	wg.Add(1)

	require.ErrorIs(t, v.Sleep(context.Background(), time.Second), clock.ErrNotActor)
	_, err := ch.Recv(context.Background())
	require.ErrorIs(t, err, clock.ErrNotActor)
	require.ErrorIs(t, wg.Wait(context.Background()), clock.ErrNotActor)

	var foreign error
	other.Go(context.Background(), "alien", func(ctx context.Context) {
		foreign = v.Sleep(ctx, time.Second) // ctx of another clock
	})
	require.NoError(t, other.Run(context.Background()))
	require.ErrorIs(t, foreign, clock.ErrNotActor)
}

func TestPanicInActor(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	q := clock.NewChan[int](v, "q")
	var waiterErr error
	v.Go(context.Background(), "waiter", func(ctx context.Context) {
		_, waiterErr = q.Recv(ctx)
	})
	v.Go(context.Background(), "bomber", func(ctx context.Context) {
		_ = v.Sleep(ctx, time.Minute)
		panic("boom")
	})
	err := v.Run(context.Background())
	var pe *clock.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "bomber", pe.Actor)
	assert.Contains(t, err.Error(), `"bomber"`)
	assert.Contains(t, err.Error(), "boom")
	assert.NotEmpty(t, pe.Stack)
	assert.ErrorAs(t, waiterErr, &pe, "blocked actor unwound with the panic as cause")
}

func TestPanicInAfterFunc(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	v.AfterFunc(time.Second, func() { panic(errors.New("callback broke")) })
	err := v.Run(context.Background())
	var pe *clock.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "AfterFunc callback", pe.Actor)
	assert.EqualError(t, errors.Unwrap(err), "callback broke")
}

func TestErrorIgnoringActorCannotHangTeardown(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	q := clock.NewChan[int](v, "q")
	calls := 0
	v.Go(context.Background(), "stubborn", func(ctx context.Context) {
		for {
			calls++
			_, _ = q.Recv(ctx) // ignores the error forever
		}
	})
	var dl *clock.DeadlockError
	require.ErrorAs(t, v.Run(context.Background()), &dl)
	assert.Greater(t, calls, 1)
	assert.Less(t, calls, 100)
}

func TestWaitGroupAndChanVirtual(t *testing.T) {
	v := clock.NewVirtual(epoch, 1)
	q := clock.NewChan[int](v, "q")
	wg := v.NewWaitGroup()
	var got []int
	v.Go(context.Background(), "main", func(ctx context.Context) {
		for i := range 3 {
			wg.Add(1)
			v.Go(ctx, fmt.Sprint("producer-", i), func(ctx context.Context) {
				defer wg.Done()
				require.NoError(t, v.Sleep(ctx, time.Duration(3-i)*time.Second))
				q.Send(i)
			})
		}
		require.NoError(t, wg.Wait(ctx))
		assert.Equal(t, 3, q.Len())
		first, err := q.Recv(ctx)
		require.NoError(t, err)
		got = append(got, first)
		for {
			x, ok := q.TryRecv()
			if !ok {
				break
			}
			got = append(got, x)
		}
	})
	require.NoError(t, v.Run(context.Background()))
	assert.Equal(t, []int{2, 1, 0}, got)
	assert.Equal(t, epoch.Add(3*time.Second), v.Now())
}
