package scenarios_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
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
	require.True(t, sc.Detectors.Enabled("guardduty"))
	require.Equal(t, detect.Latency{Min: 3 * time.Minute, Mode: 5 * time.Minute, Max: 12 * time.Minute},
		sc.Detectors.Config("guardduty").Latency("latency"))
	cpu := sc.Detectors.Config("cpu_alarm")
	require.True(t, cpu.Enabled)
	require.Equal(t, 95.0, cpu.Number("threshold"))
	require.Equal(t, 5*time.Minute, cpu.Duration("period"))
	require.Equal(t, 2, cpu.Int("evaluation_periods"))
	cost := sc.Detectors.Config("cost_anomaly")
	require.True(t, cost.Enabled)
	require.Equal(t, 3*time.Hour, cost.Duration("after"))
	require.Equal(t, 10.0, cost.Number("min_spend_usd"))
	var on []string
	for _, s := range sc.Detectors.On() {
		on = append(on, s.Control)
	}
	require.Equal(t, []string{"guardduty", "cpu-alarm", "cost-anomaly"}, on, "registry order, control names")

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
	var activities []string
	for _, b := range sc.Background {
		activities = append(activities, b.Technique+" "+b.Principal)
	}
	require.Equal(t, []string{"aws.routine-api-calls alice", "aws.routine-api-calls bob", "aws.routine-api-calls ci-deploy",
		"aws.web-clients storefront-users", "aws.fleet-role-calls web-app-role"}, activities,
		"users, the CI user deploying, the web tier's clients and the group's other instances must keep working")
	require.Equal(t, scenarios.Background{Technique: attacker.AWSRoutineCalls, Cloud: "aws", Principal: "alice", Every: 12 * time.Minute,
		SourceIP: "198.51.100.23", Params: map[string]string{"calls": "ec2:DescribeInstances,s3:GetObject"}}, sc.Background[0])
	// The preset expanded into typed resources: the role with the
	// scenario's extra policy, the group with its size and scale-in.
	require.Equal(t, []scenarios.Resource{
		{Cloud: "aws", Kind: "role", Name: "web-app-role", Policies: []scenarios.RolePolicy{{Name: "legacy-ops-automation",
			Actions: []string{"ec2:RunInstances", "ec2:CreateTags", "iam:CreateAccessKey", "iam:ListAccessKeys", "iam:ListUsers"}, Resource: "*"}}},
		{Cloud: "aws", Kind: "vm_group", Name: "web-asg", Size: 3, ScaleIn: &scenarios.ScaleIn{After: 25 * time.Minute, Desired: 2}},
	}, sc.Resources)
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

func TestFaultsLoad(t *testing.T) {
	doc := minimal + "faults:\n  - {kind: throttle, rate: 20%, service: ec2}\n  - {kind: errors, rate: 0.05, actor: all}\n" +
		"  - {kind: latency, factor: 10, actor: background}\n"
	sc, err := scenarios.Load("tiny.yaml", []byte(doc))
	require.NoError(t, err)
	require.Equal(t, []fault.Rule{
		{Kind: fault.Throttle, Rate: 0.2, Service: "ec2", Actor: "responder"},
		{Kind: fault.Error5xx, Rate: 0.05},
		{Kind: fault.Latency, Factor: 10, Actor: "background/*"},
	}, sc.Faults)
}

