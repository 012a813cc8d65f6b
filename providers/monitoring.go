package providers

import (
	"context"
	"time"
)

// Alarm states, as CloudWatch names them; other clouds map onto these.
const (
	AlarmStateAlarm            = "ALARM"
	AlarmStateOK               = "OK"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// Monitoring reads metric alarms (CloudWatch alarms, Azure Monitor metric
// alerts, Cloud Monitoring alert policies). Playbooks trigger on them as well
// as on managed findings: the seed's cryptomining playbook starts on "CPU
// above 95% for 10 minutes", which is often the first signal of a miner, well
// before a DNS-based finding arrives.
type Monitoring interface {
	// Alarms returns every metric alarm of the account and region, in name
	// order, with its state evaluated now.
	Alarms(ctx context.Context) ([]Alarm, error)
}

// Alarm is one metric alarm and its current state.
type Alarm struct {
	Name      string
	State     string // AlarmStateAlarm, AlarmStateOK or AlarmStateInsufficientData
	Resource  string // the instance the alarm watches ("" when not per-instance)
	Metric    string // e.g. CPUUtilization
	Threshold float64
	// Comparison is the cloud's operator name, e.g. GreaterThanThreshold.
	Comparison string
	// For is how long the metric must breach before the alarm fires
	// (period x evaluation periods); zero when unknown.
	For            time.Duration
	StateChangedAt time.Time
	Reason         string
}
