package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/internal/yamlschema"
	"github.com/firedrill-ir/firedrill/providers"
)

// rawKnobs is the scenario's knobs: block, the cloud behaviour the clouds
// document only as a range or not at all (world.Knobs). A knob not given
// keeps world.DefaultKnobs's value. Latencies and the flag are read as any
// so that a value of the wrong shape is reported with the rest of the
// file's problems rather than stopping the decode.
type rawKnobs struct {
	IAMPropagation        any    `yaml:"iam_propagation"`
	AzureRBACPropagation  any    `yaml:"azure_rbac_propagation"`
	GCPDisablePropagation any    `yaml:"gcp_disable_propagation"`
	ConnTrack             string `yaml:"conn_track"`
	ELBUnhealthyAfter     string `yaml:"elb_unhealthy_after"`
	ASGReplaceStopped     any    `yaml:"asg_replace_stopped"`
}

// knobDocs are the knobs' descriptions in the schema: each says which part
// of its default the cloud documents and which is a modelling choice (the
// sources are in cloudsim/world/knobs.go).
var knobDocs = map[string]string{
	"iam_propagation": "AWS: how long an IAM policy or access-key change takes to reach the endpoints that " +
		"authorize calls; the old state authorizes until then. AWS documents IAM as eventually consistent " +
		"without a bound: the default {min: 2s, mode: 4s, max: 10s} is a modelling choice for 'a few seconds'.",
	"azure_rbac_propagation": "Azure: how long a deleted role assignment goes on authorizing (Azure Resource " +
		"Manager caches assignments). Azure documents that changes 'can take up to 10 minutes' (Troubleshoot " +
		"Azure RBAC): {min: 30s, mode: 2m, max: 10m} models it, the shape a modelling choice. The default, " +
		"no delay, is a modelling choice that departs from the documentation.",
	"gcp_disable_propagation": "GCP: how long a disabled (or re-enabled) service account goes on being " +
		"treated as before by token checks and issuance. The default, no delay, is documented " +
		"(serviceAccounts.disable rejects existing access tokens immediately); set a range to rehearse a " +
		"slower world (IAM policy changes are documented to take 2 to 7 minutes or longer).",
	"conn_track": "AWS: what attaching an all-open security group does to an established, tracked flow. " +
		"instant (the default): it becomes untracked at once, which the two-step isolation of AWS's own " +
		"runbooks relies on; new_flows_only: it stays tracked until it ends; never: no security-group change " +
		"cuts a flow, only a network ACL deny or stopping the instance does. AWS does not document this: " +
		"every value, the default included, is a modelling choice.",
	"elb_unhealthy_after": "AWS: how long a load balancer takes to report an instance that stopped answering " +
		"its health check as unhealthy; a scaling group with ELB health checks replaces it then. The default, " +
		"60s, is documented: a 30 s interval times an unhealthy threshold of 2 (Health checks for target groups).",
	"asg_replace_stopped": "AWS: whether Auto Scaling's EC2 health check replaces an InService instance that " +
		"is stopped, as AWS documents (any state but running is unhealthy). The default, false, is a " +
		"modelling choice that departs from the documentation; groups with ELB health checks replace a " +
		"stopped instance either way.",
}

// knobClouds is the cloud each knob changes: a knob for a cloud the
// scenario does not seed would silently change nothing.
var knobClouds = map[string]string{
	"iam_propagation": providers.CloudAWS, "azure_rbac_propagation": providers.CloudAzure,
	"gcp_disable_propagation": providers.CloudGCP, "conn_track": providers.CloudAWS,
	"elb_unhealthy_after": providers.CloudAWS, "asg_replace_stopped": providers.CloudAWS,
}

