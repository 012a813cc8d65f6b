package world

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Metric sampling, shared by the clouds' metric models (CloudWatch, Azure
// Monitor) and the detectors: CPU is modelled as one sample per minute
// (detailed monitoring); a statistic over a period aggregates the samples
// whose minute falls inside it. Values come from the instance's CPU series
// (Instance.CPU) plus a small deterministic jitter, so two drills with the
// same seed read identical graphs and an idle box never reads a flat 0.

// MetricResolution is the spacing of modelled samples.
const MetricResolution = time.Minute

// cpuNoise is the half-width, in percentage points, of the deterministic
// jitter added to each CPU sample.
const cpuNoise = 1.5

// CPUSampleLocked returns the instance's CPU utilisation sample at t and
// whether a sample exists. There is none before launch, after termination,
// in the future, or (approximately) while the instance is not running: the
// world keeps no state history, so an instance that is stopped now reports
// no sample from its last CPU point on. EC2 handlers that stop an instance
// should call SetCPULocked(inst, now, 0) so earlier history stays intact.
func (w *World) CPUSampleLocked(inst *Instance, t time.Time) (float64, bool) {
	now := w.clock.Now()
	if inst == nil || t.After(now) {
		return 0, false
	}
	if !inst.LaunchTime.IsZero() && t.Before(inst.LaunchTime) {
		return 0, false
	}
	if !inst.TerminatedAt.IsZero() && !t.Before(inst.TerminatedAt) {
		return 0, false
	}
	if inst.State != StateRunning && inst.State != StatePending {
		last := inst.LaunchTime
		if n := len(inst.CPU); n > 0 {
			last = inst.CPU[n-1].At
		}
		if !t.Before(last) {
			return 0, false
		}
	}
	v := inst.CPUAt(t) + cpuJitter(inst.ID, t)
	return math.Max(0, math.Min(100, v)), true
}

// cpuJitter is a pseudo-random offset in [-cpuNoise, +cpuNoise] that depends
// only on the instance and the minute, never on call order.
func cpuJitter(id string, t time.Time) float64 {
	// FNV-64a over the id and the minute, inlined: alarm evaluation samples
	// this thousands of times per poll, and fmt plus hash.Hash allocations
	// dominated drill time.
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	h = (h ^ '|') * prime
	m := uint64(t.Truncate(MetricResolution).Unix())
	for i := 0; i < 8; i++ {
		h = (h ^ (m & 0xff)) * prime
		m >>= 8
	}
	u := float64(h>>11) / float64(1<<53) // [0,1)
	return (2*u - 1) * cpuNoise
}

// SetCPULocked appends a CPU level taking effect at at (keeping the series
// ordered); later points win over earlier ones.
func (w *World) SetCPULocked(inst *Instance, at time.Time, percent float64) {
	i := len(inst.CPU)
	for i > 0 && inst.CPU[i-1].At.After(at) {
		i--
	}
	inst.CPU = append(inst.CPU, CPUPoint{})
	copy(inst.CPU[i+1:], inst.CPU[i:])
	inst.CPU[i] = CPUPoint{At: at, Percent: percent}
}

// Stats aggregates the samples of one period.
type Stats struct {
	SampleCount                    int
	Average, Sum, Minimum, Maximum float64
}

// Value returns the named statistic ("Average", "Maximum", "Minimum", "Sum",
// "SampleCount"), case-insensitively.
func (s Stats) Value(stat string) (float64, error) {
	switch strings.ToLower(stat) {
	case "average", "avg":
		return s.Average, nil
	case "maximum", "max":
		return s.Maximum, nil
	case "minimum", "min":
		return s.Minimum, nil
	case "sum":
		return s.Sum, nil
	case "samplecount":
		return float64(s.SampleCount), nil
	}
	return 0, fmt.Errorf("statistic %q is not supported (Average, Maximum, Minimum, Sum, SampleCount)", stat)
}

// CPUStatsLocked aggregates the per-minute CPU samples in [start, start+period).
// ok is false when the period holds no sample.
func (w *World) CPUStatsLocked(inst *Instance, start time.Time, period time.Duration) (Stats, bool) {
	var s Stats
	for t := start; t.Before(start.Add(period)); t = t.Add(MetricResolution) {
		v, ok := w.CPUSampleLocked(inst, t)
		if !ok {
			continue
		}
		if s.SampleCount == 0 || v < s.Minimum {
			s.Minimum = v
		}
		if s.SampleCount == 0 || v > s.Maximum {
			s.Maximum = v
		}
		s.Sum += v
		s.SampleCount++
	}
	if s.SampleCount == 0 {
		return s, false
	}
	s.Average = s.Sum / float64(s.SampleCount)
	return s, true
}

// PutAlarmLocked stores a metric alarm, replacing the one of the same name
// in the same account and region (PutMetricAlarm's semantics) or adding it
// after the others.
func (w *World) PutAlarmLocked(a *Alarm) {
	for i, old := range w.Alarms {
		if old.Account == a.Account && old.Region == a.Region && old.Name == a.Name {
			w.Alarms[i] = a
			return
		}
	}
	w.Alarms = append(w.Alarms, a)
}
