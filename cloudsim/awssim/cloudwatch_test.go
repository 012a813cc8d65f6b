package awssim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// cwEnv has a miner that idles at 10% CPU, pegs at 99% from 30 minutes after
// launch, and is observed one hour after launch.
func cwEnv(t *testing.T) (*awssimtest.Env, *world.Instance, time.Time) {
	env := awssimtest.New(t)
	launch := awssimtest.Start
	inst := obsInstance(env, 1, func(i *world.Instance, _ *awsworld.SecurityGroup) {
		i.LaunchTime = launch
		i.CPU = []world.CPUPoint{{At: launch, Percent: 10}, {At: launch.Add(30 * time.Minute), Percent: 99}}
	})
	env.Clock.Advance(time.Hour)
	return env, inst, launch
}

func cpuQuery(id, instance, stat string, period int32) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(instance)}}},
		Period: aws.Int32(period), Stat: aws.String(stat)}}
}

func TestGetMetricDataFollowsTheCPUSeries(t *testing.T) {
	env, inst, launch := cwEnv(t)
	cw := cloudwatch.NewFromConfig(env.Admin)
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(launch), EndTime: aws.Time(launch.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("avg", inst.ID, "Average", 300), cpuQuery("peak", inst.ID, "Maximum", 600),
			cpuQuery("ghost", "i-0000000000000dead", "Average", 300)},
	})
	require.NoError(t, err)
	require.Len(t, out.MetricDataResults, 3)

	avg := out.MetricDataResults[0]
	require.Equal(t, "avg", *avg.Id)
	require.Equal(t, "CPUUtilization", *avg.Label)
	require.Equal(t, cwtypes.StatusCodeComplete, avg.StatusCode)
	require.Len(t, avg.Values, 12)
	require.Len(t, avg.Timestamps, 12)
	// Newest first (TimestampDescending is the default).
	require.Equal(t, launch.Add(55*time.Minute), avg.Timestamps[0].UTC())
	require.Equal(t, launch, avg.Timestamps[11].UTC())
	for i, v := range avg.Values {
		want := 99.0
		if i >= 6 {
			want = 10
		}
		require.InDelta(t, want, v, 1.5, "period %s", avg.Timestamps[i])
	}
	require.Len(t, out.MetricDataResults[1].Values, 6)
	require.Empty(t, out.MetricDataResults[2].Values, "no data for an unknown instance")

	// Same request, same numbers: the jitter is a function of instance and minute.
	again, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(launch), EndTime: aws.Time(launch.Add(time.Hour)), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("avg", inst.ID, "Average", 300)}})
	require.NoError(t, err)
	for i := range avg.Values {
		require.Equal(t, avg.Values[i], again.MetricDataResults[0].Values[11-i])
	}
}

func TestGetMetricStatistics(t *testing.T) {
	env, inst, launch := cwEnv(t)
	out, err := cloudwatch.NewFromConfig(env.Admin).GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(inst.ID)}},
		StartTime:  aws.Time(launch.Add(30 * time.Minute)), EndTime: aws.Time(launch.Add(time.Hour)), Period: aws.Int32(1800),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum, cwtypes.StatisticSampleCount}})
	require.NoError(t, err)
	require.Len(t, out.Datapoints, 1)
	require.Equal(t, 30.0, *out.Datapoints[0].SampleCount)
	require.InDelta(t, 99, *out.Datapoints[0].Maximum, 1.5)
	require.Equal(t, cwtypes.StandardUnitPercent, out.Datapoints[0].Unit)
}

