package world

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// ASG lifecycle states, as Auto Scaling names them.
const (
	LifecycleInService   = "InService"
	LifecycleStandby     = "Standby"
	LifecycleTerminating = "Terminating"
	LifecycleDetached    = "Detached"
)

// Health check types and health statuses, as Auto Scaling names them.
const (
	HealthCheckEC2  = "EC2"
	HealthCheckELB  = "ELB"
	HealthHealthy   = "Healthy"
	HealthUnhealthy = "Unhealthy"
)

// Termination policies Auto Scaling accepts ("Configure termination
// policies for Amazon EC2 Auto Scaling").
const (
	TerminateDefault                   = "Default"
	TerminateAllocationStrategy        = "AllocationStrategy"
	TerminateOldestLaunchTemplate      = "OldestLaunchTemplate"
	TerminateOldestLaunchConfiguration = "OldestLaunchConfiguration"
	TerminateClosestToNextInstanceHour = "ClosestToNextInstanceHour"
	TerminateNewestInstance            = "NewestInstance"
	TerminateOldestInstance            = "OldestInstance"
)

// TerminationPolicyKnown reports whether the simulator models policy.
func TerminationPolicyKnown(policy string) bool {
	switch policy {
	case TerminateDefault, TerminateAllocationStrategy, TerminateOldestLaunchTemplate,
		TerminateOldestLaunchConfiguration, TerminateClosestToNextInstanceHour,
		TerminateNewestInstance, TerminateOldestInstance:
		return true
	}
	return false
}

// Defaults of a group the world seeds (AddASGLocked). The 300 s grace
// period is the console's default; CreateAutoScalingGroup through the API
// defaults to 0 ("Set the health check grace period": "300 seconds when
// you create an Auto Scaling group" in the console, "0 seconds when you
// create an Auto Scaling group using the AWS CLI or an SDK").
const (
	DefaultHealthCheckGracePeriod = 300 * time.Second
	// DefaultHealthCheckPort is the port the modelled load balancer probes:
	// HTTPS, the port the demo web tier serves. A modelling choice; a
	// scenario sets ASG.HealthCheckPort for another tier.
	DefaultHealthCheckPort = 443
)

// MaxProtectionBatch is how many instances one SetInstanceProtection call
// may name.
const MaxProtectionBatch = 50

// autoscalingRoleARN is the service-linked role Auto Scaling acts as.
func autoscalingRoleARN(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", account)
}

