package detect_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// cpuWorld is one running instance at 12% CPU with the seed playbook's
// alarm (CPU > 95% for two 5-minute periods).
func cpuWorld(t *testing.T, seed uint64) (*clock, *world.World, *world.Instance) {
	t.Helper()
	clk := &clock{t: start}
	w := world.New(clk, seed)
	w.Lock()
	defer w.Unlock()
	w.AddAccountLocked("aws", acct, "test", "us-east-1")
	inst, err := awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{Account: acct, Region: "us-east-1", Running: true,
		CPU: []world.CPUPoint{{At: start, Percent: 12}}})
	require.NoError(t, err)
	w.Alarms = append(w.Alarms, &world.Alarm{Name: "cpu-high", Namespace: "AWS/EC2", Metric: "CPUUtilization",
		Dimensions: map[string]string{"InstanceId": inst.ID}, Threshold: 95, Comparison: "GreaterThanThreshold",
		Period: 5 * time.Minute, EvaluationPeriods: 2, Statistic: "Average"})
	return clk, w, inst
}

// tickUntil evaluates the model once a minute up to end and returns the
// alerts with the tick that returned each.
func tickUntil(clk *clock, w *world.World, m *detect.CPUAlarm, end time.Time) (alerts []detect.Alert, seenAt []time.Time) {
	for clk.Now().Before(end) {
		clk.Advance(time.Minute)
		w.Lock()
		got := m.EvaluateLocked(w, clk.Now())
		w.Unlock()
		for _, a := range got {
			alerts = append(alerts, a)
			seenAt = append(seenAt, clk.Now())
		}
	}
	return alerts, seenAt
}

func TestCPUAlarmFiresOnceAfterTheWindowBreaches(t *testing.T) {
	clk, w, inst := cpuWorld(t, 7)
	w.Lock()
	w.SetCPULocked(inst, start.Add(3*time.Minute), 99) // the miner starts at 09:03
	w.Unlock()
	m := detect.NewCPUAlarm(detect.CPUAlarmConfig{})
	alerts, seen := tickUntil(clk, w, m, start.Add(40*time.Minute))
	require.Len(t, alerts, 1, "one alert per ALARM episode")
	a := alerts[0]
	// 09:05-09:10 and 09:10-09:15 are the first two whole breaching
	// periods, so the alarm state begins at 09:15, when DescribeAlarms
	// starts answering ALARM: the alert is that moment.
	breach := start.Add(15 * time.Minute)
	require.Equal(t, breach.Format(time.RFC3339), a.Detail["breached_at"])
	require.Equal(t, breach, a.At)
	require.False(t, seen[0].Before(a.At), "an alert is never reported before it is visible")
	require.True(t, seen[0].Sub(a.At) < time.Minute, "reported on the first tick after it is visible")
	require.Equal(t, detect.ControlCPUAlarm, a.Control)
	require.Equal(t, inst.ID, a.Resource)
	require.Equal(t, "10m0s", a.Detail["window"])

	// Back to normal, then a second episode raises a second alert.
	w.Lock()
	w.SetCPULocked(inst, start.Add(41*time.Minute), 10)
	w.SetCPULocked(inst, start.Add(70*time.Minute), 99)
	w.Unlock()
	again, _ := tickUntil(clk, w, m, start.Add(100*time.Minute))
	require.Len(t, again, 1)
	require.Equal(t, start.Add(80*time.Minute).Format(time.RFC3339), again[0].Detail["breached_at"])
}

func TestCPUAlarmIgnoresShortSpikesAndIsDeterministic(t *testing.T) {
	clk, w, inst := cpuWorld(t, 7)
	w.Lock()
	w.SetCPULocked(inst, start.Add(5*time.Minute), 99)
	w.SetCPULocked(inst, start.Add(12*time.Minute), 20) // 7 minutes: one full period only
	w.Unlock()
	alerts, _ := tickUntil(clk, w, detect.NewCPUAlarm(detect.CPUAlarmConfig{}), start.Add(time.Hour))
	require.Empty(t, alerts)

	at := func(seed uint64) time.Time {
		clk, w, inst := cpuWorld(t, seed)
		w.Lock()
		w.SetCPULocked(inst, start.Add(3*time.Minute), 99)
		w.Unlock()
		alerts, _ := tickUntil(clk, w, detect.NewCPUAlarm(detect.CPUAlarmConfig{}), start.Add(30*time.Minute))
		require.Len(t, alerts, 1)
		return alerts[0].At
	}
	require.Equal(t, at(7), at(7))
}

func TestCPUAlarmStopsWithTheInstance(t *testing.T) {
	clk, w, inst := cpuWorld(t, 7)
	w.Lock()
	w.SetCPULocked(inst, start.Add(3*time.Minute), 99)
	w.Unlock()
	clk.Advance(12 * time.Minute) // one breaching period so far
	w.Lock()
	_, err := awsworld.Of(w).TerminateInstance(inst.ID)
	require.NoError(t, err)
	w.Unlock()
	alerts, _ := tickUntil(clk, w, detect.NewCPUAlarm(detect.CPUAlarmConfig{}), start.Add(time.Hour))
	require.Empty(t, alerts, "a terminated instance reports no datapoints, so the window never completes")
}

// Azure metric alerts evaluate a sliding window every minute, as the
// simulated Azure Monitor API and providers/azure do: the alert is the
// first minute whose last-10-minute average breaches, not a period boundary.
func TestCPUAlarmAzureUsesTheSlidingWindow(t *testing.T) {
	clk, w, inst := cpuWorld(t, 7)
	w.Lock()
	a := w.Alarms[0]
	a.Namespace, a.Metric = "Microsoft.Compute/virtualMachines", "Percentage CPU"
	a.Dimensions = map[string]string{"ResourceId": inst.ID}
	w.SetCPULocked(inst, start.Add(3*time.Minute), 99)
	w.Unlock()
	alerts, _ := tickUntil(clk, w, detect.NewCPUAlarm(detect.CPUAlarmConfig{}), start.Add(30*time.Minute))
	require.Len(t, alerts, 1)
	// At 09:12 the window 09:02-09:12 still holds one idle minute (avg ~90);
	// at 09:13 all ten samples are the miner's.
	require.Equal(t, start.Add(13*time.Minute), alerts[0].At)
	require.Equal(t, "azure", alerts[0].Cloud)
}
