package world

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Latency is a delay distribution: triangular between Min and Max with its
// peak at Mode. A triangle keeps the typical delay near Mode while allowing
// the occasional slow one, which a uniform draw would overstate. The zero
// value is "no delay".
type Latency struct {
	Min, Mode, Max time.Duration
}

// Draw samples the distribution from r, the named stream of whoever draws
// (call under the world lock). A degenerate range (Max <= Min) is Min and
// draws nothing, so a zero knob never moves a stream.
func (l Latency) Draw(r *rand.Rand) time.Duration {
	lo, mode, hi := float64(l.Min), float64(l.Mode), float64(l.Max)
	if hi <= lo {
		return l.Min
	}
	if mode < lo || mode > hi {
		mode = (lo + hi) / 2
	}
	u := r.Float64()
	c := (mode - lo) / (hi - lo)
	var x float64
	if u < c {
		x = lo + math.Sqrt(u*(hi-lo)*(mode-lo))
	} else {
		x = hi - math.Sqrt((1-u)*(hi-lo)*(hi-mode))
	}
	return time.Duration(x).Round(time.Second)
}

func (l Latency) validate(name string) error {
	if l.Min < 0 || l.Max < 0 || l.Mode < 0 {
		return fmt.Errorf("knob %s: delays must not be negative", name)
	}
	if l.Max != 0 && l.Max < l.Min {
		return fmt.Errorf("knob %s: max %s is below min %s", name, l.Max, l.Min)
	}
	return nil
}

// Connection-tracking modes (Knobs.ConnTrack): what happens to a flow that
// is tracked when the interface's groups become all-open (0.0.0.0/0 for
// every port, inbound and outbound).
const (
	// ConnTrackInstant: the flow becomes untracked at once, so removing
	// the all-open group afterwards cuts it. This is what the two-step
	// isolation of AWS's own runbooks relies on (AWSSupport-ContainEC2Instance:
	// "temporary all access SG" then "containment SG"; the Automated
	// Forensic Orchestrator's isolateEc2.py: "step1 converting all traffic
	// to untracked"), and the simulator's behaviour before the knob existed.
	ConnTrackInstant = "instant"
	// ConnTrackNewFlowsOnly: flows opened while the groups are all-open are
	// untracked, but a flow that was tracked stays tracked until it ends, so
	// the two-step isolation does not cut an established connection.
	ConnTrackNewFlowsOnly = "new_flows_only"
	// ConnTrackNever: the all-open exemption never applies, as for traffic
	// AWS tracks automatically whatever the rules ("Automatically tracked
	// connections", EC2 User Guide: e.g. through a NAT gateway, a Network
	// Load Balancer or a transit gateway). No security-group change cuts a
	// flow.
	ConnTrackNever = "never"
)

// Knobs are the settings of cloud behaviour that the clouds document only
// as a range, or not at all. Scenarios set them (SetKnobsLocked); each
// default says where it comes from and which part is a modelling choice.
type Knobs struct {
	// IAMPropagation is how long an AWS IAM change takes to reach the
	// endpoints that authorize calls: inline and managed policies put,
	// deleted, attached or detached on users and roles, and access keys
	// deactivated, re-activated or deleted. Until then the old state
	// authorizes; readers (GetRolePolicy, ListAccessKeys) see the change at
	// once. AWS documents IAM as eventually consistent ("Changes that I
	// make are not always immediately visible", IAM User Guide,
	// troubleshooting: a change "takes time to become visible from all
	// possible endpoints") without a bound; the default, 2-10 s peaking at
	// 4 s, is a modelling choice for "a few seconds".
	IAMPropagation Latency
	// AzureRBACPropagation is how long a deleted Azure role assignment goes
	// on authorizing. Azure documents that role assignment changes "can
	// take up to 10 minutes" to take effect because Azure Resource Manager
	// caches them ("Troubleshoot Azure RBAC"): AzureRBACDocumented models
	// that. The default is no delay, kept for scenarios written before the
	// knob; the catalog's Azure scenarios opt into AzureRBACDocumented
	// (knobs: azure_rbac_propagation), and the built-in playbook waits the
	// documented 10 minutes after deleting the assignments before it
	// declares containment.
	AzureRBACPropagation Latency
	// GCPDisablePropagation is how long a disabled (or re-enabled) GCP
	// service account goes on being treated as before by token checks and
	// token issuance. serviceAccounts.disable is documented to act
	// "immediately": "Existing access tokens for the service account are
	// rejected" (IAM REST reference); allow/deny policy changes, by
	// contrast, "typically propagate in 2 minutes, but could potentially
	// take 7 minutes or longer" ("Access change propagation";
	// GCPIAMPolicyDocumented). The default models the documented immediacy
	// (no delay); a scenario can set a range to rehearse a slower world.
	GCPDisablePropagation Latency
	// ConnTrack is one of ConnTrackInstant (default), ConnTrackNewFlowsOnly
	// or ConnTrackNever. AWS does not document whether an established,
	// tracked flow becomes untracked when an all-open group is attached.
	// A network ACL deny or stopping the instance cuts a flow under every
	// value: NACLs are stateless and a stopped instance has no connections.
	ConnTrack string
	// ELBUnhealthyAfter is how long a load balancer takes to report an
	// instance that stopped answering its health check as unhealthy: the
	// target group's HealthCheckIntervalSeconds times its
	// UnhealthyThresholdCount, 30 s x 2 by default (Elastic Load Balancing,
	// "Health checks for target groups"). Auto Scaling groups with
	// HealthCheckType ELB replace the instance then (see asg.go).
	ELBUnhealthyAfter time.Duration
	// ASGReplaceStopped makes Auto Scaling's EC2 health check replace an
	// InService instance that is stopping or stopped, as AWS documents
	// (Auto Scaling marks an instance unhealthy when its state is "any
	// value other than running"; "Health checks for instances in an Auto
	// Scaling group"). Off by default, a departure from AWS kept for the
	// built-in AWS playbook: it stops the compromised instance while it is
	// InService and only protected from scale-in, so with this on the group
	// terminates it after the stop (its volumes survive, DeleteOnTermination
	// having been cleared). Drills still pass, but the compromised VM is
	// lost, which the runner's tests pin as kept; the playbook should move
	// the instance to Standby before stopping it, as it does in groups on
	// ELB health checks. Groups with HealthCheckType ELB replace a stopped
	// instance regardless, because the load balancer's check fails.
	ASGReplaceStopped bool
}

