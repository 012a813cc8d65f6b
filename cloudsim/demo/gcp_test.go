package demo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func TestSeedGCPIsDeterministicAndScalesIn(t *testing.T) {
	seed := func() (*world.World, *demo.GCPEnv, *fixedClock) {
		clk := &fixedClock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
		w := world.New(clk, 7)
		env, err := demo.SeedGCP(w, demo.GCPOptions{})
		require.NoError(t, err)
		return w, env, clk
	}
	w, env, clk := seed()
	_, env2, _ := seed()
	require.Equal(t, env, env2)
	require.Len(t, env.Instances, 3)
	w.Lock()
	users := gcpworld.Of(w).ServiceAccountUsers(env.ServiceAccount)
	w.Unlock()
	require.Len(t, users, 4, "three MIG members and the batch VM share the service account")

	clk.t = clk.t.Add(3 * time.Hour)
	w.Lock()
	defer w.Unlock()
	g := gcpworld.Of(w)
	require.Nil(t, g.Instances.Lookup(env.Instances[2]), "scale-in deleted the newest member")
	require.NotNil(t, g.Instances.Lookup(env.Instances[0]))
	last := w.Audit[len(w.Audit)-1]
	require.Equal(t, "v1.compute.instances.delete", last.Operation)
	require.Contains(t, last.PrincipalARN, "@cloudservices.gserviceaccount.com")
}
