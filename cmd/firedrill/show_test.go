package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
)

func TestShowGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"show_scenario.golden", []string{"show", "aws-ec2-cryptomining"}},
		{"show_playbook.golden", []string{"show", "ec2-cryptomining"}},
		{"show_scenario.json.golden", []string{"show", "aws-ec2-cryptomining", "-o", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := cli(t, tc.args...)
			require.Equal(t, exitOK, code, errOut)
			require.Empty(t, errOut)
			golden(t, tc.golden, out)
		})
	}
}

func TestShowScenarioText(t *testing.T) {
	out, _, code := cli(t, "show", "aws-ec2-cryptomining")
	require.Equal(t, exitOK, code)
	for _, want := range []string{
		"T1552.005", "scale-in to 2 at T+25m",
		"T+2m    exploit", // a fixed offset
		"≥T+3m   miner",   // after exploit + 1m delay
		"guardduty", "expected playbook: ec2-cryptomining",
	} {
		require.Contains(t, out, want)
	}
}

func TestShowPlaybookDrawsDecisionTree(t *testing.T) {
	out, _, code := cli(t, "show", "ec2-cryptomining")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "production? Is this a production instance?")
	require.Contains(t, out, "├── yes → downtime? Can we afford downtime of this instance?")
	require.Contains(t, out, "│   └── no → [isolate_only]")
	require.Contains(t, out, "└── no → [isolate_and_stop]")
	// Containment steps show their dependencies.
	require.Regexp(t, `stop\s+stop_instance\s+isolate,snapshot_disks,quarantine_tags\s+capture_memory\s+isolate_and_stop`, out)
	require.Contains(t, out, "[ ] Instance isolated in the forensics-only group")
}

func TestDecisionTreeSharedNodeDrawnOnce(t *testing.T) {
	pb := &responder.Playbook{
		Decisions: []responder.DecisionNode{
			{ID: "a", Question: "A?", Yes: "b", No: "c"},
			{ID: "b", Question: "B?", Yes: "c", No: "out1"},
			{ID: "c", Question: "C?", Yes: "out1", No: "out2"},
		},
		Outcomes: []responder.Outcome{{ID: "out1", Description: "first"}, {ID: "out2"}},
	}
	var b strings.Builder
	writeDecisionTree(&b, pb)
	got := b.String()
	require.Equal(t, 1, strings.Count(got, "c? C?"), got)
	require.Contains(t, got, "c (see above)")
	require.Contains(t, got, "[out1] first")
	require.Contains(t, got, "[out2]\n")

	b.Reset()
	writeDecisionTree(&b, &responder.Playbook{})
	require.Contains(t, b.String(), "(none")
}

func TestShowDataOutputs(t *testing.T) {
	out, _, code := cli(t, "show", "aws-ec2-cryptomining", "-o", "json")
	require.Equal(t, exitOK, code)
	var v scenarioView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "aws-ec2-cryptomining", v.ID)
	require.Equal(t, "5h", v.Duration)
	require.Equal(t, "2m", v.Steps[0].At)
	require.Equal(t, "T1190", v.Steps[0].AttackID)

	// YAML is the file itself: run accepts it unchanged.
	out, _, code = cli(t, "show", "aws-ec2-cryptomining", "-o", "yaml")
	require.Equal(t, exitOK, code)
	var y map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(out), &y))
	require.Equal(t, "aws-ec2-cryptomining", y["id"])
	require.Contains(t, out, "# The seed document's incident", "comments are kept")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sc.yaml"), []byte(out), 0o600))

	out, _, code = cli(t, "show", "ec2-cryptomining", "-o", "yaml")
	require.Equal(t, exitOK, code)
	require.NoError(t, yaml.Unmarshal([]byte(out), &y))
	require.Equal(t, "ec2-cryptomining", y["id"])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pb.yaml"), []byte(out), 0o600))
	out, errOut, code := cli(t, "run", filepath.Join(dir, "sc.yaml"), "--playbook", filepath.Join(dir, "pb.yaml"), "--dry-run")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "playbook ec2-cryptomining")

	out, _, code = cli(t, "show", "ec2-cryptomining", "-o", "json")
	require.Equal(t, exitOK, code)
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	require.Len(t, p["decisions"], 2)
}