// Documented propagation ranges a scenario can opt into where the default
// differs. The bounds are the clouds' words; the shapes (minimum and peak)
// are modelling choices.
var (
	// AzureRBACDocumented: role assignment changes "can take up to 10
	// minutes" ("Troubleshoot Azure RBAC"); 30 s to 10 min, peaking at 2 min.
	AzureRBACDocumented = Latency{Min: 30 * time.Second, Mode: 2 * time.Minute, Max: 10 * time.Minute}
	// GCPIAMPolicyDocumented: allow and deny policy changes "typically
	// propagate in 2 minutes, but could potentially take 7 minutes or
	// longer" ("Access change propagation"); 30 s to 7 min, peaking at 2 min.
	GCPIAMPolicyDocumented = Latency{Min: 30 * time.Second, Mode: 2 * time.Minute, Max: 7 * time.Minute}
)

// DefaultKnobs returns the knobs every world starts with.
func DefaultKnobs() Knobs {
	return Knobs{
		IAMPropagation:    Latency{Min: 2 * time.Second, Mode: 4 * time.Second, Max: 10 * time.Second},
		ConnTrack:         ConnTrackInstant,
		ELBUnhealthyAfter: 60 * time.Second,
	}
}

// Check reports the first knob that is out of range, and returns the knobs
// with ConnTrack's empty value read as its default.
func (k Knobs) Check() (Knobs, error) {
	switch k.ConnTrack {
	case ConnTrackInstant, ConnTrackNewFlowsOnly, ConnTrackNever:
	case "":
		k.ConnTrack = ConnTrackInstant
	default:
		return k, fmt.Errorf("knob ConnTrack: %q is not one of %s", k.ConnTrack, strings.Join(ConnTrackModes(), ", "))
	}
	for _, l := range []struct {
		name string
		l    Latency
	}{{"IAMPropagation", k.IAMPropagation}, {"AzureRBACPropagation", k.AzureRBACPropagation},
		{"GCPDisablePropagation", k.GCPDisablePropagation}} {
		if err := l.l.validate(l.name); err != nil {
			return k, err
		}
	}
	if k.ELBUnhealthyAfter < 0 {
		return k, fmt.Errorf("knob ELBUnhealthyAfter: %s is negative", k.ELBUnhealthyAfter)
	}
	return k, nil
}

// ConnTrackModes lists the values of Knobs.ConnTrack, the default first.
func ConnTrackModes() []string {
	return []string{ConnTrackInstant, ConnTrackNewFlowsOnly, ConnTrackNever}
}

// SetKnobsLocked replaces the world's knobs after checking them (Check).
// Set them before the drill starts: changes already propagating keep the
// delay they were drawn with.
func (w *World) SetKnobsLocked(k Knobs) error {
	k, err := k.Check()
	if err != nil {
		return err
	}
	w.knobs = k
	return nil
}

// KnobsLocked returns the world's knobs.
func (w *World) KnobsLocked() Knobs { return w.knobs }
