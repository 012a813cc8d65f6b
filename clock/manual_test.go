package clock

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestManualAdvancesOnSleep(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewManual(start)
	require.NoError(t, c.Sleep(context.Background(), time.Minute))
	c.Advance(time.Second)
	require.NoError(t, c.Sleep(context.Background(), -time.Hour), "negative sleeps do not move time back")
	require.Equal(t, start.Add(time.Minute+time.Second), c.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
	require.Equal(t, start.Add(time.Minute+time.Second), c.Now())
}