func TestShowErrors(t *testing.T) {
	out, errOut, code := cli(t, "show", "aws-ec2-crypto")
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Contains(t, errOut, `no scenario or playbook has id "aws-ec2-crypto"`)
	require.Contains(t, errOut, "scenarios: aws-ec2-cryptomining", "the error lists the known ids")
	require.Contains(t, errOut, "playbooks: ec2-cryptomining")

	_, errOut, code = cli(t, "show", "ec2-cryptomining", "--kind", "scenario")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `no scenario has id "ec2-cryptomining"`)
	require.NotContains(t, errOut, "playbooks:")

	for _, args := range [][]string{
		{"show"},
		{"show", "a", "b"},
		{"show", "ec2-cryptomining", "-o", "xml"},
		{"show", "ec2-cryptomining", "--kind", "technique"},
	} {
		_, errOut, code := cli(t, args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
}

func TestStepEarliest(t *testing.T) {
	at := 2 * time.Minute
	got := stepEarliest([]scenarios.Step{
		{ID: "a", At: &at},
		{ID: "b", After: "a", Delay: time.Minute},
		{ID: "c", When: "contained", Delay: 30 * time.Second},
		{ID: "d", After: "c", Delay: time.Hour},
	})
	require.Equal(t, map[string]string{"a": "T+2m", "b": "≥T+3m", "c": "on contained +30s", "d": "after c +1h"}, got)
}

func TestShortDurAndWrap(t *testing.T) {
	for d, want := range map[time.Duration]string{
		25 * time.Minute: "25m", 5 * time.Hour: "5h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 5 * time.Second: "5s",
	} {
		require.Equal(t, want, shortDur(d))
	}
	require.Equal(t, "aaa bbb\nccc", wrap("aaa bbb ccc", 7))
	require.Equal(t, "one two", unfold("one\ntwo\n"))
	require.Equal(t, "p1 a\n\np2", unfold("p1\na\n\np2"))
}

func TestShowMulticloudScenarioListsEveryEnvironment(t *testing.T) {
	out, errOut, code := cli(t, "show", "multicloud-cryptomining")
	require.Equal(t, exitOK, code, errOut)
	for _, preset := range []string{"aws-web-asg", "azure-web-vmss", "gcp-web-mig"} {
		require.Contains(t, out, "environment: "+preset)
	}
	js, _, code := cli(t, "show", "multicloud-cryptomining", "-o", "json")
	require.Equal(t, exitOK, code)
	var v struct {
		Environments []struct{ Cloud, Preset string }
	}
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	require.Len(t, v.Environments, 3)
	require.Equal(t, "gcp", v.Environments[2].Cloud)
}

// show says what a scenario changes of the clouds' behaviour: its knobs
// (only those away from their defaults) and a group's health check.
func TestShowScenarioKnobsAndHealthCheck(t *testing.T) {
	out, errOut, code := cli(t, "show", "aws-ec2-cryptomining-conntrack-never")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `knobs .*\n  conn_track +never +\(default instant\)\n`, out)
	js, _, code := cli(t, "show", "azure-vm-cryptomining", "-o", "json")
	require.Equal(t, exitOK, code)
	var v struct {
		Knobs []struct{ Name, Value, Default string }
	}
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	require.Equal(t, []struct{ Name, Value, Default string }{
		{"azure_rbac_propagation", "{min: 30s, mode: 2m, max: 10m}", "none"}}, v.Knobs)

	out, _, code = cli(t, "show", "aws-ec2-cryptomining")
	require.Equal(t, exitOK, code)
	require.NotContains(t, out, "knobs")
	require.NotContains(t, out, "health check")
	out, _, code = cli(t, "show", "aws-ec2-cryptomining-elb")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "the group replaces members failing its ELB health check")
}
