// Package scenarios is firedrill's attack catalog: what a drill plays. A
// scenario names its ATT&CK techniques and clouds, the environment to seed,
// the attack steps (at an offset, after another step or on a condition), the
// environment's own dynamics (scale-in, normal background activity), which
// managed detectors are on, and what is expected of the response (the
// playbook that should answer, the SLOs it is held to).
//
// Scenarios are YAML, embedded from catalog/, and validated strictly on load:
// unknown fields, unknown techniques or parameters, bad durations and broken
// step references are rejected with file, line, column and field path, so a
// typo never turns into a drill that silently tests less than it claims.
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"
)

// Scenario is one loaded, validated scenario.
type Scenario struct {
	ID          string
	Title       string
	Description string
	Clouds      []string
	Techniques  []Technique
	// Environment is the first (for single-cloud scenarios the only)
	// entry of Environments, kept for callers that predate multi-cloud.
	Environment Environment
	// Environments are the seeded environments, one per cloud, in the
	// order of Clouds.
	Environments []Environment
	Steps        []Step
	Dynamics     Dynamics
	Detectors    Detectors
	Duration     time.Duration
	Expect       Expect
	// Source is the file the scenario was loaded from.
	Source string
}

// Technique is an ATT&CK technique the scenario exercises.
type Technique struct {
	ID   string // ATT&CK id, e.g. T1552.005
	Name string
}

// Environment is what the runner seeds in one cloud before the attack
// starts.
type Environment struct {
	// Preset names a seeded environment: "aws-web-asg" (cloudsim/demo's
	// web autoscaling group), "azure-web-vmss" (a web VM scale set) or
	// "gcp-web-mig" (a web managed instance group).
	Preset string
	// Cloud is the preset's cloud: aws, azure or gcp.
	Cloud string
	// Instances is the size of the web scaling group.
	Instances int
	// ScaleIn schedules a scale-in of the web group, nil for none.
	ScaleIn *ScaleIn
	// RolePolicies are extra inline policies on the instance role: the
	// over-privilege that turns a stolen role session into real damage
	// (AWS only).
	RolePolicies []RolePolicy
	// ServiceAccountRoles are extra project roles granted to the web
	// tier's service account: the GCP over-privilege (GCP only).
	ServiceAccountRoles []string
}

// PresetClouds maps each preset to its cloud.
var PresetClouds = map[string]string{"aws-web-asg": "aws", "azure-web-vmss": "azure", "gcp-web-mig": "gcp"}

// EnvironmentFor returns the scenario's environment in cloud.
func (s *Scenario) EnvironmentFor(cloud string) (Environment, bool) {
	for _, e := range s.Environments {
		if e.Cloud == cloud {
			return e, true
		}
	}
	return Environment{}, false
}

// ScaleIn is a scheduled change of the web group's desired capacity.
type ScaleIn struct {
	After   time.Duration // from the start of the scenario
	Desired int
}

// RolePolicy is an inline Allow policy added to the instance role.
type RolePolicy struct {
	Name     string
	Actions  []string
	Resource string
}

// Step is one attack step.
type Step struct {
	ID string
	// Exactly one of At, After and When says when the step starts.
	At    *time.Duration // offset from the scenario start
	After string         // another step's id: start when it has finished
	When  string         // a condition name (see Conditions)
	// Delay is added after After or When is satisfied.
	Delay     time.Duration
	Technique string
	Params    map[string]string
}

// Conditions are the names a step's `when` may use; the runner evaluates
// them against the timeline.
var Conditions = []string{"first_alert", "responder_ack", "contained"}

// Dynamics is what the environment does by itself during the drill.
type Dynamics struct {
	Background []Background
}

// Background is normal activity by a legitimate user, so audit logs are not
// only the attack and investigation queries must separate the two.
type Background struct {
	User     string
	Every    time.Duration
	SourceIP string
	// Calls are "service:Operation" names from BackgroundCalls.
	Calls []string
}

// BackgroundCalls are the calls background activity can make.
var BackgroundCalls = []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "s3:ListBuckets",
	"s3:GetObject", "s3:PutObject", "sts:GetCallerIdentity", "iam:ListUsers"}