// knobs validates the knobs: block over the defaults; nil when there is
// none, so that the world keeps world.DefaultKnobs.
func (v *validator) knobs(r *rawKnobs, sc *Scenario) *world.Knobs {
	if r == nil {
		return nil
	}
	k := world.DefaultKnobs()
	before := len(v.errs)
	set := map[string]bool{}
	latency := func(name string, val any, dst *world.Latency) {
		if val == nil {
			return
		}
		set[name] = true
		if l, ok := v.latency("knobs."+name, val); ok {
			*dst = l.(world.Latency)
		}
	}
	latency("iam_propagation", r.IAMPropagation, &k.IAMPropagation)
	latency("azure_rbac_propagation", r.AzureRBACPropagation, &k.AzureRBACPropagation)
	latency("gcp_disable_propagation", r.GCPDisablePropagation, &k.GCPDisablePropagation)
	if r.ConnTrack != "" {
		set["conn_track"] = true
		if !slices.Contains(world.ConnTrackModes(), r.ConnTrack) {
			v.add("knobs.conn_track", "unknown value %q (%s)", r.ConnTrack, strings.Join(world.ConnTrackModes(), ", "))
		}
		k.ConnTrack = r.ConnTrack
	}
	if r.ELBUnhealthyAfter != "" {
		set["elb_unhealthy_after"] = true
		k.ELBUnhealthyAfter = v.duration("knobs.elb_unhealthy_after", r.ELBUnhealthyAfter, true)
	}
	if r.ASGReplaceStopped != nil {
		set["asg_replace_stopped"] = true
		b, ok := r.ASGReplaceStopped.(bool)
		if !ok {
			v.add("knobs.asg_replace_stopped", "must be true or false")
		}
		k.ASGReplaceStopped = b
	}
	for _, name := range world.SortedKeys(set) {
		v.needCloud("knobs."+name, "changes", sc, knobClouds[name])
	}
	if len(v.errs) > before {
		return nil
	}
	// The world's own check, so that the loader never accepts what the
	// runner would refuse.
	if _, err := k.Check(); err != nil {
		v.add("knobs", "%v", err)
		return nil
	}
	return &k
}

// knobsField completes the schema of a knobs: field (the Go types of the
// latencies and the flag are any).
func knobsField(f reflect.StructField, s map[string]any) {
	for k := range s {
		delete(s, k)
	}
	switch name := yamlschema.Name(f); {
	case strings.HasSuffix(name, "_propagation"):
		for k, x := range latencySchema() {
			s[k] = x
		}
	case name == "conn_track":
		s["enum"] = asAny(world.ConnTrackModes())
	case name == "elb_unhealthy_after":
		for k, x := range yamlschema.Duration() {
			s[k] = x
		}
	case name == "asg_replace_stopped":
		s["type"] = "boolean"
	default:
		panic(fmt.Sprintf("scenarios: knob %s has no schema", name))
	}
	s["description"] = knobDocs[yamlschema.Name(f)]
}

// KnobSetting is one knob a scenario changes, as its knobs: block writes
// it, with the default it replaces.
type KnobSetting struct {
	Name, Value, Default string
}

// KnobSettings lists the knobs the scenario sets to something other than
// their default, in the order of the knobs: block's fields.
func (s *Scenario) KnobSettings() []KnobSetting {
	if s.Knobs == nil {
		return nil
	}
	var out []KnobSetting
	def := knobValues(world.DefaultKnobs())
	for i, v := range knobValues(*s.Knobs) {
		if v != def[i] {
			out = append(out, KnobSetting{Name: v[0], Value: v[1], Default: def[i][1]})
		}
	}
	return out
}

// knobValues is each knob's name and value as a scenario writes them.
func knobValues(k world.Knobs) [][2]string {
	lat := func(l world.Latency) string {
		if l == (world.Latency{}) {
			return "none"
		}
		return fmt.Sprintf("{min: %s, mode: %s, max: %s}", ShortDuration(l.Min), ShortDuration(l.Mode), ShortDuration(l.Max))
	}
	return [][2]string{
		{"iam_propagation", lat(k.IAMPropagation)},
		{"azure_rbac_propagation", lat(k.AzureRBACPropagation)},
		{"gcp_disable_propagation", lat(k.GCPDisablePropagation)},
		{"conn_track", k.ConnTrack},
		{"elb_unhealthy_after", ShortDuration(k.ELBUnhealthyAfter)},
		{"asg_replace_stopped", fmt.Sprint(k.ASGReplaceStopped)},
	}
}

// ShortDuration prints a duration as a scenario author writes it: 30s,
// 25m, 5h, 1h30m.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
