package detect_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func defenderWorld(t *testing.T, on bool) (*world.World, *fixedClock, *demo.AzureEnv) {
	t.Helper()
	clk := &fixedClock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	w := world.New(clk, 3)
	env, err := demo.SeedAzure(w, demo.AzureOptions{ScaleInAfter: -1})
	require.NoError(t, err)
	w.Lock()
	azureworld.Of(w).DefenderPlans.Put(env.Subscription, on)
	w.Unlock()
	w.AddObserver(detect.NewDefender(detect.DefenderConfig{}))
	return w, clk, env
}

func TestDefenderRaisesMiningAlertsWithLatency(t *testing.T) {
	w, clk, env := defenderWorld(t, true)
	w.Lock()
	_, err := azureworld.Of(w).OpenFlow(env.VMs[0], world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 443, Domain: "gulf.moneroocean.stream"})
	require.NoError(t, err)
	_, err = azureworld.Of(w).OpenFlow(env.VMs[1], world.FlowSpec{RemoteIP: "93.184.216.34", RemotePort: 443, Domain: "example.com"})
	require.NoError(t, err)
	det := azureworld.DefenderDetector(env.Subscription)
	require.Empty(t, w.VisibleFindingsLocked(det, clk.t), "alerts are not instant")
	got := w.VisibleFindingsLocked(det, clk.t.Add(time.Hour))
	w.Unlock()
	require.Len(t, got, 2)
	for _, f := range got {
		require.Equal(t, env.VMs[0], f.ResourceID, "ordinary traffic raises nothing")
		lat := f.CreatedAt.Sub(f.FirstSeen)
		require.GreaterOrEqual(t, lat, 6*time.Minute)
		require.LessOrEqual(t, lat, 40*time.Minute)
	}
}

func TestDefenderOffRaisesNothing(t *testing.T) {
	w, clk, env := defenderWorld(t, false)
	w.Lock()
	defer w.Unlock()
	_, err := azureworld.Of(w).OpenFlow(env.VMs[0], world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 3333})
	require.NoError(t, err)
	require.Empty(t, w.VisibleFindingsLocked(azureworld.DefenderDetector(env.Subscription), clk.t.Add(24*time.Hour)))
}