// AddASGLocked creates an autoscaling group and attaches the given existing
// instances as InService members.
func (w *World) AddASGLocked(account, region, name string, minSize, maxSize, desired int, instanceIDs ...string) (*ASG, error) {
	if _, dup := w.ASGs[name]; dup {
		return nil, &ComputeError{Kind: KindDuplicate, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("AutoScalingGroup by this name already exists - A group with the name %s already exists", name)}
	}
	if minSize < 0 || minSize > maxSize || desired < minSize || desired > maxSize {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)}
	}
	u := w.ids.Uint64()
	g := &ASG{Name: name, Account: account, Region: region, Min: minSize, Max: maxSize, Desired: desired,
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%08x-%04x-%04x-%04x-%012x:autoScalingGroupName/%s",
			region, account, u>>32, (u>>16)&0xffff, u&0xffff, w.ids.Uint64()>>48, w.ids.Uint64()&0xffffffffffff, name),
		CreatedTime: w.clock.Now(), Tags: Tags{}, HealthCheckType: HealthCheckEC2,
		HealthCheckGracePeriod: DefaultHealthCheckGracePeriod, HealthCheckPort: DefaultHealthCheckPort,
		TerminationPolicies: []string{TerminateDefault}, Generation: 1}
	w.ASGs[name] = g
	for _, id := range instanceIDs {
		if err := w.AttachToASGLocked(name, id); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// AttachToASGLocked makes an instance an InService member of a group.
func (w *World) AttachToASGLocked(name, instanceID string) error {
	g, ok := w.ASGs[name]
	if !ok {
		return NotFound("autoscaling-group", name)
	}
	inst, ok := w.Instances[instanceID]
	if !ok {
		return NotFound("instance", instanceID)
	}
	if other, _ := w.ASGMemberLocked(instanceID); other != nil {
		return &ComputeError{Kind: KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance %s is already part of Auto Scaling group %s.", instanceID, other.Name)}
	}
	inst.ASG = name
	g.Members = append(g.Members, &ASGInstance{InstanceID: instanceID, LifecycleState: LifecycleInService,
		HealthStatus: HealthHealthy, AZ: inst.AZ, Generation: g.Generation})
	w.checkASGHealthLocked()
	return nil
}

// ASGMemberLocked finds the group an instance belongs to and its membership.
func (w *World) ASGMemberLocked(instanceID string) (*ASG, *ASGInstance) {
	for _, name := range SortedKeys(w.ASGs) {
		g := w.ASGs[name]
		for _, m := range g.Members {
			if m.InstanceID == instanceID {
				return g, m
			}
		}
	}
	return nil, nil
}

// membersLocked resolves ids to memberships of the group, failing on the
// first instance that is not a member.
func (w *World) membersLocked(name string, ids []string) (*ASG, []*ASGInstance, error) {
	g, ok := w.ASGs[name]
	if !ok {
		return nil, nil, NotFound("autoscaling-group", name)
	}
	var out []*ASGInstance
	for _, id := range ids {
		i := slices.IndexFunc(g.Members, func(m *ASGInstance) bool { return m.InstanceID == id })
		if i < 0 {
			return nil, nil, &ComputeError{Kind: KindInvalid, Resource: "instance", ID: id,
				Msg: fmt.Sprintf("The instance %s is not part of Auto Scaling group %s.", id, name)}
		}
		out = append(out, g.Members[i])
	}
	return g, out, nil
}

// SetProtectionLocked sets scale-in protection on members of a group.
func (w *World) SetProtectionLocked(name string, ids []string, protected bool) error {
	if len(ids) > MaxProtectionBatch {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("The number of instance ids that may be passed in is limited to %d.", MaxProtectionBatch)}
	}
	_, ms, err := w.membersLocked(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Protected = protected
	}
	return nil
}

// EnterStandbyLocked moves InService members to Standby: they stay in the
// group but scale-in never picks them and health checks leave them alone.
// With decrement, desired capacity drops by one per instance; without it
// the group launches replacements ("If you choose not to decrement the
// desired capacity ..., Amazon EC2 Auto Scaling launches an instance to
// replace the one on standby", "Temporarily remove instances from your
// Auto Scaling group").
func (w *World) EnterStandbyLocked(name string, ids []string, decrement bool) error {
	g, ms, err := w.membersLocked(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.LifecycleState != LifecycleInService {
			return &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: m.InstanceID,
				Msg: fmt.Sprintf("The instance %s is not in InService.", m.InstanceID)}
		}
	}
	if decrement && g.Desired-len(ms) < g.Min {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot decrement desired capacity below min size %d; the group's desired capacity is %d.", g.Min, g.Desired)}
	}
	for _, m := range ms {
		m.LifecycleState = LifecycleStandby
		m.failingSince = time.Time{}
	}
	if decrement {
		g.Desired -= len(ms)
	} else {
		w.scheduleFitLocked(g, "an instance was moved to Standby without decrementing the desired capacity")
	}
	return nil
}

// scheduleFitLocked brings the group back to its desired capacity as a
// scaling activity of its own, right after the call that changed it.
func (w *World) scheduleFitLocked(g *ASG, cause string) {
	name := g.Name
	w.ScheduleLocked(w.clock.Now(), "capacity:"+name, func(now time.Time) {
		if g := w.ASGs[name]; g != nil {
			w.fitCapacityLocked(g, cause, now)
		}
	})
}