func TestDescribeAlarmsEvaluatesTheMetric(t *testing.T) {
	env, inst, launch := cwEnv(t)
	env.World.Lock()
	alarm := func(name, instance string, threshold float64) *world.Alarm {
		return &world.Alarm{Name: name, ARN: "arn:aws:cloudwatch:us-east-1:111122223333:alarm:" + name,
			Account: awssimtest.Account, Region: awssimtest.Region, Namespace: "AWS/EC2", Metric: "CPUUtilization",
			Dimensions: map[string]string{"InstanceId": instance}, Threshold: threshold, Comparison: "GreaterThanThreshold",
			Period: 5 * time.Minute, EvaluationPeriods: 2, Statistic: "Average"}
	}
	env.World.Alarms = append(env.World.Alarms, alarm("cpu-high", inst.ID, 95), alarm("cpu-absurd", inst.ID, 99.99),
		alarm("cpu-gone", "i-0000000000000dead", 95))
	env.World.Unlock()
	cw := cloudwatch.NewFromConfig(env.Admin)

	out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)
	state := map[string]cwtypes.StateValue{}
	for _, a := range out.MetricAlarms {
		state[*a.AlarmName] = a.StateValue
	}
	require.Equal(t, map[string]cwtypes.StateValue{"cpu-high": cwtypes.StateValueAlarm, "cpu-absurd": cwtypes.StateValueOk,
		"cpu-gone": cwtypes.StateValueInsufficientData}, state)

	high := out.MetricAlarms[2] // alarms are listed by name
	require.Equal(t, "cpu-high", *high.AlarmName)
	require.Contains(t, *high.StateReason, "greater than the threshold (95.0)")
	// CPU crossed 95% at launch+30m; two 5-minute periods later the alarm fired.
	require.Equal(t, launch.Add(40*time.Minute), high.StateUpdatedTimestamp.UTC())
	require.Equal(t, int32(300), *high.Period)
	require.Equal(t, int32(2), *high.EvaluationPeriods)
	require.Equal(t, 95.0, *high.Threshold)
	require.Equal(t, cwtypes.ComparisonOperatorGreaterThanThreshold, high.ComparisonOperator)
	require.Equal(t, inst.ID, *high.Dimensions[0].Value)

	cases := []struct {
		name string
		in   *cloudwatch.DescribeAlarmsInput
		want []string
	}{
		{"by state", &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm}, []string{"cpu-high"}},
		{"by names", &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cpu-gone", "cpu-absurd"}}, []string{"cpu-absurd", "cpu-gone"}},
		{"by prefix", &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("cpu-h")}, []string{"cpu-high"}},
		{"composite only", &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cw.DescribeAlarms(context.Background(), tc.in)
			require.NoError(t, err)
			var names []string
			for _, a := range out.MetricAlarms {
				names = append(names, *a.AlarmName)
			}
			require.Equal(t, tc.want, names)
		})
	}

	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(2)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		n += len(page.MetricAlarms)
	}
	require.Equal(t, 3, n)

	// A stopped instance publishes no datapoints, so once the evaluation
	// window has passed the alarm has insufficient data (missing = missing).
	env.World.Lock()
	inst.State = world.StateStopped
	env.World.SetCPULocked(inst, env.Clock.Now(), 0)
	env.World.Unlock()
	env.Clock.Advance(20 * time.Minute)
	out, err = cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cpu-high"}})
	require.NoError(t, err)
	require.Equal(t, cwtypes.StateValueInsufficientData, out.MetricAlarms[0].StateValue, "a stopped instance reports no datapoints")
}

func TestPutMetricAlarm(t *testing.T) {
	env, inst, _ := cwEnv(t)
	cw := cloudwatch.NewFromConfig(env.Admin)
	_, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("miner"), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(inst.ID)}},
		Statistic:  cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(10),
		Threshold: aws.Float64(95), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold})
	require.NoError(t, err)
	out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"miner"}})
	require.NoError(t, err)
	require.Len(t, out.MetricAlarms, 1)
	require.Equal(t, cwtypes.StateValueAlarm, out.MetricAlarms[0].StateValue)
	require.Equal(t, "arn:aws:cloudwatch:us-east-1:111122223333:alarm:miner", *out.MetricAlarms[0].AlarmArn)
}