func TestMinimalScenarioLoadsWithDefaults(t *testing.T) {
	sc, err := scenarios.Load("tiny.yaml", []byte(minimal))
	require.NoError(t, err)
	require.Equal(t, "tiny", sc.ID)
	require.Equal(t, 3, sc.Environment.Instances)
	require.Nil(t, sc.Environment.ScaleIn)
	require.False(t, sc.Detectors.Enabled("guardduty"), "detectors are off unless named")
	require.Equal(t, []scenarios.Resource{{Cloud: "aws", Kind: "role", Name: "web-app-role"},
		{Cloud: "aws", Kind: "vm_group", Name: "web-asg", Size: 3}}, sc.Resources, "the preset's defaults")
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
			[]string{"tiny.yaml:8:35: environment.scale_in.desired: 3 must be between 0 and size-1 (2)"}},
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
			[]string{"environment.service_account_roles: preset aws-web-asg's workload identity web-app-role is a aws role, which takes policies, not roles"}},
		{"role policies on azure", "  preset: aws-web-asg", "  preset: azure-web-vmss\n  role_policies: [{name: x, actions: [\"a:b\"]}]",
			[]string{"environment.role_policies: preset azure-web-vmss has no workload identity to change"}},
		{"bad role policy action", "  preset: aws-web-asg", "  preset: aws-web-asg\n  role_policies: [{name: x, actions: [ec2]}]",
			[]string{"tiny.yaml:8:39: environment.role_policies[0].actions[0]: \"ec2\" is not an IAM action"}},
		{"unknown detector", "duration: 1h", "duration: 1h\ndetectors: {guarduty: {enabled: true}}",
			[]string{"tiny.yaml:14:13: detectors.guarduty: unknown detector \"guarduty\" (known: guardduty, defender, scc, cpu_alarm, cost_anomaly)"}},
		{"unknown detector setting", "duration: 1h", "duration: 1h\ndetectors: {cpu_alarm: {treshold: 90}}",
			[]string{"tiny.yaml:14:25: detectors.cpu_alarm.treshold: detector cpu_alarm has no setting \"treshold\""}},
		{"bad detector setting", "duration: 1h", "duration: 1h\ndetectors: {cpu_alarm: {threshold: 120}}",
			[]string{"tiny.yaml:14:36: detectors.cpu_alarm.threshold: 120 must be a percentage between 0 and 100"}},
		{"bad detector latency", "duration: 1h", "duration: 1h\ndetectors: {guardduty: {latency: {min: 5m, mode: 1m, max: 9m}}}",
			[]string{"detectors.guardduty.latency: needs min <= mode <= max (got 5m, 1m, 9m)"}},
		{"unknown resource kind", "duration: 1h", "duration: 1h\nresources: [{cloud: aws, kind: database, name: db}]",
			[]string{"tiny.yaml:14:32: resources[0].kind: unknown aws resource kind \"database\" (known: vm_group, role, bucket)"}},
		{"field of another kind", "duration: 1h", "duration: 1h\nresources: [{cloud: aws, kind: bucket, name: b, roles: [x]}]",
			[]string{"tiny.yaml:14:49: resources[0].roles: a aws bucket takes no roles (it takes: versioned)"}},
		{"resource of an unnamed cloud", "duration: 1h", "duration: 1h\nresources: [{cloud: gcp, kind: bucket, name: b}]",
			[]string{"resources[0].cloud: gcp is not one of the scenario's clouds"}},
		{"resource changes the preset's group", "duration: 1h", "duration: 1h\nresources: [{cloud: aws, kind: vm_group, name: web-asg, size: 30}]",
			[]string{"tiny.yaml:14:63: resources[0].size: 30 is out of range 1..20"}},
		{"old background form", "duration: 1h", "duration: 1h\ndynamics: {background: []}",
			[]string{"tiny.yaml:14:1: dynamics: dynamics.background is now background"}},
		{"background of an unknown technique", "duration: 1h", "duration: 1h\nbackground: [{technique: aws.ec2.exploit-web-app, principal: alice, every: 5m}]",
			[]string{"background[0].technique: unknown legitimate technique \"aws.ec2.exploit-web-app\""}},
		{"background call not known", "duration: 1h", "duration: 1h\nbackground: [{technique: aws.routine-api-calls, principal: alice, every: 5m, params: {calls: [\"ec2:RunInstances\"]}}]",
			[]string{"background[0].params.calls: parameter \"calls\" of aws.routine-api-calls: unknown value \"ec2:RunInstances\""}},
		{"background without calls", "duration: 1h", "duration: 1h\nbackground: [{technique: aws.routine-api-calls, principal: alice, every: 5m}]",
			[]string{"background[0].technique: technique aws.routine-api-calls needs parameter \"calls\""}},
		{"background in an unseeded cloud", "duration: 1h", "duration: 1h\nbackground: [{technique: gcp.routine-api-calls, principal: a@b, every: 5m, params: {calls: [compute.instances.get]}}]",
			[]string{"background[0].technique: gcp.routine-api-calls acts in gcp, which the scenario's clouds do not name"}},
		{"legitimate technique as a step", "technique: aws.ec2.exploit-web-app", "technique: aws.routine-api-calls",
			[]string{"steps[0].technique: unknown technique \"aws.routine-api-calls\""}},
		{"fault without rate", "duration: 1h", "duration: 1h\nfaults: [{kind: throttle}]",
			[]string{"faults[0].rate: is required for throttle"}},
		{"fault of an unknown kind", "duration: 1h", "duration: 1h\nfaults: [{kind: explode, rate: 10%}]",
			[]string{"tiny.yaml:14:17: faults[0].kind: unknown fault \"explode\" (throttle, errors, latency)"}},
		{"fault rate above 100%", "duration: 1h", "duration: 1h\nfaults: [{kind: errors, rate: 120%}]",
			[]string{"faults[0].rate: expected a rate such as 20% or 0.2, got \"120%\""}},
		{"fault in an unseeded cloud", "duration: 1h", "duration: 1h\nfaults: [{kind: latency, factor: 3, cloud: gcp}]",
			[]string{"faults[0].cloud: \"gcp\" is not one of the scenario's clouds (aws)"}},
		{"latency fault without size", "duration: 1h", "duration: 1h\nfaults: [{kind: latency}]",
			[]string{"faults[0]: a latency fault needs a factor (10) or a latency (2s)"}},
		{"unknown knob", "duration: 1h", "duration: 1h\nknobs: {conntrack: never}",
			[]string{"tiny.yaml:14:9: knobs.conntrack: unknown field \"conntrack\" (known: iam_propagation, azure_rbac_propagation"}},
		{"unknown conn_track", "duration: 1h", "duration: 1h\nknobs: {conn_track: sometimes}",
			[]string{"tiny.yaml:14:21: knobs.conn_track: unknown value \"sometimes\" (instant, new_flows_only, never)"}},
		{"knob latency out of order", "duration: 1h", "duration: 1h\nknobs: {iam_propagation: {min: 10s, mode: 4s, max: 20s}}",
			[]string{"knobs.iam_propagation: needs min <= mode <= max (got 10s, 4s, 20s)"}},
		{"knob latency without max", "duration: 1h", "duration: 1h\nknobs: {iam_propagation: {min: 1s, mode: 4s}}",
			[]string{"knobs.iam_propagation.max: is required"}},
		{"knob latency as a duration", "duration: 1h", "duration: 1h\nknobs: {iam_propagation: 5s}",
			[]string{"tiny.yaml:14:26: knobs.iam_propagation: must be a latency {min, mode, max}"}},
		{"knob latency field", "duration: 1h", "duration: 1h\nknobs: {iam_propagation: {min: 1s, mode: 4s, max: 9s, avg: 5s}}",
			[]string{"knobs.iam_propagation.avg: unknown field \"avg\" (known: min, mode, max)"}},
		{"bad knob duration", "duration: 1h", "duration: 1h\nknobs: {elb_unhealthy_after: soon}",
			[]string{"tiny.yaml:14:30: knobs.elb_unhealthy_after: \"soon\" is not a duration"}},
		{"knob flag not a boolean", "duration: 1h", "duration: 1h\nknobs: {asg_replace_stopped: maybe}",
			[]string{"tiny.yaml:14:30: knobs.asg_replace_stopped: must be true or false"}},
		{"knob of an unseeded cloud", "duration: 1h", "duration: 1h\nknobs: {azure_rbac_propagation: {min: 30s, mode: 2m, max: 10m}}",
			[]string{"knobs.azure_rbac_propagation: changes azure, which the scenario does not seed"}},
		{"unknown health check type", "duration: 1h", "duration: 1h\nresources: [{cloud: aws, kind: vm_group, name: web-asg, health_check_type: ALB}]",
			[]string{"resources[0].health_check_type: \"ALB\" is not EC2 or ELB"}},
		{"required parameter", "    params: {target: oldest}", "    params: {target: oldest}\n  - {id: persist, after: exploit, technique: aws.iam.create-access-key}",
			[]string{"steps[1].technique: technique aws.iam.create-access-key needs parameter \"user\""}},
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
				require.Contains(t, c.clouds, tech.Cloud)
			}
		})
	}
	sc, _ := scenarios.ByID("multicloud-cryptomining")
	require.True(t, sc.Detectors.Enabled("guardduty") && sc.Detectors.Enabled("defender") && sc.Detectors.Enabled("scc"))
	gcp, ok := sc.EnvironmentFor("gcp")
	require.True(t, ok)
	require.Equal(t, []string{"roles/compute.securityAdmin"}, gcp.ServiceAccountRoles)
	require.Equal(t, []scenarios.Resource{
		{Cloud: "gcp", Kind: "service_account", Name: "web-app", Roles: []string{"roles/compute.securityAdmin"}},
		{Cloud: "gcp", Kind: "vm_group", Name: "web-mig", Size: 3, ScaleIn: &scenarios.ScaleIn{After: 24 * time.Minute, Desired: 2}},
	}, sc.ResourcesIn("gcp"))
	require.Equal(t, []scenarios.Resource{
		{Cloud: "azure", Kind: "vm_group", Name: "web-vmss", Size: 3, ScaleIn: &scenarios.ScaleIn{After: 27 * time.Minute, Desired: 2}},
	}, sc.ResourcesIn("azure"))
}

