package detect_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// costWorld has one baseline instance and, ten minutes later, three GPU
// instances launched in another region.
func costWorld(t *testing.T) (*clock, *world.World, []string) {
	t.Helper()
	clk := &clock{t: start}
	w := world.New(clk, 7)
	w.Lock()
	defer w.Unlock()
	w.AddAccountLocked("aws", acct, "test", "us-east-1")
	_, err := awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{Account: acct, Region: "us-east-1", Type: "c5.xlarge", Running: true})
	require.NoError(t, err)
	clk.Advance(10 * time.Minute)
	var gpus []string
	for i := 0; i < 3; i++ {
		inst, err := awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{Account: acct, Region: "us-west-2", Type: "p3.2xlarge", Running: true})
		require.NoError(t, err)
		gpus = append(gpus, inst.ID)
	}
	return clk, w, gpus
}

func evaluateHourly(clk *clock, w *world.World, m *detect.CostAnomaly, end time.Time) []detect.Alert {
	var out []detect.Alert
	for clk.Now().Before(end) {
		clk.Advance(time.Hour)
		w.Lock()
		out = append(out, m.EvaluateLocked(w, clk.Now())...)
		w.Unlock()
	}
	return out
}

func TestCostAnomalyReportsGPUSpendHoursLater(t *testing.T) {
	clk, w, _ := costWorld(t)
	m := detect.NewCostAnomaly(detect.CostAnomalyConfig{Baseline: start,
		Delay: detect.Latency{Min: 3 * time.Hour, Mode: 4 * time.Hour, Max: 6 * time.Hour}})
	alerts := evaluateHourly(clk, w, m, start.Add(24*time.Hour))
	require.Len(t, alerts, 1)
	a := alerts[0]
	launch := start.Add(10 * time.Minute)
	require.False(t, a.At.Before(launch.Add(3*time.Hour)), "at %s", a.At)
	require.False(t, a.At.After(launch.Add(6*time.Hour)), "at %s", a.At)
	require.Equal(t, detect.ControlCostAnomaly, a.Control)
	require.Equal(t, "3", a.Detail["instances"], "the baseline instance is expected spend")
	require.Equal(t, "us-west-2", a.Detail["regions"])
	require.Equal(t, "p3.2xlarge", a.Detail["instance_types"])
	w.Lock()
	want := 3 * 3.06 * a.At.Sub(launch).Hours()
	require.InDelta(t, want, m.SpendLocked(w, a.At), 0.001)
	w.Unlock()
}

func TestCostAnomalyNeedsTheInstancesToRunLongEnough(t *testing.T) {
	clk, w, gpus := costWorld(t)
	clk.Advance(30 * time.Minute)
	w.Lock()
	for _, id := range gpus {
		_, err := awsworld.Of(w).TerminateInstance(id)
		require.NoError(t, err)
	}
	w.Unlock()
	clk.Advance(time.Minute)
	w.Advance(clk.Now())
	// Half an hour of three p3.2xlarge is about $4.6, under the $10 bar,
	// at every detection run of the next two days.
	m := detect.NewCostAnomaly(detect.CostAnomalyConfig{Baseline: start})
	require.Empty(t, evaluateHourly(clk, w, m, start.Add(48*time.Hour)))
	w.Lock()
	require.InDelta(t, 3*3.06*0.5, m.SpendLocked(w, start.Add(48*time.Hour)), 0.1)
	w.Unlock()
}

func TestCostAnomalyQuietWithoutUnexpectedInstances(t *testing.T) {
	clk := &clock{t: start}
	w := world.New(clk, 7)
	w.Lock()
	w.AddAccountLocked("aws", acct, "test", "us-east-1")
	_, err := awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{Account: acct, Region: "us-east-1", Type: "p3.2xlarge", Running: true})
	require.NoError(t, err)
	w.Unlock()
	require.Empty(t, evaluateHourly(clk, w, detect.NewCostAnomaly(detect.CostAnomalyConfig{Baseline: start}), start.Add(48*time.Hour)))
}
