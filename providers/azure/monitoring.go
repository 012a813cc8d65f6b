package azure

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/firedrill-ir/firedrill/providers"
)

var comparisons = map[armmonitor.Operator]string{
	armmonitor.OperatorGreaterThan: "GreaterThanThreshold", armmonitor.OperatorGreaterThanOrEqual: "GreaterThanOrEqualToThreshold",
	armmonitor.OperatorLessThan: "LessThanThreshold", armmonitor.OperatorLessThanOrEqual: "LessThanOrEqualToThreshold",
}

// Alarms lists the subscription's single-resource static-threshold metric
// alert rules in name order. A metric alert resource carries no state (that
// lives in Alerts Management), so the state is evaluated here the way the
// rule does: the aggregated metric over the last complete window against
// the threshold; no data is INSUFFICIENT_DATA.
func (m *Provider) Alarms(ctx context.Context) ([]providers.Alarm, error) {
	p := m
	var out []providers.Alarm
	pg := p.alerts.NewListBySubscriptionPager(nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("monitor:MetricAlerts.ListBySubscription", "", err)
		}
		for _, r := range page.Value {
			if a, ok := m.evaluate(ctx, r); ok {
				out = append(out, a)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Provider) evaluate(ctx context.Context, r *armmonitor.MetricAlertResource) (providers.Alarm, bool) {
	pr := r.Properties
	if pr == nil || len(pr.Scopes) != 1 {
		return providers.Alarm{}, false
	}
	crit, ok := pr.Criteria.(*armmonitor.MetricAlertSingleResourceMultipleMetricCriteria)
	if !ok || len(crit.AllOf) != 1 || crit.AllOf[0] == nil {
		return providers.Alarm{}, false
	}
	c := crit.AllOf[0]
	window := 5 * time.Minute
	if pr.WindowSize != nil {
		if d, err := parseDuration(*pr.WindowSize); err == nil {
			window = d
		}
	}
	a := providers.Alarm{Name: str(r.Name), Resource: providers.Ref(providers.CloudAzure, providers.KindVM, str(pr.Scopes[0])), Metric: str(c.MetricName), For: window,
		State: providers.AlarmStateInsufficientData}
	if c.Threshold != nil {
		a.Threshold = *c.Threshold
	}
	if c.Operator != nil {
		a.Comparison = comparisons[*c.Operator]
	}
	now := m.sleeper.Now().UTC()
	end := now.Truncate(time.Minute)
	start := end.Add(-window)
	agg := "Average"
	if c.TimeAggregation != nil {
		agg = string(*c.TimeAggregation)
	}
	// Per-minute points over exactly the window, aggregated here: that is
	// the metric alert's evaluation (a sliding window, every minute). Asking
	// the API for one window-sized interval would bucket by interval
	// boundaries instead, and a partial last bucket would decide the state.
	res, err := m.metrics.List(ctx, a.Resource.ID, &armmonitor.MetricsClientListOptions{
		Metricnames: to.Ptr(a.Metric), Timespan: to.Ptr(start.Format(time.RFC3339) + "/" + end.Format(time.RFC3339)),
		Interval: to.Ptr("PT1M"), Aggregation: to.Ptr(agg)})
	if err != nil {
		a.Reason = fmt.Sprintf("metric query failed: %v", wrapErr("monitor:Metrics.List", a.Resource.ID, err))
		return a, true
	}
	v := aggregatePoints(res.Value, agg)
	if v == nil {
		a.Reason = "no data in the last window"
		return a, true
	}
	breach := false
	switch a.Comparison {
	case "GreaterThanOrEqualToThreshold":
		breach = *v >= a.Threshold
	case "LessThanThreshold":
		breach = *v < a.Threshold
	case "LessThanOrEqualToThreshold":
		breach = *v <= a.Threshold
	default:
		breach = *v > a.Threshold
	}
	a.State = providers.AlarmStateOK
	if breach {
		a.State = providers.AlarmStateAlarm
		a.StateChangedAt = end
	}
	a.Reason = fmt.Sprintf("%s %s over %v is %.1f (threshold %.1f)", agg, a.Metric, window, *v, a.Threshold)
	return a, true
}

// aggregatePoints combines per-minute points into the window's value:
// the mean of the minute averages, or the extreme, or the total.
func aggregatePoints(values []*armmonitor.Metric, agg string) *float64 {
	var out *float64
	n := 0
	for _, mv := range values {
		for _, ts := range mv.Timeseries {
			for _, d := range ts.Data {
				var x *float64
				switch agg {
				case "Maximum":
					x = d.Maximum
				case "Minimum":
					x = d.Minimum
				case "Total":
					x = d.Total
				default:
					x = d.Average
				}
				if x == nil {
					continue
				}
				n++
				switch {
				case out == nil:
					v := *x
					out = &v
				case agg == "Maximum":
					*out = max(*out, *x)
				case agg == "Minimum":
					*out = min(*out, *x)
				default:
					*out += *x
				}
			}
		}
	}
	if out != nil && agg != "Maximum" && agg != "Minimum" && agg != "Total" {
		*out /= float64(n)
	}
	return out
}

// parseDuration reads PT5M / PT1H / P1D.
func parseDuration(s string) (time.Duration, error) {
	var n int
	switch {
	case len(s) > 3 && s[:2] == "PT" && s[len(s)-1] == 'M':
		_, err := fmt.Sscanf(s, "PT%dM", &n)
		return time.Duration(n) * time.Minute, err
	case len(s) > 3 && s[:2] == "PT" && s[len(s)-1] == 'H':
		_, err := fmt.Sscanf(s, "PT%dH", &n)
		return time.Duration(n) * time.Hour, err
	case len(s) > 2 && s[0] == 'P' && s[len(s)-1] == 'D':
		_, err := fmt.Sscanf(s, "P%dD", &n)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return 0, fmt.Errorf("unsupported duration %q", s)
}