func TestUnknownScenarioID(t *testing.T) {
	_, ok := scenarios.ByID("aws-ec2-cryptominingx")
	require.False(t, ok)
}

// TestScenarioResourcesMergeWithPresets: a scenario's own resources change
// the preset's resource of the same kind and name, add new ones, and a
// background entry on any cloud names a legitimate technique.
func TestScenarioResourcesMergeWithPresets(t *testing.T) {
	doc := strings.Replace(minimal, "duration: 1h", `duration: 1h
resources:
  - {cloud: aws, kind: vm_group, name: web-asg, size: 5, scale_in: {after: 30m, desired: 4}}
  - {cloud: aws, kind: bucket, name: customer-exports, versioned: true}
  - {cloud: aws, kind: role, name: web-app-role, policies: [{name: extra, actions: ["s3:GetObject"]}]}
background:
  - {technique: aws.routine-api-calls, principal: bob, every: 10m, params: {calls: ["iam:ListUsers"]}}
detectors:
  guardduty: {}
  cpu_alarm: {enabled: false}`, 1)
	sc, err := scenarios.Load("res.yaml", []byte(doc))
	require.NoError(t, err)
	require.Equal(t, []scenarios.Resource{
		{Cloud: "aws", Kind: "role", Name: "web-app-role", Policies: []scenarios.RolePolicy{{Name: "extra", Actions: []string{"s3:GetObject"}, Resource: "*"}}},
		{Cloud: "aws", Kind: "vm_group", Name: "web-asg", Size: 5, ScaleIn: &scenarios.ScaleIn{After: 30 * time.Minute, Desired: 4}},
		{Cloud: "aws", Kind: "bucket", Name: "customer-exports", Versioned: true},
	}, sc.Resources)
	require.Equal(t, "iam:ListUsers", sc.Background[0].Params["calls"])
	require.True(t, sc.Detectors.Enabled("guardduty"), "a named detector is on unless it says otherwise")
	require.False(t, sc.Detectors.Enabled("cpu_alarm"))
	require.Equal(t, 95.0, sc.Detectors.Config("cpu_alarm").Number("threshold"), "defaults apply")
}

