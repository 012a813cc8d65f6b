package detect

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Alert is a detector's alert as a drill reports it: which control raised
// it, what, on which resource, and when it became visible to anyone
// watching. GuardDuty alerts are world.Findings; the metric and billing
// controls modelled here have no finding store and answer with Alerts.
type Alert struct {
	Control string // "cpu-alarm", "cost-anomaly"
	// Cloud is where the alert was raised: "aws" or "azure".
	Cloud    string
	Type     string
	Resource string
	At       time.Time
	Detail   map[string]string
}

// Controls.
const (
	ControlCPUAlarm    = "cpu-alarm"
	ControlCostAnomaly = "cost-anomaly"
)

// CPUAlarmConfig tunes the CPU alarm model.
type CPUAlarmConfig struct {
	// EvaluationDelay is extra time from the window breaching to the alert.
	// Default none: the simulated CloudWatch and Azure Monitor APIs report
	// ALARM from the moment the window breaches, so a responder polling them
	// sees it then, and the alert the drill records must not come later
	// than what the responder could act on (or MTTA would go negative).
	EvaluationDelay Latency
}

// CPU metric alarms the model evaluates: CloudWatch's EC2 CPUUtilization
// (dimension InstanceId) and Azure Monitor's VM "Percentage CPU" metric
// alert (dimension ResourceId, the VM's ARM id).
var cpuMetrics = []struct {
	cloud, namespace, metric, dimension, typePrefix string
}{
	{"aws", "AWS/EC2", "CPUUtilization", "InstanceId", "CloudWatch:"},
	{"azure", "Microsoft.Compute/virtualMachines", "Percentage CPU", "ResourceId", "AzureMonitor:"},
}

// cpuMetricOf returns the CPU metric an alarm watches, if any.
func cpuMetricOf(a *world.Alarm) (cloud, dimension, typePrefix string, ok bool) {
	for _, m := range cpuMetrics {
		if a.Namespace == m.namespace && a.Metric == m.metric {
			return m.cloud, m.dimension, m.typePrefix, true
		}
	}
	return "", "", "", false
}

// CPUAlarm models CPU metric alarms: CloudWatch alarms on EC2
// CPUUtilization and Azure Monitor metric alerts on VM Percentage CPU (the
// seed playbook's "CPU > 95% for 10 minutes" trigger). It evaluates the
// world's alarms from the modelled per-minute CPU samples: ALARM when each of
// the last EvaluationPeriods complete periods breaches the threshold. It
// raises one alert per ALARM episode of an alarm.
//
// It is driven, not an observer: CPU is a level, not an event, so the drill's
// telemetry controller calls EvaluateLocked on its tick. Calling it at least
// once per minute gives minute-accurate alert times whatever the tick.
type CPUAlarm struct {
	cfg CPUAlarmConfig
	// due is the alert time drawn for an alarm currently in ALARM, not yet
	// reported; reported marks alarms whose current episode was reported.
	due      map[string]time.Time
	reported map[string]bool
}

// NewCPUAlarm returns the model; zero config fields keep their defaults.
func NewCPUAlarm(cfg CPUAlarmConfig) *CPUAlarm {
	return &CPUAlarm{cfg: cfg, due: map[string]time.Time{}, reported: map[string]bool{}}
}

// EvaluateLocked checks every CPU alarm at now and returns the alerts
// that became visible by now and were not returned before, in alarm order.
// Call it with the world locked.
func (c *CPUAlarm) EvaluateLocked(w *world.World, now time.Time) []Alert {
	var out []Alert
	for _, a := range w.Alarms {
		cloud, dim, prefix, ok := cpuMetricOf(a)
		if !ok || a.Period <= 0 {
			continue
		}
		_, pending := c.due[a.Name]
		eval := breaching
		if cloud == "azure" {
			eval = slidingBreaching
		}
		breached, since, value := eval(w, a, dim, now, !pending && !c.reported[a.Name])
		if !breached {
			delete(c.due, a.Name)
			c.reported[a.Name] = false
			continue
		}
		if c.reported[a.Name] {
			continue
		}
		at, ok := c.due[a.Name]
		if !ok {
			at = since
			if c.cfg.EvaluationDelay != (Latency{}) {
				at = since.Add(c.cfg.EvaluationDelay.Draw(w.StreamLocked("detector/cpu-alarm")))
			}
			c.due[a.Name] = at
		}
		if at.After(now) {
			continue
		}
		delete(c.due, a.Name)
		c.reported[a.Name] = true
		inst := a.Dimensions[dim]
		out = append(out, Alert{Control: ControlCPUAlarm, Cloud: cloud, Type: prefix + a.Metric, Resource: inst, At: at,
			Detail: map[string]string{"alarm": a.Name, "threshold": fmt.Sprintf("%.0f", a.Threshold),
				"window": (time.Duration(max(a.EvaluationPeriods, 1)) * a.Period).String(),
				"value":  fmt.Sprintf("%.1f", value), "breached_at": since.UTC().Format(time.RFC3339)}})
	}
	return out
}