// DetachFromASGLocked removes members from a group: each becomes a
// standalone instance that the group never terminates. Without decrement
// the group launches replacements, as for Standby.
func (w *World) DetachFromASGLocked(name string, ids []string, decrement bool) error {
	g, ms, err := w.membersLocked(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.LifecycleState != LifecycleInService && m.LifecycleState != LifecycleStandby {
			return &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: m.InstanceID,
				Msg: fmt.Sprintf("The instance %s is not in InService or Standby.", m.InstanceID)}
		}
	}
	if decrement && g.Desired-len(ms) < g.Min {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot decrement desired capacity below min size %d; the group's desired capacity is %d.", g.Min, g.Desired)}
	}
	for _, m := range ms {
		m.LifecycleState = LifecycleDetached
		if inst := w.Instances[m.InstanceID]; inst != nil {
			inst.ASG = ""
		}
	}
	g.Members = slices.DeleteFunc(g.Members, func(m *ASGInstance) bool { return m.LifecycleState == LifecycleDetached })
	if decrement {
		g.Desired -= len(ms)
	} else {
		w.scheduleFitLocked(g, "an instance was detached without decrementing the desired capacity")
	}
	return nil
}

// ScheduleScaleInLocked registers a scale-in: when the world reaches at, the
// group's desired capacity becomes desired and unprotected InService
// members are terminated, oldest first, until the InService count equals
// desired. Protected, Standby and detached instances are never chosen.
// Terminated instances lose their DeleteOnTermination volumes, so evidence
// not captured by then is gone. Each termination is audited as Auto Scaling.
func (w *World) ScheduleScaleInLocked(name string, at time.Time, desired int) error {
	g, ok := w.ASGs[name]
	if !ok {
		return NotFound("autoscaling-group", name)
	}
	if desired < 0 {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name, Msg: "desired capacity must not be negative"}
	}
	g.ScaleIn = append(g.ScaleIn, ScaleIn{At: at, Desired: desired})
	w.ScheduleLocked(at, "scale-in:"+name, func(now time.Time) { w.scaleInLocked(name, desired, now) })
	return nil
}

// ScaleInCandidatesLocked lists the members scale-in may terminate, in the
// order it terminates them now: unprotected InService instances, ordered by
// the group's termination policies (see scaleInOrderLocked). Protected,
// Standby and detached instances are never candidates.
func (w *World) ScaleInCandidatesLocked(g *ASG) []*ASGInstance {
	return w.scaleInOrderLocked(g, w.clock.Now())
}

// scaleInOrderLocked orders the unprotected InService members the way
// Auto Scaling picks them at now, one at a time, so that each pick sees the
// Availability Zones as the previous ones left them ("Configure termination
// policies for Amazon EC2 Auto Scaling", the Default policy):
//
//  1. Availability Zone balance first, whatever the policies: only
//     instances in the zone(s) with the most InService instances that hold
//     at least one unprotected instance are considered. Protected
//     instances count towards a zone's size; Standby ones do not (a
//     modelling choice: Standby instances are outside the group's
//     capacity).
//  2. The group's TerminationPolicies in order, each keeping the
//     instances it prefers: OldestInstance / NewestInstance by launch time,
//     OldestLaunchTemplate / OldestLaunchConfiguration by the generation of
//     the group's launch template or configuration the instance was
//     launched from, ClosestToNextInstanceHour by the time left until the
//     instance's next whole hour since launch, and Default as "oldest
//     launch template or configuration, then closest to the next billing
//     hour". AllocationStrategy keeps everyone (no mixed-instances groups).
//  3. Default's criteria as the last step when the list does not end with
//     it (a modelling choice), then, where AWS terminates "at random", the
//     lowest instance id: ids are drawn from the seed, so the pick is
//     arbitrary yet the same for the same seed, and reading the order draws
//     nothing.
func (w *World) scaleInOrderLocked(g *ASG, now time.Time) []*ASGInstance {
	var pool []*ASGInstance
	size := map[string]int{}
	for _, m := range g.Members {
		if m.LifecycleState != LifecycleInService {
			continue
		}
		size[m.AZ]++
		if !m.Protected {
			pool = append(pool, m)
		}
	}
	var out []*ASGInstance
	for len(pool) > 0 {
		next := w.pickTerminationLocked(g, pool, size, now)
		out = append(out, next)
		size[next.AZ]--
		pool = slices.DeleteFunc(pool, func(m *ASGInstance) bool { return m == next })
	}
	return out
}