// TestDetectorRegistry: every scenario detector name resolves to a control
// and the clouds it watches, which scoring uses.
func TestDetectorRegistry(t *testing.T) {
	want := map[string]struct {
		control string
		clouds  []string
	}{
		"guardduty": {"guardduty", []string{"aws"}}, "defender": {"defender", []string{"azure"}}, "scc": {"scc", []string{"gcp"}},
		"cpu_alarm": {"cpu-alarm", []string{"aws", "azure"}}, "cost_anomaly": {"cost-anomaly", []string{"aws"}},
	}
	require.Equal(t, []string{"guardduty", "defender", "scc", "cpu_alarm", "cost_anomaly"}, detect.Names())
	for name, w := range want {
		s, ok := detect.Lookup(name)
		require.True(t, ok, name)
		require.Equal(t, w.control, s.Control)
		require.Equal(t, w.clouds, s.Clouds)
	}
	_, ok := detect.Lookup("cloudtrail-insights")
	require.False(t, ok)
}

// TestKnobs: a knobs block changes the knobs it names over the defaults;
// a scenario without one leaves the world's defaults (nil).
func TestKnobs(t *testing.T) {
	sc, err := scenarios.Load("tiny.yaml", []byte(minimal))
	require.NoError(t, err)
	require.Nil(t, sc.Knobs)

	doc := minimal + "knobs:\n  conn_track: never\n  iam_propagation: {min: 1s, mode: 3s, max: 30s}\n" +
		"  elb_unhealthy_after: 90s\n  asg_replace_stopped: true\n"
	sc, err = scenarios.Load("tiny.yaml", []byte(doc))
	require.NoError(t, err)
	want := world.DefaultKnobs()
	want.ConnTrack = world.ConnTrackNever
	want.IAMPropagation = world.Latency{Min: time.Second, Mode: 3 * time.Second, Max: 30 * time.Second}
	want.ELBUnhealthyAfter = 90 * time.Second
	want.ASGReplaceStopped = true
	require.Equal(t, &want, sc.Knobs)

	// An empty block is the defaults, set explicitly.
	sc, err = scenarios.Load("tiny.yaml", []byte(minimal+"knobs: {}\n"))
	require.NoError(t, err)
	def := world.DefaultKnobs()
	require.Equal(t, &def, sc.Knobs)
}

