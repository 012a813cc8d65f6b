package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
)

func TestScaledRunsFasterFromStart(t *testing.T) {
	start := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	c := clock.NewScaled(start, 600, 1)
	assert.WithinDuration(t, start, c.Now(), time.Minute)
	wall := time.Now()
	require.NoError(t, c.Sleep(context.Background(), time.Minute)) // 100ms of wall time
	assert.GreaterOrEqual(t, time.Since(wall), 100*time.Millisecond)
	assert.Less(t, time.Since(wall), 5*time.Second)
	assert.False(t, c.Now().Before(start.Add(time.Minute)))
}

// Actors run one at a time: each holds the baton while it runs and gives
// it back while it sleeps, so a counter they share needs no lock.
func TestScaledActorsTakeTurns(t *testing.T) {
	c := clock.NewScaled(time.Unix(0, 0), 3600, 1)
	ctx := context.Background()
	wg := c.NewWaitGroup()
	running, maxRunning := 0, 0
	for range 8 {
		wg.Add(1)
		c.Go(ctx, "worker", func(ctx context.Context) {
			defer wg.Done()
			for range 5 {
				running++
				maxRunning = max(maxRunning, running)
				time.Sleep(time.Millisecond) // busy, holding the baton
				running--
				require.NoError(t, c.Sleep(ctx, time.Second))
			}
		})
	}
	done := make(chan struct{})
	c.Go(ctx, "waiter", func(ctx context.Context) {
		defer close(done)
		require.NoError(t, wg.Wait(ctx))
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("actors did not finish")
	}
	assert.Equal(t, 1, maxRunning)
}