// breaching reports whether the alarm's last EvaluationPeriods complete
// periods all breach at now, the latest period's value and, with withSince,
// since when (the end of the first complete period that made the window
// breach).
func breaching(w *world.World, a *world.Alarm, dim string, now time.Time, withSince bool) (bool, time.Time, float64) {
	n := max(a.EvaluationPeriods, 1)
	stat := a.Statistic
	if stat == "" {
		stat = "Average"
	}
	inst := w.Instances.Lookup(a.Dimensions[dim])
	if inst == nil {
		return false, time.Time{}, 0
	}
	// breachAt says whether the period starting at t breaches.
	breachAt := func(t time.Time) (bool, float64) {
		st, ok := w.CPUStatsLocked(inst, t, a.Period)
		if !ok {
			return false, 0
		}
		v, err := st.Value(stat)
		if err != nil {
			return false, 0
		}
		return compare(a.Comparison, v, a.Threshold), v
	}
	end := alignDown(now, a.Period) // only complete periods count
	var last float64
	for i := 1; i <= n; i++ {
		ok, v := breachAt(end.Add(-time.Duration(i) * a.Period))
		if !ok {
			return false, time.Time{}, 0
		}
		if i == 1 {
			last = v
		}
	}
	// Walk back to the first complete window that breached (bounded: a
	// long ALARM only costs as much as it lasted, up to a day).
	since := end
	for i := 0; withSince && i < int(24*time.Hour/a.Period); i++ {
		ok, _ := breachAt(since.Add(-time.Duration(n+1) * a.Period))
		if !ok {
			break
		}
		since = since.Add(-a.Period)
	}
	return true, since, last
}

// slidingBreaching is Azure Monitor's metric-alert semantics, the same the
// simulated API and providers/azure apply: every minute, the aggregate over
// the last window (EvaluationPeriods × Period) of per-minute samples is
// compared with the threshold. With withSince it walks back minute by
// minute to when the window first breached.
func slidingBreaching(w *world.World, a *world.Alarm, dim string, now time.Time, withSince bool) (bool, time.Time, float64) {
	stat := a.Statistic
	if stat == "" {
		stat = "Average"
	}
	inst := w.Instances.Lookup(a.Dimensions[dim])
	if inst == nil {
		return false, time.Time{}, 0
	}
	window := time.Duration(max(a.EvaluationPeriods, 1)) * a.Period
	breachAt := func(end time.Time) (bool, float64) {
		st, ok := w.CPUStatsLocked(inst, end.Add(-window), window)
		if !ok {
			return false, 0
		}
		v, err := st.Value(stat)
		if err != nil {
			return false, 0
		}
		return compare(a.Comparison, v, a.Threshold), v
	}
	end := now.Truncate(world.MetricResolution)
	ok, last := breachAt(end)
	if !ok {
		return false, time.Time{}, 0
	}
	since := end
	for i := 0; withSince && i < int(24*time.Hour/world.MetricResolution); i++ {
		if ok, _ := breachAt(since.Add(-world.MetricResolution)); !ok {
			break
		}
		since = since.Add(-world.MetricResolution)
	}
	return true, since, last
}

func alignDown(t time.Time, p time.Duration) time.Time {
	sec := int64(p / time.Second)
	u := t.Unix()
	return time.Unix(u-((u%sec)+sec)%sec, 0).UTC()
}

func compare(op string, v, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return v > threshold
}
