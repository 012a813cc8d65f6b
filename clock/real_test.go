package clock_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
)

func TestRealSleepRespectsCancel(t *testing.T) {
	c := clock.NewReal(1)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := c.Sleep(ctx, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)

	start = time.Now()
	require.NoError(t, c.Sleep(context.Background(), 10*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 10*time.Millisecond)
	assert.WithinDuration(t, time.Now(), c.Now(), time.Second)
}

func TestRealGoWaitGroupChan(t *testing.T) {
	c := clock.NewReal(1)
	ctx := context.Background()
	q := clock.NewChan[int](c, "q")
	wg := c.NewWaitGroup()
	for i := range 10 {
		wg.Add(1)
		c.Go(ctx, "producer", func(context.Context) {
			defer wg.Done()
			q.Send(i)
		})
	}
	require.NoError(t, wg.Wait(ctx))
	assert.Equal(t, 10, q.Len())
	sum := 0
	for range 10 {
		x, err := q.Recv(ctx)
		require.NoError(t, err)
		sum += x
	}
	assert.Equal(t, 45, sum)
	_, ok := q.TryRecv()
	assert.False(t, ok)

	// A blocked Recv is woken by a later Send from another goroutine.
	got := make(chan int, 1)
	c.GoDaemon(ctx, "receiver", func(ctx context.Context) {
		x, err := q.Recv(ctx)
		if err == nil {
			got <- x
		}
	})
	c.AfterFunc(5*time.Millisecond, func() { q.Send(99) })
	select {
	case x := <-got:
		assert.Equal(t, 99, x)
	case <-time.After(10 * time.Second):
		t.Fatal("Recv was not woken by Send")
	}
}

func TestRealWaitAndRecvHonourCtx(t *testing.T) {
	c := clock.NewReal(1)
	wg := c.NewWaitGroup()
	wg.Add(1)
	tctx, cancel := c.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, wg.Wait(tctx), context.DeadlineExceeded)
	_, err := clock.NewChan[string](c, "q").Recv(tctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	wg.Done()
	require.NoError(t, wg.Wait(context.Background()))
	assert.Panics(t, func() { wg.Done() })
}

func TestRealTimerStop(t *testing.T) {
	c := clock.NewReal(1)
	var mu sync.Mutex
	fired := false
	tm := c.AfterFunc(time.Hour, func() { mu.Lock(); fired = true; mu.Unlock() })
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop())
	mu.Lock()
	defer mu.Unlock()
	assert.False(t, fired)
}