// Detectors says which managed detectors are on and how they behave.
type Detectors struct {
	GuardDuty   GuardDuty
	Defender    Defender
	SCC         SCC
	CPUAlarm    CPUAlarm
	CostAnomaly CostAnomaly
}

// Defender configures the Microsoft Defender for Cloud model (Azure).
type Defender struct {
	Enabled bool
	// MiningLatency, DomainLatency and TokenLatency override the alert
	// latencies of the miner behaviour, mining-domain and
	// token-used-outside-Azure alerts; nil keeps the model's default.
	MiningLatency, DomainLatency, TokenLatency *Latency
}

// SCC configures the Security Command Center model (GCP).
type SCC struct {
	Enabled bool
	// ETDLatency and VMTDLatency override Event Threat Detection's and VM
	// Threat Detection's finding latencies; nil keeps the defaults.
	ETDLatency, VMTDLatency *Latency
}

// GuardDuty configures the GuardDuty model.
type GuardDuty struct {
	Enabled bool
	// Latency overrides the finding latency; nil keeps the model's default.
	Latency *Latency
}

// Latency is a triangular delay distribution.
type Latency struct {
	Min, Mode, Max time.Duration
}

// CPUAlarm configures the CPU alarm on each web instance: a CloudWatch
// alarm on AWS, an Azure Monitor metric alert on Azure (GCP has no CPU
// alert in the demo environment; SCC is its detector).
type CPUAlarm struct {
	Enabled           bool
	Threshold         float64
	Period            time.Duration
	EvaluationPeriods int
}

// CostAnomaly configures the cost anomaly model.
type CostAnomaly struct {
	Enabled bool
	// After is the earliest the anomaly can be reported after the
	// unexpected spend starts (billing data lag plus run cadence).
	After time.Duration
	// MinSpendUSD is how much unexpected spend it takes to be reported.
	MinSpendUSD float64
}

// Expect is what the scenario expects of the response.
type Expect struct {
	Playbook string
	SLO      SLO
}

// SLO is the service level the drill is scored against.
type SLO struct {
	Profile          string // "1-10-60", "5/5/5" or "custom"
	MTTD, MTTA, MTTC time.Duration
}

// SLO profiles: CrowdStrike's 1-10-60 (detect in 1 min, investigate in 10,
// contain in 60) and Sysdig's 5/5/5 for cloud (5 s, 5 min, 5 min); see
// shared/notes/attack-and-scoring.md §3.3.
var sloProfiles = map[string]SLO{
	"1-10-60": {Profile: "1-10-60", MTTD: time.Minute, MTTA: 10 * time.Minute, MTTC: time.Hour},
	"5/5/5":   {Profile: "5/5/5", MTTD: 5 * time.Second, MTTA: 5 * time.Minute, MTTC: 5 * time.Minute},
}

//go:embed catalog/*.yaml
var catalog embed.FS

var (
	builtinOnce sync.Once
	builtin     []*Scenario
)

// Builtin returns the embedded scenarios, sorted by id. An invalid embedded
// scenario is a build defect, caught by the package tests; it panics.
func Builtin() []*Scenario {
	builtinOnce.Do(func() {
		files, err := fs.Glob(catalog, "catalog/*.yaml")
		if err != nil {
			panic(fmt.Sprintf("scenarios: listing the embedded catalog: %v", err))
		}
		for _, f := range files {
			data, err := catalog.ReadFile(f)
			if err != nil {
				panic(fmt.Sprintf("scenarios: reading %s: %v", f, err))
			}
			sc, err := Load(path.Base(f), data)
			if err != nil {
				panic(fmt.Sprintf("scenarios: embedded scenario is invalid: %v", err))
			}
			builtin = append(builtin, sc)
		}
		sort.Slice(builtin, func(i, j int) bool { return builtin[i].ID < builtin[j].ID })
	})
	return builtin
}

// ByID returns a built-in scenario.
func ByID(id string) (*Scenario, bool) {
	for _, sc := range Builtin() {
		if sc.ID == id {
			return sc, true
		}
	}
	return nil, false
}

// ATTACKIDs lists the scenario's ATT&CK technique ids, for listings.
func (s *Scenario) ATTACKIDs() []string {
	var out []string
	for _, t := range s.Techniques {
		out = append(out, t.ID)
	}
	return out
}
