package scenarios_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

func TestBuiltinCryptominingScenarioLoads(t *testing.T) {
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	require.Equal(t, []string{"aws"}, sc.Clouds)
	require.Equal(t, []string{"T1190", "T1496", "T1552.005", "T1578.002", "T1098.001", "T1078.004"}, sc.ATTACKIDs())
	require.Equal(t, "aws-web-asg", sc.Environment.Preset)
	require.Equal(t, 3, sc.Environment.Instances)
	require.Equal(t, &scenarios.ScaleIn{After: 25 * time.Minute, Desired: 2}, sc.Environment.ScaleIn)
	require.Equal(t, 5*time.Hour, sc.Duration)
	require.Equal(t, "ec2-cryptomining", sc.Expect.Playbook)
	require.Equal(t, scenarios.SLO{Profile: "custom", MTTD: 15 * time.Minute, MTTA: 10 * time.Minute, MTTC: 30 * time.Minute}, sc.Expect.SLO)
	require.True(t, sc.Detectors.GuardDuty.Enabled)
	require.Equal(t, &scenarios.Latency{Min: 3 * time.Minute, Mode: 5 * time.Minute, Max: 12 * time.Minute}, sc.Detectors.GuardDuty.Latency)
	require.Equal(t, scenarios.CPUAlarm{Enabled: true, Threshold: 95, Period: 5 * time.Minute, EvaluationPeriods: 2}, sc.Detectors.CPUAlarm)
	require.Equal(t, scenarios.CostAnomaly{Enabled: true, After: 3 * time.Hour, MinSpendUSD: 10}, sc.Detectors.CostAnomaly)

	var ids []string
	reg := attacker.Builtin()
	for _, st := range sc.Steps {
		ids = append(ids, st.ID)
		_, ok := reg.Get(st.Technique)
		require.True(t, ok, "step %s names technique %s", st.ID, st.Technique)
	}
	require.Equal(t, []string{"exploit", "miner", "steal-credentials", "gpu-instances", "persistence", "keep-access"}, ids)
	require.Equal(t, 2*time.Minute, *sc.Steps[0].At)
	require.Equal(t, "exploit", sc.Steps[1].After)
	require.Equal(t, "4444", sc.Steps[1].Params["pool_port"], "numbers become strings")
	require.Len(t, sc.Dynamics.Background, 3)
	require.Equal(t, "aws-ec2-cryptomining.yaml", sc.Source)
}

// minimal is a valid scenario; the cases below break one line of it, so
// the expected line numbers refer to this text.
const minimal = `id: tiny
title: Tiny
clouds: [aws]
techniques:
  - {id: T1190, name: Exploit Public-Facing Application}
environment:
  preset: aws-web-asg
steps:
  - id: exploit
    at: 2m
    technique: aws.ec2.exploit-web-app
    params: {target: oldest}
duration: 1h
expect:
  playbook: ec2-cryptomining
`

func TestMinimalScenarioLoadsWithDefaults(t *testing.T) {
	sc, err := scenarios.Load("tiny.yaml", []byte(minimal))
	require.NoError(t, err)
	require.Equal(t, "tiny", sc.ID)
	require.Equal(t, 3, sc.Environment.Instances)
	require.Nil(t, sc.Environment.ScaleIn)
	require.False(t, sc.Detectors.GuardDuty.Enabled, "detectors are off unless named")
	require.Equal(t, "1-10-60", sc.Expect.SLO.Profile)
}

