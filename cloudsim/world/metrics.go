package world

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Metric sampling. CloudWatch's EC2 metrics are modelled as one sample per
// minute (detailed monitoring); a statistic over a period aggregates the
// samples whose minute falls inside it. Values come from the instance's CPU
// series (Instance.CPU) plus a small deterministic jitter, so two drills with
// the same seed read identical graphs and an idle box never reads a flat 0.

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

// MetricDatapoint is one aggregated value of a metric.
type MetricDatapoint struct {
	Time  time.Time
	Value float64
}

// MetricSeriesLocked returns the statistic of a metric for every period in
// [start, end), oldest first, with periods aligned to multiples of period
// since the epoch as CloudWatch aligns them. Only AWS/EC2 CPUUtilization with
// an InstanceId dimension has data; other metrics return no points.
func (w *World) MetricSeriesLocked(namespace, metric string, dims map[string]string, stat string,
	start, end time.Time, period time.Duration) ([]MetricDatapoint, error) {
	if _, err := (Stats{}).Value(stat); err != nil {
		return nil, err
	}
	if period < MetricResolution || period%MetricResolution != 0 {
		return nil, fmt.Errorf("period %s must be a positive multiple of 60 seconds", period)
	}
	if namespace != "AWS/EC2" || metric != "CPUUtilization" {
		return nil, nil
	}
	inst := w.Instances[dims["InstanceId"]]
	if inst == nil {
		return nil, nil
	}
	var out []MetricDatapoint
	for t := alignToPeriod(start, period); t.Before(end); t = t.Add(period) {
		st, ok := w.CPUStatsLocked(inst, t, period)
		if !ok {
			continue
		}
		v, _ := st.Value(stat)
		out = append(out, MetricDatapoint{Time: t, Value: v})
	}
	return out, nil
}

func alignToPeriod(t time.Time, period time.Duration) time.Time {
	sec := int64(period / time.Second)
	u := t.Unix()
	return time.Unix(u-((u%sec)+sec)%sec, 0).UTC()
}

// Alarm states, as CloudWatch names them.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// AlarmEvaluation is an alarm's state at a time and why.
type AlarmEvaluation struct {
	State  string
	Reason string
	Since  time.Time // when the alarm entered State (best effort: scanned back a day)
}

// EvaluateAlarmLocked computes an alarm's state at now from its metric: ALARM
// when each of the last EvaluationPeriods complete periods breaches the
// threshold, OK when the periods have data and at least one does not breach,
// INSUFFICIENT_DATA otherwise (missing data is treated as missing, the
// CloudWatch default).
func (w *World) EvaluateAlarmLocked(a *Alarm, now time.Time) AlarmEvaluation {
	state, reason := w.alarmStateAt(a, now, true)
	ev := AlarmEvaluation{State: state, Reason: reason, Since: now}
	// Walk back period by period to find when the state began, bounded to a
	// day so a long-lived alarm costs a fixed amount of work.
	p := a.Period
	if p <= 0 {
		return ev
	}
	t := alignToPeriod(now, p)
	for i := 0; i < int(24*time.Hour/p); i++ {
		prev, _ := w.alarmStateAt(a, t.Add(-time.Nanosecond), false)
		if prev != state {
			ev.Since = t
			return ev
		}
		t = t.Add(-p)
	}
	ev.Since = t
	return ev
}

// alarmStateAt evaluates the alarm as of at. The reason text is only built
// when asked for: the walk back through a day of periods needs states alone,
// and formatting dominated drill time when responders poll alarms.
func (w *World) alarmStateAt(a *Alarm, at time.Time, withReason bool) (string, string) {
	n := a.EvaluationPeriods
	if n <= 0 {
		n = 1
	}
	if a.Period <= 0 {
		return AlarmInsufficientData, "Alarm has no period configured"
	}
	end := alignToPeriod(at, a.Period) // only complete periods count
	start := end.Add(-time.Duration(n) * a.Period)
	stat := a.Statistic
	if stat == "" {
		stat = "Average"
	}
	var pts []MetricDatapoint
	if ns, metric := a.Namespace, a.Metric; ns == "AWS/EC2" && metric == "CPUUtilization" {
		inst := w.Instances[a.Dimensions["InstanceId"]]
		for t := start; t.Before(end); t = t.Add(a.Period) {
			if st, ok := w.CPUStatsLocked(inst, t, a.Period); ok && !t.Add(a.Period).After(at) {
				v, _ := st.Value(stat)
				pts = append(pts, MetricDatapoint{Time: t, Value: v})
			}
		}
	}
	if len(pts) < n {
		if !withReason {
			return AlarmInsufficientData, ""
		}
		return AlarmInsufficientData, fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n-len(pts))
	}
	breaching := 0
	for _, p := range pts {
		if alarmCompare(a.Comparison, p.Value, a.Threshold) {
			breaching++
		}
	}
	if !withReason {
		if breaching == n {
			return AlarmAlarm, ""
		}
		return AlarmOK, ""
	}
	var vals []string
	for _, p := range pts {
		vals = append(vals, fmt.Sprintf("%s (%s)", alarmFloat(p.Value), p.Time.UTC().Format("02/01/06 15:04:00")))
	}
	op := alarmComparisonWords(a.Comparison)
	if breaching == n {
		return AlarmAlarm, fmt.Sprintf("Threshold Crossed: %d datapoints [%s] were %s the threshold (%s).",
			n, strings.Join(vals, ", "), op, alarmFloat(a.Threshold))
	}
	return AlarmOK, fmt.Sprintf("Threshold Crossed: %d datapoints [%s] were not %s the threshold (%s).",
		n-breaching, strings.Join(vals, ", "), op, alarmFloat(a.Threshold))
}

func alarmCompare(op string, v, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return v > threshold // GreaterThanThreshold, the default
}

func alarmComparisonWords(op string) string {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return "greater than or equal to"
	case "LessThanThreshold":
		return "less than"
	case "LessThanOrEqualToThreshold":
		return "less than or equal to"
	}
	return "greater than"
}

func alarmFloat(v float64) string {
	return fmt.Sprintf("%.1f", math.Round(v*10)/10)
}