// TestCatalogKnobs: the Azure scenarios use the propagation Azure
// documents; the trap variants set what makes them traps.
func TestCatalogKnobs(t *testing.T) {
	for id, want := range map[string]func(*world.Knobs){
		"azure-vm-cryptomining":                func(k *world.Knobs) { k.AzureRBACPropagation = world.AzureRBACDocumented },
		"multicloud-cryptomining":              func(k *world.Knobs) { k.AzureRBACPropagation = world.AzureRBACDocumented },
		"aws-ec2-cryptomining-conntrack-never": func(k *world.Knobs) { k.ConnTrack = world.ConnTrackNever },
	} {
		sc, ok := scenarios.ByID(id)
		require.True(t, ok, id)
		k := world.DefaultKnobs()
		want(&k)
		require.Equal(t, &k, sc.Knobs, id)
	}
	for _, id := range []string{"aws-ec2-cryptomining", "gcp-vm-cryptomining", "aws-ec2-cryptomining-elb"} {
		sc, ok := scenarios.ByID(id)
		require.True(t, ok, id)
		require.Nil(t, sc.Knobs, "%s keeps the defaults", id)
	}
	elb, _ := scenarios.ByID("aws-ec2-cryptomining-elb")
	var group *scenarios.Resource
	for i, r := range elb.Resources {
		if r.Kind == "vm_group" {
			group = &elb.Resources[i]
		}
	}
	require.NotNil(t, group)
	require.Equal(t, "ELB", group.HealthCheckType)
}
