package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/responder"
)

func TestListGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"list.golden", []string{"list"}},
		{"list_scenarios.golden", []string{"list", "--kind", "scenarios"}},
		{"list_playbooks.json.golden", []string{"list", "--kind", "playbooks", "--output", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := cli(t, tc.args...)
			require.Equal(t, exitOK, code, errOut)
			require.Empty(t, errOut)
			golden(t, tc.golden, out)
		})
	}
}

func TestListContents(t *testing.T) {
	out, _, code := cli(t, "list", "-o", "json")
	require.Equal(t, exitOK, code)
	var l listing
	require.NoError(t, json.Unmarshal([]byte(out), &l))
	require.NotEmpty(t, l.Scenarios)
	require.NotEmpty(t, l.Playbooks)
	var sc *scenarioRow
	for i := range l.Scenarios {
		if l.Scenarios[i].ID == "aws-ec2-cryptomining" {
			sc = &l.Scenarios[i]
		}
	}
	require.NotNil(t, sc, "the cryptomining scenario is listed")
	require.Equal(t, []string{"aws"}, sc.Clouds)
	require.Contains(t, sc.Techniques, "T1552.005")
	require.Contains(t, l.Playbooks[0].Triggers[0], "finding")

	out, _, code = cli(t, "list", "--kind", "scenarios", "-o", "json")
	require.Equal(t, exitOK, code)
	require.NotContains(t, out, `"playbooks"`, "a kind not asked for is omitted")
}

func TestListUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--kind", "techniques"},
		{"list", "--output", "xml"},
		{"list", "extra"},
		{"list", "--no-such-flag"},
	} {
		out, errOut, code := cli(t, args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		require.Empty(t, out, "%v: errors never go to stdout", args)
		require.Contains(t, errOut, "firedrill: ")
	}
	_, errOut, _ := cli(t, "list", "--kind", "techniques")
	require.Contains(t, errOut, "expected scenarios, playbooks or all")
}

func TestTriggerListIsSortedByCloud(t *testing.T) {
	tr := responder.Triggers{
		Findings:    map[string][]string{"gcp": {"Execution: Cryptocurrency Mining"}, "aws": {"A", "B"}, "azure": {"VM_MinerActivity"}},
		Alarms:      []responder.AlarmTrigger{{Metric: "CPUUtilization", Threshold: 95, For: responder.Duration(10 * time.Minute)}},
		CostAnomaly: &responder.CostAnomalyTrigger{MinIncreasePercent: 50},
	}
	for i := 0; i < 5; i++ { // map order must never show
		require.Equal(t, []string{"aws finding A", "aws finding B", "azure finding VM_MinerActivity",
			"gcp finding Execution: Cryptocurrency Mining", "alarm CPUUtilization > 95 for 10m", "cost anomaly +50%"}, triggerList(tr))
	}
}