func TestLoadErrorsNameFileLineColumnAndField(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown top-level field", "duration: 1h", "duration: 1h\ndurations: 2h",
			[]string{"tiny.yaml:14:1: durations: unknown field \"durations\""}},
		{"unknown nested field", "    technique: aws.ec2", "    tecnique: x\n    technique: aws.ec2",
			[]string{"tiny.yaml:11:5: steps[0].tecnique: unknown field"}},
		{"bad duration", "at: 2m", "at: 2x",
			[]string{"tiny.yaml:10:9: steps[0].at: \"2x\" is not a duration"}},
		{"missing duration", "duration: 1h\n", "",
			[]string{"duration: is required"}},
		{"step after the end", "at: 2m", "at: 2h",
			[]string{"tiny.yaml:10:9: steps[0].at: 2h is not before the end of the scenario (1h0m0s)"}},
		{"unknown technique", "technique: aws.ec2.exploit-web-app", "technique: aws.ec2.exploit",
			[]string{"tiny.yaml:11:16: steps[0].technique: unknown technique \"aws.ec2.exploit\""}},
		{"unknown parameter", "{target: oldest}", "{target: oldest, tagret: newest}",
			[]string{"tiny.yaml:12:30: steps[0].params.tagret: technique aws.ec2.exploit-web-app has no parameter \"tagret\""}},
		{"parameter of the wrong kind", "{target: oldest}", "{target: oldest, port: https}",
			[]string{"tiny.yaml:12:36: steps[0].params.port: parameter \"port\" of aws.ec2.exploit-web-app: \"https\" is not an integer"}},
		{"two start conditions", "    at: 2m", "    at: 2m\n    after: exploit",
			[]string{"tiny.yaml:9:5: steps[0]: say when the step starts with exactly one of at, after and when",
				"tiny.yaml:11:12: steps[0].after: step \"exploit\" must come earlier"}},
		{"unknown condition", "    at: 2m", "    when: sunrise",
			[]string{"tiny.yaml:10:11: steps[0].when: unknown condition \"sunrise\""}},
		{"unknown preset", "preset: aws-web-asg", "preset: aws-mainframe",
			[]string{"tiny.yaml:7:11: environment.preset: unknown preset \"aws-mainframe\""}},
		{"bad ATT&CK id", "{id: T1190,", "{id: TA0001,",
			[]string{"tiny.yaml:5:10: techniques[0].id: \"TA0001\" is not an ATT&CK technique id"}},
		{"technique not listed", "{id: T1190, name: Exploit Public-Facing Application}", "{id: T1496, name: Resource Hijacking}",
			[]string{"tiny.yaml:11:16: steps[0].technique: aws.ec2.exploit-web-app implements ATT&CK T1190, which the scenario's techniques list does not name"}},
		{"custom SLO without targets", "  playbook: ec2-cryptomining", "  playbook: ec2-cryptomining\n  slo: {profile: custom, mttd: 5m}",
			[]string{"expect.slo.mtta: is required with the custom profile", "expect.slo.mttc: is required with the custom profile"}},
		{"unknown SLO profile", "  playbook: ec2-cryptomining", "  playbook: ec2-cryptomining\n  slo: {profile: 2-20-120}",
			[]string{"tiny.yaml:16:18: expect.slo.profile: unknown profile \"2-20-120\""}},
		{"wrong type", "clouds: [aws]", "clouds: aws",
			[]string{"tiny.yaml:3:9"}},
		{"yaml syntax", "title: Tiny", "title: [Tiny",
			[]string{"tiny.yaml:3:1: ',' or ']' must be specified"}},
		{"bad scale-in", "  preset: aws-web-asg", "  preset: aws-web-asg\n  scale_in: {after: 25m, desired: 3}",
			[]string{"tiny.yaml:8:35: environment.scale_in.desired: 3 must be between 0 and instances-1 (2)"}},
		{"preset of another cloud", "preset: aws-web-asg", "preset: azure-web-vmss",
			[]string{"tiny.yaml:7:11: environment.preset: preset \"azure-web-vmss\" is a azure environment, but clouds does not name azure",
				"clouds[0]: cloud aws has no environment"}},
		{"cloud without environment", "clouds: [aws]", "clouds: [aws, gcp]",
			[]string{"tiny.yaml:3:15: clouds[1]: cloud gcp has no environment"}},
		{"environment and environments", "environment:\n  preset: aws-web-asg", "environment:\n  preset: aws-web-asg\nenvironments:\n  - preset: aws-web-asg",
			[]string{"environments: give either environment (one cloud) or environments (one per cloud), not both"}},
		{"no environment", "environment:\n  preset: aws-web-asg\n", "",
			[]string{"environment: is required"}},
		{"two environments for one cloud", "environment:\n  preset: aws-web-asg", "environments:\n  - preset: aws-web-asg\n  - preset: aws-web-asg",
			[]string{"tiny.yaml:8:13: environments[1].preset: a second aws environment"}},
		{"technique of an unseeded cloud", "technique: aws.ec2.exploit-web-app", "technique: gcp.gce.exploit-web-app",
			[]string{"steps[0].technique: gcp.gce.exploit-web-app attacks gcp, which the scenario's clouds do not name"}},
		{"detector of an unseeded cloud", "duration: 1h", "duration: 1h\ndetectors: {defender: {enabled: true}}",
			[]string{"detectors.defender: watches azure, which the scenario does not seed"}},
		{"service-account roles on aws", "  preset: aws-web-asg", "  preset: aws-web-asg\n  service_account_roles: [roles/owner]",
			[]string{"environment.service_account_roles: service-account roles are GCP project roles; preset aws-web-asg is aws"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Contains(t, minimal, c.old, "the case must change the document")
			doc := strings.Replace(minimal, c.old, c.new, 1)
			_, err := scenarios.Load("tiny.yaml", []byte(doc))
			require.Error(t, err)
			for _, w := range c.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadErrorIsTyped(t *testing.T) {
	_, err := scenarios.Load("x.yaml", []byte(strings.Replace(minimal, "at: 2m", "at: soon", 1)))
	var e *scenarios.Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, scenarios.Error{File: "x.yaml", Line: 10, Column: 9, Field: "steps[0].at",
		Msg: `"soon" is not a duration (use e.g. 90s, 25m, 2h)`}, *e)
}

// TestCloudScenariosLoad: the Azure, GCP and multi-cloud scenarios load
// with one environment per cloud, in the order of clouds, each cloud's
// detector, and the generalised playbook.
func TestCloudScenariosLoad(t *testing.T) {
	for _, c := range []struct {
		id, preset string
		clouds     []string
	}{
		{"azure-vm-cryptomining", "azure-web-vmss", []string{"azure"}},
		{"gcp-vm-cryptomining", "gcp-web-mig", []string{"gcp"}},
		{"multicloud-cryptomining", "aws-web-asg", []string{"aws", "azure", "gcp"}},
	} {
		t.Run(c.id, func(t *testing.T) {
			sc, ok := scenarios.ByID(c.id)
			require.True(t, ok)
			require.Equal(t, c.clouds, sc.Clouds)
			require.Len(t, sc.Environments, len(c.clouds))
			for i, e := range sc.Environments {
				require.Equal(t, c.clouds[i], e.Cloud)
				require.NotNil(t, e.ScaleIn, "every cloud's scaling races the responder")
			}
			require.Equal(t, c.preset, sc.Environment.Preset)
			require.Equal(t, "vm-cryptomining", sc.Expect.Playbook)
			require.Equal(t, "custom", sc.Expect.SLO.Profile)
			reg := attacker.Builtin()
			for _, st := range sc.Steps {
				tech, ok := reg.Get(st.Technique)
				require.True(t, ok)
				require.Contains(t, c.clouds, tech.CloudName())
			}
		})
	}
	sc, _ := scenarios.ByID("multicloud-cryptomining")
	require.True(t, sc.Detectors.GuardDuty.Enabled && sc.Detectors.Defender.Enabled && sc.Detectors.SCC.Enabled)
	gcp, ok := sc.EnvironmentFor("gcp")
	require.True(t, ok)
	require.Equal(t, []string{"roles/compute.securityAdmin"}, gcp.ServiceAccountRoles)
}

func TestUnknownScenarioID(t *testing.T) {
	_, ok := scenarios.ByID("aws-ec2-cryptominingx")
	require.False(t, ok)
}
