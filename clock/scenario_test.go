package clock_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// drill runs a randomised but seeded incident: 20 responders sleep random
// durations from their own streams, spawn helpers, wait on wait groups, and
// exchange evidence through queues with timeouts. It returns the event log.
func drill(t *testing.T, seed uint64) []string {
	t.Helper()
	v := clock.NewVirtual(epoch, seed)
	var log []string
	logf := func(who, format string, args ...any) {
		log = append(log, fmt.Sprintf("%s %s %s", v.Now().Format(time.RFC3339Nano), who, fmt.Sprintf(format, args...)))
	}
	evidence := clock.NewChan[string](v, "evidence")
	v.GoDaemon(context.Background(), "collector", func(ctx context.Context) {
		for {
			item, err := evidence.Recv(ctx)
			if err != nil {
				logf("collector", "stop: %v", err)
				return
			}
			logf("collector", "got %s", item)
		}
	})
	v.Go(context.Background(), "lead", func(ctx context.Context) {
		wg := v.NewWaitGroup()
		for i := range 20 {
			name := fmt.Sprintf("responder-%02d", i)
			wg.Add(1)
			v.Go(ctx, name, func(ctx context.Context) {
				defer wg.Done()
				responder(ctx, v, name, evidence, logf)
			})
		}
		require.NoError(t, wg.Wait(ctx))
		logf("lead", "all responders done")
	})
	require.NoError(t, v.Run(context.Background()))
	logf("end", "events=%d", v.Events())
	return log
}

func responder(ctx context.Context, v *clock.Virtual, name string, evidence *clock.Chan[string],
	logf func(string, string, ...any)) {
	r := v.Rand(name)
	inbox := clock.NewChan[int](v, name+"/inbox")
	helpers := v.NewWaitGroup()
	for step := range 3 + r.IntN(4) {
		if err := v.Sleep(ctx, time.Duration(r.IntN(3600))*time.Second); err != nil {
			logf(name, "sleep error %v", err)
			return
		}
		logf(name, "step %d", step)
		if r.IntN(3) == 0 {
			helpers.Add(1)
			helper := fmt.Sprintf("%s/helper-%d", name, step)
			delay := time.Duration(r.IntN(900)) * time.Second
			v.Go(ctx, helper, func(ctx context.Context) {
				defer helpers.Done()
				_ = v.Sleep(ctx, delay)
				evidence.Send(helper)
				inbox.Send(step)
				logf(helper, "reported")
			})
		}
		tctx, cancel := v.WithTimeout(ctx, time.Duration(1+r.IntN(600))*time.Second)
		got, err := inbox.Recv(tctx)
		cancel()
		logf(name, "inbox %d %v", got, err)
	}
	if err := helpers.Wait(ctx); err != nil {
		logf(name, "wait error %v", err)
	}
	logf(name, "done")
}

func hashLog(log []string) string {
	sum := sha256.Sum256([]byte(strings.Join(log, "\n")))
	return hex.EncodeToString(sum[:])
}

func TestDeterministicDrill(t *testing.T) {
	first := drill(t, 42)
	require.Greater(t, len(first), 100, "scenario too small to be meaningful")
	for i := range 20 {
		require.Equal(t, first, drill(t, 42), "run %d diverged", i)
	}
	require.NotEqual(t, hashLog(first), hashLog(drill(t, 43)), "seed must matter")

	want := hashLog(first)
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		require.Equal(t, want, hashLog(drill(t, 42)), "GOMAXPROCS=%d", procs)
	}
}
