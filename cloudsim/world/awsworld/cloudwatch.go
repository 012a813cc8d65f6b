package awsworld

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// MetricDatapoint is one aggregated value of a metric.
type MetricDatapoint struct {
	Time  time.Time
	Value float64
}

// MetricSeries returns the statistic of a metric for every period in
// [start, end), oldest first, with periods aligned to multiples of period
// since the epoch as CloudWatch aligns them. Only AWS/EC2 CPUUtilization with
// an InstanceId dimension has data; other metrics return no points.
func (s *State) MetricSeries(namespace, metric string, dims map[string]string, stat string,
	start, end time.Time, period time.Duration) ([]MetricDatapoint, error) {
	if _, err := (world.Stats{}).Value(stat); err != nil {
		return nil, err
	}
	if period < world.MetricResolution || period%world.MetricResolution != 0 {
		return nil, fmt.Errorf("period %s must be a positive multiple of 60 seconds", period)
	}
	if namespace != "AWS/EC2" || metric != "CPUUtilization" {
		return nil, nil
	}
	inst := s.w.Instances.Lookup(dims["InstanceId"])
	if inst == nil {
		return nil, nil
	}
	var out []MetricDatapoint
	for t := alignToPeriod(start, period); t.Before(end); t = t.Add(period) {
		st, ok := s.w.CPUStatsLocked(inst, t, period)
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

// EvaluateAlarm computes an alarm's state at now from its metric: ALARM
// when each of the last EvaluationPeriods complete periods breaches the
// threshold, OK when the periods have data and at least one does not breach,
// INSUFFICIENT_DATA otherwise (missing data is treated as missing, the
// CloudWatch default).
func (s *State) EvaluateAlarm(a *world.Alarm, now time.Time) AlarmEvaluation {
	state, reason := s.alarmStateAt(a, now, true)
	ev := AlarmEvaluation{State: state, Reason: reason, Since: now}
	// Walk back period by period to find when the state began, bounded to a
	// day so a long-lived alarm costs a fixed amount of work.
	p := a.Period
	if p <= 0 {
		return ev
	}
	t := alignToPeriod(now, p)
	for i := 0; i < int(24*time.Hour/p); i++ {
		prev, _ := s.alarmStateAt(a, t.Add(-time.Nanosecond), false)
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
func (s *State) alarmStateAt(a *world.Alarm, at time.Time, withReason bool) (string, string) {
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
		inst := s.w.Instances.Lookup(a.Dimensions["InstanceId"])
		for t := start; t.Before(end); t = t.Add(a.Period) {
			if st, ok := s.w.CPUStatsLocked(inst, t, a.Period); ok && !t.Add(a.Period).After(at) {
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
