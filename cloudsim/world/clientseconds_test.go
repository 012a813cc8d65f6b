package world_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// A token's lifetime told to a client is in the client's own seconds: on a
// clock running 600 times the wall, an hour of the world is six seconds of
// the client's, and never zero (which OAuth clients read as "no expiry").
func TestClientSecondsFollowTheClockSpeed(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.Equal(t, 3599, world.New(clock.NewVirtual(start, 1), 1).ClientSeconds(time.Hour-time.Second))
	require.Equal(t, 6, world.New(clock.NewScaled(start, 600, 1), 1).ClientSeconds(time.Hour))
	require.Equal(t, 1, world.New(clock.NewScaled(start, 3600, 1), 1).ClientSeconds(time.Hour-time.Second))
}
