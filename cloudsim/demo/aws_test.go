package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func TestSeedAWSIsDeterministicAndComplete(t *testing.T) {
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a, err := SeedAWS(world.New(&fixedClock{start}, 5), Options{})
	require.NoError(t, err)
	b, err := SeedAWS(world.New(&fixedClock{start}, 5), Options{})
	require.NoError(t, err)
	c, err := SeedAWS(world.New(&fixedClock{start}, 6), Options{})
	require.NoError(t, err)
	require.Equal(t, a, b, "same seed, same environment")
	require.NotEqual(t, a.AdminKeyID, c.AdminKeyID)
	require.Len(t, a.Instances, 3)
	require.Contains(t, a.Buckets, DemoEvidenceBucket)
	require.NotEmpty(t, a.Detector)
}

func TestSeedAWSScalesInOnSchedule(t *testing.T) {
	clk := &fixedClock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	w := world.New(clk, 1)
	env, err := SeedAWS(w, Options{ScaleInAfter: time.Hour})
	require.NoError(t, err)
	clk.t = clk.t.Add(time.Hour + time.Minute)
	w.Lock()
	defer w.Unlock()
	running := 0
	for _, id := range env.Instances {
		if w.Instances.Lookup(id).State == world.StateRunning {
			running++
		}
	}
	require.Equal(t, 2, running, "one unprotected instance is scaled in")
}
