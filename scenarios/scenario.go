// Package scenarios is firedrill's attack catalog: what a drill plays. A
// scenario names its ATT&CK techniques and clouds, the resources to seed
// (typed per cloud, from named preset packs and its own list), the attack
// steps (at an offset, after another step or on a condition), background
// activity by legitimate principals on every cloud, which managed detectors
// are on (resolved through the detector registry), and what is expected of
// the response (the playbook that should answer, the SLOs it is held to).
//
// Scenarios are YAML, embedded from catalog/, and validated strictly on load:
// unknown fields, unknown techniques, parameters, detectors, presets or
// resource kinds, bad durations and broken step references are rejected with
// file, line, column and field path, so a typo never turns into a drill that
// silently tests less than it claims.
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
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
	// Environments are the preset environments as written, one per cloud,
	// in the order of Clouds.
	Environments []Environment
	// Resources are what the drill seeds: every environment's preset pack
	// expanded (with its overrides) and the scenario's own resources merged
	// in, in the order of Clouds.
	Resources []Resource
	Steps     []Step
	// Background is legitimate activity during the drill, on any cloud.
	Background []Background
	// Faults are injected into the simulated clouds' answers (throttling,
	// server errors, latency), by default to the responder's calls.
	Faults []fault.Rule
	// Detectors are the managed detectors the scenario configures, by
	// registry name (see cloudsim/detect); a detector not named is off.
	Detectors Detectors
	Duration  time.Duration
	Expect    Expect
	// Knobs are the cloud behaviour the scenario sets (its knobs: block
	// over world.DefaultKnobs); nil leaves the world's defaults.
	Knobs *world.Knobs
	// Source is the file the scenario was loaded from; Raw its bytes, as
	// written (comments and all), for 'firedrill show ID -o yaml'.
	Source string
	Raw    []byte
}

// Technique is an ATT&CK technique the scenario exercises.
type Technique struct {
	ID   string // ATT&CK id, e.g. T1552.005
	Name string
}

// Resource is one typed resource to seed in a cloud (see simcloud.Resource
// for the fields each kind takes).
type Resource = simcloud.Resource

// ScaleIn is a scheduled change of a VM group's desired capacity.
type ScaleIn = simcloud.ScaleIn

// RolePolicy is an inline Allow policy added to a role.
type RolePolicy = simcloud.Policy

// Environment is one cloud's preset as the scenario writes it: a preset
// pack (see simcloud.Packs) and the overrides it takes, which change the
// pack's VM group and workload identity resources.
type Environment struct {
	// Preset names the pack: "aws-web-asg" (a web autoscaling group),
	// "azure-web-vmss" (a web VM scale set) or "gcp-web-mig" (a web
	// managed instance group).
	Preset string
	// Cloud is the preset's cloud.
	Cloud string
	// Instances is the size of the preset's VM group.
	Instances int
	// ScaleIn schedules a scale-in of the VM group, nil for none.
	ScaleIn *ScaleIn
	// RolePolicies are extra inline policies on the workload's role: the
	// over-privilege that turns a stolen role session into real damage.
	RolePolicies []RolePolicy
	// ServiceAccountRoles are extra project roles granted to the
	// workload's service account.
	ServiceAccountRoles []string
}

// EnvironmentFor returns the scenario's environment in cloud.
func (s *Scenario) EnvironmentFor(cloud string) (Environment, bool) {
	for _, e := range s.Environments {
		if e.Cloud == cloud {
			return e, true
		}
	}
	return Environment{}, false
}

// ResourcesIn returns the resources the scenario seeds in cloud.
func (s *Scenario) ResourcesIn(cloud string) []Resource {
	var out []Resource
	for _, r := range s.Resources {
		if r.Cloud == cloud {
			out = append(out, r)
		}
	}
	return out
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

// Background is a legitimate principal's ordinary activity, so audit logs
// are not only the attack and investigation queries must separate the two.
// Technique names a registered legitimate technique (its cloud is the
// technique's); later, what the response breaks of it is collateral damage.
type Background struct {
	Technique string
	Cloud     string
	// Principal is who acts: an IAM user, an application, a user's email.
	Principal string
	Every     time.Duration
	// SourceIP is the principal's address ("" for the simulator's default).
	SourceIP string
	Params   map[string]string
}

// Detectors are the detectors a scenario configures, by registry name.
type Detectors map[string]*detect.Config

// Config returns a detector's configuration; a detector the scenario does
// not name is off, with its defaults.
func (d Detectors) Config(name string) *detect.Config {
	if c := d[name]; c != nil {
		return c
	}
	return &detect.Config{Name: name, Values: map[string]any{}}
}

// On lists the detectors that are on, in registry order.
func (d Detectors) On() []*detect.Spec {
	var out []*detect.Spec
	for _, s := range detect.Specs() {
		if d.Config(s.Name).Enabled {
			out = append(out, s)
		}
	}
	return out
}

// Enabled reports whether a detector is on.
func (d Detectors) Enabled(name string) bool { return d.Config(name).Enabled }

// Expect is what the scenario expects of the response.
type Expect struct {
	Playbook string
	SLO      SLO
	// EradicationOutOfScope leaves what the attacker planted out of the
	// verdict and the score (still reported): for exercises that stop at
	// containment, or where another team owns cleanup.
	EradicationOutOfScope bool
}

// Values of expect.eradication.
const (
	EradicationInScope    = "in_scope" // the default
	EradicationOutOfScope = "out_of_scope"
)

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