// pickTerminationLocked chooses the next instance to terminate from pool.
func (w *World) pickTerminationLocked(g *ASG, pool []*ASGInstance, size map[string]int, now time.Time) *ASGInstance {
	most := -1
	for _, m := range pool {
		most = max(most, size[m.AZ])
	}
	cands := slices.DeleteFunc(slices.Clone(pool), func(m *ASGInstance) bool { return size[m.AZ] != most })
	policies := g.TerminationPolicies
	if len(policies) == 0 || policies[len(policies)-1] != TerminateDefault {
		policies = append(slices.Clone(policies), TerminateDefault)
	}
	launch := func(m *ASGInstance) time.Time {
		if i := w.Instances[m.InstanceID]; i != nil {
			return i.LaunchTime
		}
		return time.Time{}
	}
	// keep narrows cands to those with the lowest key.
	keep := func(key func(*ASGInstance) int64) {
		best := int64(math.MaxInt64)
		for _, m := range cands {
			best = min(best, key(m))
		}
		cands = slices.DeleteFunc(cands, func(m *ASGInstance) bool { return key(m) != best })
	}
	oldestTemplate := func(m *ASGInstance) int64 { return int64(m.Generation) }
	// Time left to the next whole hour since launch: the least is closest.
	toNextHour := func(m *ASGInstance) int64 {
		return int64(time.Hour - now.Sub(launch(m))%time.Hour)
	}
	for _, p := range policies {
		switch p {
		case TerminateOldestInstance:
			keep(func(m *ASGInstance) int64 { return launch(m).UnixNano() })
		case TerminateNewestInstance:
			keep(func(m *ASGInstance) int64 { return -launch(m).UnixNano() })
		case TerminateOldestLaunchTemplate, TerminateOldestLaunchConfiguration:
			keep(oldestTemplate)
		case TerminateClosestToNextInstanceHour:
			keep(toNextHour)
		case TerminateDefault:
			keep(oldestTemplate)
			keep(toNextHour)
		}
	}
	return slices.MinFunc(cands, func(a, b *ASGInstance) int { return strings.Compare(a.InstanceID, b.InstanceID) })
}

func (w *World) scaleInLocked(name string, desired int, now time.Time) {
	g := w.ASGs[name]
	if g == nil {
		return
	}
	g.Desired = desired
	if g.Min > desired {
		g.Min = desired
	}
	w.terminateToDesiredLocked(g, "scheduled scale-in", now)
}

// fitCapacityLocked terminates members in termination-policy order until
// the InService count is the group's desired capacity, or launches new
// ones when it is below (only groups that know what to launch, ASG.Launch).
func (w *World) fitCapacityLocked(g *ASG, cause string, now time.Time) {
	for inService := w.terminateToDesiredLocked(g, cause, now); inService < g.Desired; inService++ {
		if _, err := w.launchIntoASGLocked(g); err != nil {
			return
		}
	}
}

// terminateToDesiredLocked terminates members in termination-policy order
// until the InService count is at most the desired capacity, and returns
// the count. A scheduled scale-in does only this.
func (w *World) terminateToDesiredLocked(g *ASG, cause string, now time.Time) int {
	inService := 0
	for _, m := range g.Members {
		if m.LifecycleState == LifecycleInService {
			inService++
		}
	}
	for _, m := range w.scaleInOrderLocked(g, now) {
		if inService <= g.Desired {
			break
		}
		inst := w.Instances[m.InstanceID]
		if inst == nil {
			continue
		}
		w.shutdownLocked(inst, "Client.UserInitiatedShutdown: User initiated shutdown", now)
		inService--
		w.auditASGTerminationLocked(g, inst.ID, cause, now)
	}
	return inService
}

