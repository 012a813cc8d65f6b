package awssim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// CloudAWS is the cloud's name in scenarios and events.
const CloudAWS = "aws"

// The AWS driver: how a drill serves, seeds and observes the simulated AWS.
func init() {
	simcloud.Register(&simcloud.Driver{
		Cloud:    CloudAWS,
		Handler:  func(w *world.World, f *fault.Set) http.Handler { return New(w, WithFaults(f)) },
		AuditLog: simcloud.AuditLog{Name: "cloudtrail", Title: "CloudTrail"},
		// CloudTrail records predate the audit log's cloud field.
		OwnsAudit: func(a *world.AuditEvent) bool { return a.Cloud == "" || a.Cloud == CloudAWS },
		Termination: func(a *world.AuditEvent) (bool, bool) {
			return a.Operation == "TerminateInstances", a.PrincipalID == "autoscaling.amazonaws.com"
		},
		Host: awsHost{},
		Kinds: []simcloud.Kind{
			asgKind(),
			{Name: simcloud.KindRole, Doc: "an IAM role; policies are inline Allow policies added to it",
				Fields: []string{"policies"}, Check: checkPolicies, Apply: applyRolePolicies},
			simcloud.BucketKind(),
		},
		PrincipalCredentialLocked: userKey,
		Operations:                operations,
	})
}

// operations lists what the front end serves, from each service's own
// dispatch table, sorted by service and operation.
func operations() []simcloud.Operation {
	svcs := allServices()
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Name < svcs[j].Name })
	var out []simcloud.Operation
	for _, svc := range svcs {
		for _, name := range world.SortedKeys(svc.Ops) {
			out = append(out, simcloud.Operation{Service: svc.Name, Name: name})
		}
	}
	return out
}

// asgKind is the vm_group kind of AWS: an EC2 Auto Scaling group, whose
// health_check_type (EC2 or ELB) a scenario may set. With ELB the group
// also replaces a member its load balancer's health check stops reaching,
// scale-in protection or not (asg_health.go in awsworld).
func asgKind() simcloud.Kind {
	k := simcloud.VMGroupKind("an EC2 Auto Scaling group (health_check_type: EC2, the default, or ELB)",
		func(w *world.World, _ simcloud.Site, group string, at time.Time, desired int) error {
			return awsworld.Of(w).ScheduleScaleIn(group, at, desired)
		})
	k.Fields = append(k.Fields, "health_check_type")
	check, apply := k.Check, k.Apply
	k.Check = func(r *simcloud.Resource) (string, error) {
		if field, err := check(r); err != nil {
			return field, err
		}
		switch r.HealthCheckType {
		case "", awsworld.HealthCheckEC2, awsworld.HealthCheckELB:
			return "", nil
		}
		return "health_check_type", fmt.Errorf("%q is not %s or %s", r.HealthCheckType, awsworld.HealthCheckEC2, awsworld.HealthCheckELB)
	}
	k.Apply = func(w *world.World, env simcloud.Env, r *simcloud.Resource, start time.Time) error {
		if r.HealthCheckType != "" {
			t := r.HealthCheckType
			if err := awsworld.Of(w).UpdateASG(r.Name, awsworld.ASGSettings{HealthCheckType: &t}); err != nil {
				return fmt.Errorf("setting the health check type of %s: %w", r.Name, err)
			}
		}
		return apply(w, env, r, start)
	}
	return k
}

func checkPolicies(r *simcloud.Resource) (string, error) {
	for i, p := range r.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		if p.Name == "" {
			return path + ".name", fmt.Errorf("is required")
		}
		if len(p.Actions) == 0 {
			return path + ".actions", fmt.Errorf("list at least one IAM action")
		}
		for j, a := range p.Actions {
			if svc, op, ok := strings.Cut(a, ":"); !ok || svc == "" || op == "" {
				return fmt.Sprintf("%s.actions[%d]", path, j), fmt.Errorf("%q is not an IAM action such as ec2:RunInstances", a)
			}
		}
	}
	return "", nil
}

// applyRolePolicies adds the resource's inline Allow policies to the role:
// the over-privilege that turns a stolen role session into real damage.
func applyRolePolicies(w *world.World, _ simcloud.Env, r *simcloud.Resource, _ time.Time) error {
	role := awsworld.Of(w).Roles.Lookup(r.Name)
	if role == nil {
		return fmt.Errorf("IAM role %s does not exist in the preset", r.Name)
	}
	for _, p := range r.Policies {
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Effect": "Allow", "Action": p.Actions, "Resource": p.Resource}}})
		if err != nil {
			return fmt.Errorf("role policy %s: %w", p.Name, err)
		}
		role.Policies[p.Name] = string(doc)
	}
	return nil
}

// userKey hands out an IAM user's first active access key.
func userKey(w *world.World, _ simcloud.Site, user string) (*simcloud.Credential, bool, error) {
	u := awsworld.Of(w).Users.Lookup(user)
	if u == nil {
		return nil, false, fmt.Errorf("IAM user %q does not exist", user)
	}
	for _, k := range awsworld.Of(w).UserKeys(user) {
		if k.Status == "Active" {
			return &simcloud.Credential{Cloud: CloudAWS, Label: "user-key", Principal: u.ARN, KeyID: k.ID, Secret: k.Secret}, true, nil
		}
	}
	return nil, false, nil
}