func TestCloudWatchErrors(t *testing.T) {
	env, inst, launch := cwEnv(t)
	cw := cloudwatch.NewFromConfig(env.Admin)
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"period not a multiple of 60", func() error {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(launch), EndTime: aws.Time(launch.Add(time.Hour)),
				MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("a", inst.ID, "Average", 45)}})
			return err
		}, "InvalidParameterValue"},
		{"start after end", func() error {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(launch.Add(time.Hour)), EndTime: aws.Time(launch),
				MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("a", inst.ID, "Average", 60)}})
			return err
		}, "InvalidParameterValue"},
		{"bad query id", func() error {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(launch), EndTime: aws.Time(launch.Add(time.Hour)),
				MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("Upper", inst.ID, "Average", 60)}})
			return err
		}, "ValidationError"},
		{"unknown statistic", func() error {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(launch), EndTime: aws.Time(launch.Add(time.Hour)),
				MetricDataQueries: []cwtypes.MetricDataQuery{cpuQuery("a", inst.ID, "p99.9", 60)}})
			return err
		}, "InvalidParameterValue"},
		{"names and prefix together", func() error {
			_, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
			return err
		}, "InvalidParameterCombination"},
		{"user without cloudwatch permissions", func() error {
			_, err := cloudwatch.NewFromConfig(env.UserConfig(t, "nobody")).DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
			return err
		}, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.code, apiCode(t, tc.call()))
		})
	}
}

// postQuery sends a SigV4-signed awsQuery request, as the AWS CLI does.
func postQuery(t *testing.T, env *awssimtest.Env, form url.Values) (int, []byte) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: env.AdminKey.ID, SecretAccessKey: env.AdminKey.Secret}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
		"monitoring", awssimtest.Region, env.Clock.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestCloudWatchAwsQueryForTheCLI(t *testing.T) {
	env, inst, launch := cwEnv(t)
	form := url.Values{
		"Action": {"GetMetricData"}, "Version": {"2010-08-01"},
		"StartTime": {launch.Add(30 * time.Minute).Format(time.RFC3339)}, "EndTime": {launch.Add(time.Hour).Format(time.RFC3339)},
		"ScanBy":                        {"TimestampAscending"},
		"MetricDataQueries.member.1.Id": {"cpu"},
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace":                 {"AWS/EC2"},
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName":                {"CPUUtilization"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name":  {"InstanceId"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": {inst.ID},
		"MetricDataQueries.member.1.MetricStat.Period":                           {"600"},
		"MetricDataQueries.member.1.MetricStat.Stat":                             {"Average"},
	}
	status, body := postQuery(t, env, form)
	require.Equal(t, 200, status, string(body))
	var doc struct {
		XMLName xml.Name `xml:"GetMetricDataResponse"`
		Results []struct {
			ID         string    `xml:"Id"`
			StatusCode string    `xml:"StatusCode"`
			Timestamps []string  `xml:"Timestamps>member"`
			Values     []float64 `xml:"Values>member"`
		} `xml:"GetMetricDataResult>MetricDataResults>member"`
	}
	require.NoError(t, xml.Unmarshal(body, &doc), string(body))
	require.True(t, bytes.Contains(body, []byte(`xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"`)))
	require.Len(t, doc.Results, 1)
	r := doc.Results[0]
	require.Equal(t, "cpu", r.ID)
	require.Equal(t, "Complete", r.StatusCode)
	require.Equal(t, []string{"2026-11-26T09:30:00.000Z", "2026-11-26T09:40:00.000Z", "2026-11-26T09:50:00.000Z"}, r.Timestamps)
	for _, v := range r.Values {
		require.InDelta(t, 99, v, 1.5)
	}

	status, body = postQuery(t, env, url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}, "MaxRecords": {"500"}})
	require.Equal(t, 400, status)
	require.Contains(t, string(body), "<Code>InvalidParameterValue</Code>")
	require.Contains(t, string(body), "<ErrorResponse>")
}