// auditASGTerminationLocked records a termination by Auto Scaling (scale-in,
// health-check replacement) the way CloudTrail shows it: TerminateInstances
// by Auto Scaling's service-linked role, invoked by
// autoscaling.amazonaws.com, delivered after the usual delay.
func (w *World) auditASGTerminationLocked(g *ASG, instanceID, cause string, now time.Time) {
	rid := w.UUIDLocked()
	w.RecordAuditLocked(&AuditEvent{
		ID: rid, RequestID: rid, Time: now, DeliverAt: now.Add(w.JitterLocked(PurposeDelivery, 5*time.Minute, 0.4)),
		Cloud: "aws", Account: g.Account, Region: g.Region,
		Service: "ec2.amazonaws.com", Operation: "TerminateInstances",
		PrincipalARN: autoscalingRoleARN(g.Account), PrincipalID: "autoscaling.amazonaws.com",
		UserName: "AWSServiceRoleForAutoScaling", IdentityType: "AWSService",
		SourceIP: "autoscaling.amazonaws.com", UserAgent: "autoscaling.amazonaws.com",
		Resources: []AuditResource{{Type: "AWS::EC2::Instance", Name: instanceID},
			{Type: "AWS::AutoScaling::AutoScalingGroup", Name: g.Name}},
		Params: map[string]string{"instanceId": instanceID, "invokedBy": "autoscaling.amazonaws.com",
			"autoScalingGroupName": g.Name, "cause": cause},
	})
}

// ASGSettings are the group settings CreateAutoScalingGroup and
// UpdateAutoScalingGroup change; nil fields are left as they are.
type ASGSettings struct {
	Min, Max, Desired      *int
	HealthCheckType        *string
	HealthCheckGracePeriod *time.Duration
	HealthCheckPort        *int
	TerminationPolicies    []string
	NewInstancesProtected  *bool
	// LaunchTemplate names a new launch template (or configuration): the
	// group's generation moves on, so instances launched before it become
	// the "oldest launch template" for the termination policies.
	LaunchTemplate *string
	Subnets        []string
}