// awsHost is the view from an EC2 instance.
type awsHost struct{}

// GroupMembersLocked lists an Auto Scaling group's in-service instances in
// scale-in order, which for the default termination policy is oldest first.
func (awsHost) GroupMembersLocked(w *world.World, _ simcloud.Site, group string) ([]string, error) {
	g := awsworld.Of(w).ASGs.Lookup(group)
	if g == nil {
		return nil, fmt.Errorf("scaling group %q does not exist", group)
	}
	var out []string
	for _, c := range awsworld.Of(w).ScaleInCandidates(g) {
		out = append(out, c.InstanceID)
	}
	return out, nil
}

func (awsHost) OpenFlowLocked(w *world.World, vm string, spec world.FlowSpec) (*world.Flow, error) {
	return awsworld.Of(w).OpenFlow(vm, spec)
}

func (awsHost) FactsLocked(w *world.World, vm, _ string, _ int) map[string]string {
	inst := w.Instances.Lookup(vm)
	if inst == nil {
		return nil
	}
	facts := map[string]string{"vpc": inst.VPC}
	if len(inst.ENIs) > 0 {
		if eni := w.ENIs.Lookup(inst.ENIs[0]); eni != nil {
			facts["security_groups"] = strings.Join(eni.Groups, ",")
		}
	}
	return facts
}

// CredentialLocked reads the instance role's session from IMDS.
func (awsHost) CredentialLocked(w *world.World, vm string) (*simcloud.Credential, map[string]string, error) {
	s, err := awsworld.Of(w).InstanceCredentials(vm)
	if err != nil {
		return nil, nil, err
	}
	arn := ""
	if r := awsworld.Of(w).Roles.Lookup(s.Role); r != nil {
		arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", r.Account, r.Name, s.SessionName)
	}
	return &simcloud.Credential{Cloud: CloudAWS, Principal: arn, KeyID: s.AccessKeyID, Secret: s.Secret,
			SessionToken: s.Token, Expires: s.Expires},
		map[string]string{"access_key_id": s.AccessKeyID, "role": s.Role}, nil
}

// AdmitsLocked says whether a security group (rule is its id) still lets
// fromIP reach port on a running instance that uses it.
func (awsHost) AdmitsLocked(w *world.World, rule, fromIP string, port int) (bool, string, string) {
	sg := awsworld.Of(w).SecurityGroups.Lookup(rule)
	if sg == nil {
		return false, "", "InvalidGroup.NotFound"
	}
	ip, err := netip.ParseAddr(fromIP)
	if err != nil {
		return false, "", "InvalidParameterValue"
	}
	admits := false
	for _, r := range sg.Ingress {
		if (r.Protocol == "-1" || r.Protocol == "tcp") && (r.Protocol == "-1" || (port >= r.FromPort && port <= r.ToPort)) {
			for _, c := range r.CIDRs {
				if p, err := netip.ParsePrefix(c); err == nil && p.Contains(ip) {
					admits = true
				}
			}
		}
	}
	if !admits {
		return false, "", "Blocked"
	}
	for _, id := range w.ENIs.Keys() {
		eni := w.ENIs.Lookup(id)
		inst := w.Instances.Lookup(eni.Instance)
		if inst != nil && inst.State == world.StateRunning && eni.PublicIP != "" && contains(eni.Groups, rule) {
			return true, inst.ID, ""
		}
	}
	return false, "", "Blocked"
}

// AcceptsLocked: the instance's primary interface must have a public
// address, and its security groups and its subnet's network ACL must let
// the connection in (and, the ACL being stateless, its answers out).
func (awsHost) AcceptsLocked(w *world.World, vm, fromIP string, port int) (bool, string) {
	if err := awsworld.Of(w).AdmitFlow(vm, simcloud.ClientFlow(fromIP, port)); err != nil {
		return false, simcloud.RefusalCode(err)
	}
	if eni := w.ENIs.Lookup(w.Instances.Lookup(vm).ENIs[0]); eni.PublicIP == "" {
		return false, "NoPublicAddress"
	}
	return true, ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ArtifactLocked: IAM access keys (any status), security-group rules, EC2
// instances until terminated (with their on-demand compute cost from launch
// until they were stopped or shut down).
func (awsHost) ArtifactLocked(w *world.World, kind, id string) (bool, float64) {
	switch kind {
	case "access_key":
		return awsworld.Of(w).AccessKeys.Lookup(id) != nil, 0
	case "network_rule":
		group, rule, _ := strings.Cut(id, "/")
		if sg := awsworld.Of(w).SecurityGroups.Lookup(group); sg != nil {
			for _, r := range append(append([]awsworld.Rule(nil), sg.Ingress...), sg.Egress...) {
				if r.RuleID == rule {
					return true, 0
				}
			}
		}
		return false, 0
	case "vm":
		inst := w.Instances.Lookup(id)
		if inst == nil {
			return false, 0
		}
		cost := inst.ComputeHours(w.Now()) * detect.OnDemandUSD(inst.Type)
		return inst.State != world.StateTerminated && inst.State != world.StateShuttingDown, math.Round(cost*100) / 100
	}
	return false, 0
}
