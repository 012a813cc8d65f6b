package aws

import (
	"context"
	"sort"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/firedrill-ir/firedrill/providers"
)

// Alarms pages through DescribeAlarms (metric alarms only: composite alarms
// name no single resource a playbook could act on). The watched instance is
// read from the InstanceId dimension, which is how per-instance EC2 alarms
// are keyed.
func (m *Provider) Alarms(ctx context.Context) ([]providers.Alarm, error) {
	var out []providers.Alarm
	pg := cloudwatch.NewDescribeAlarmsPaginator(m.cw, &cloudwatch.DescribeAlarmsInput{
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("cloudwatch:DescribeAlarms", "", err)
		}
		for _, a := range page.MetricAlarms {
			out = append(out, toAlarm(a))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func toAlarm(a cwtypes.MetricAlarm) providers.Alarm {
	al := providers.Alarm{
		Name: awssdk.ToString(a.AlarmName), State: string(a.StateValue), Metric: awssdk.ToString(a.MetricName),
		Threshold: awssdk.ToFloat64(a.Threshold), Comparison: string(a.ComparisonOperator),
		For:    time.Duration(awssdk.ToInt32(a.Period)) * time.Second * time.Duration(awssdk.ToInt32(a.EvaluationPeriods)),
		Reason: awssdk.ToString(a.StateReason),
	}
	if t := a.StateTransitionedTimestamp; t != nil {
		al.StateChangedAt = t.UTC()
	} else if t := a.StateUpdatedTimestamp; t != nil {
		al.StateChangedAt = t.UTC()
	}
	for _, d := range a.Dimensions {
		if awssdk.ToString(d.Name) == "InstanceId" {
			al.Resource = providers.Ref(providers.CloudAWS, providers.KindVM, awssdk.ToString(d.Value))
		}
	}
	return al
}