// UpdateASGLocked applies settings to a group. A new desired capacity
// takes effect at once, scale-in in termination-policy order (a modelling
// choice: AWS starts the scaling activity within moments). Health is
// re-evaluated under the new health-check settings.
func (w *World) UpdateASGLocked(name string, s ASGSettings) error {
	g, ok := w.ASGs[name]
	if !ok {
		return NotFound("autoscaling-group", name)
	}
	invalid := func(format string, args ...any) error {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name, Msg: fmt.Sprintf(format, args...)}
	}
	minSize, maxSize, desired := g.Min, g.Max, g.Desired
	if s.Min != nil {
		minSize = *s.Min
	}
	if s.Max != nil {
		maxSize = *s.Max
	}
	if s.Desired != nil {
		desired = *s.Desired
	} else if desired < minSize {
		desired = minSize
	} else if desired > maxSize {
		desired = maxSize
	}
	if minSize < 0 || minSize > maxSize || desired < minSize || desired > maxSize {
		return invalid("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)
	}
	if s.HealthCheckType != nil && *s.HealthCheckType != HealthCheckEC2 && *s.HealthCheckType != HealthCheckELB {
		return invalid("1 validation error detected: Value '%s' at 'healthCheckType' failed to satisfy constraint: Member must be EC2 or ELB in the simulator", *s.HealthCheckType)
	}
	if s.HealthCheckGracePeriod != nil && *s.HealthCheckGracePeriod < 0 {
		return invalid("HealthCheckGracePeriod must not be negative")
	}
	if s.HealthCheckPort != nil && (*s.HealthCheckPort < 1 || *s.HealthCheckPort > 65535) {
		return invalid("health check port %d is not a TCP port", *s.HealthCheckPort)
	}
	for _, p := range s.TerminationPolicies {
		if !TerminationPolicyKnown(p) {
			return invalid("Termination policy %s is not supported.", p)
		}
	}
	for _, sn := range s.Subnets {
		if _, ok := w.Subnets[sn]; !ok {
			return NotFound("subnet", sn)
		}
	}
	g.Min, g.Max = minSize, maxSize
	if s.HealthCheckType != nil {
		g.HealthCheckType = *s.HealthCheckType
	}
	if s.HealthCheckGracePeriod != nil {
		g.HealthCheckGracePeriod = *s.HealthCheckGracePeriod
	}
	if s.HealthCheckPort != nil {
		g.HealthCheckPort = *s.HealthCheckPort
	}
	if s.TerminationPolicies != nil {
		g.TerminationPolicies = slices.Clone(s.TerminationPolicies)
	}
	if s.NewInstancesProtected != nil {
		g.NewInstancesProtected = *s.NewInstancesProtected
	}
	if s.LaunchTemplate != nil && *s.LaunchTemplate != g.LaunchTemplate {
		g.LaunchTemplate = *s.LaunchTemplate
		g.Generation++
	}
	if s.Subnets != nil {
		g.Subnets = slices.Clone(s.Subnets)
	}
	if desired != g.Desired {
		g.Desired = desired
		w.scheduleFitLocked(g, "a user request to update the group's desired capacity")
	}
	w.checkASGHealthLocked()
	return nil
}

// AttachInstancesLocked attaches running instances to a group, raising its
// desired capacity by their number, as AttachInstances does ("the desired
// capacity of the group increases by the number of instances being
// attached"; the call fails if that exceeds the maximum size).
func (w *World) AttachInstancesLocked(name string, ids []string) error {
	g, ok := w.ASGs[name]
	if !ok {
		return NotFound("autoscaling-group", name)
	}
	if g.Desired+len(ids) > g.Max {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot increase desired capacity beyond max size %d; the group's desired capacity is %d.", g.Max, g.Desired)}
	}
	for _, id := range ids {
		inst, ok := w.Instances[id]
		if !ok {
			return NotFound("instance", id)
		}
		if inst.State != StateRunning && inst.State != StatePending {
			return &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: id,
				Msg: fmt.Sprintf("Instance %s is not in correct state to be attached. Valid states are pending and running.", id)}
		}
	}
	for _, id := range ids {
		if g.Launch == nil {
			g.Launch = w.LaunchSpecOfLocked(w.Instances[id])
		}
		if err := w.AttachToASGLocked(name, id); err != nil {
			return err
		}
		g.Desired++
	}
	return nil
}

// LaunchSpecOfLocked describes how to launch another instance like inst
// (its account, subnet, image, type, key, groups, profile, agent and
// platform), the way Auto Scaling builds a launch configuration from an
// instance (CreateAutoScalingGroup with InstanceId).
func (w *World) LaunchSpecOfLocked(inst *Instance) *LaunchSpec {
	spec := &LaunchSpec{Account: inst.Account, Region: inst.Region, Subnet: inst.Subnet, ImageID: inst.ImageID,
		Type: inst.Type, KeyName: inst.KeyName, SSMAgent: inst.SSMAgent, Platform: inst.Platform,
		MemoryGiB: inst.MemoryGiB, Tags: maps.Clone(inst.Tags)}
	if len(inst.ENIs) > 0 {
		if eni := w.ENIs[inst.ENIs[0]]; eni != nil {
			spec.Groups = slices.Clone(eni.Groups)
			spec.PublicIP = eni.PublicIP != ""
		}
	}
	if a := w.ActiveAssociationLocked(inst.ID); a != nil {
		spec.Profile = a.ProfileARN
	}
	return spec
}
