package awsworld

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
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

// Defaults of a group the world seeds (AddASG). The 300 s grace
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

// AddASG creates an autoscaling group and attaches the given existing
// instances as InService members.
func (s *State) AddASG(account, region, name string, minSize, maxSize, desired int, instanceIDs ...string) (*ASG, error) {
	if _, dup := s.ASGs.Get(name); dup {
		return nil, &world.ComputeError{Kind: world.KindDuplicate, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("AutoScalingGroup by this name already exists - A group with the name %s already exists", name)}
	}
	if minSize < 0 || minSize > maxSize || desired < minSize || desired > maxSize {
		return nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)}
	}
	u := s.w.IDRandLocked().Uint64()
	g := &ASG{Name: name, Account: account, Region: region, Min: minSize, Max: maxSize, Desired: desired,
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%08x-%04x-%04x-%04x-%012x:autoScalingGroupName/%s",
			region, account, u>>32, (u>>16)&0xffff, u&0xffff, s.w.IDRandLocked().Uint64()>>48, s.w.IDRandLocked().Uint64()&0xffffffffffff, name),
		CreatedTime: s.w.Now(), Tags: world.Tags{}, HealthCheckType: HealthCheckEC2,
		HealthCheckGracePeriod: DefaultHealthCheckGracePeriod, HealthCheckPort: DefaultHealthCheckPort,
		TerminationPolicies: []string{TerminateDefault}, Generation: 1}
	s.ASGs.Put(name, g)
	for _, id := range instanceIDs {
		if err := s.AttachToASG(name, id); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// AttachToASG makes an instance an InService member of a group.
func (s *State) AttachToASG(name, instanceID string) error {
	g, ok := s.ASGs.Get(name)
	if !ok {
		return world.NotFound("autoscaling-group", name)
	}
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return world.NotFound("instance", instanceID)
	}
	if other, _ := s.ASGMember(instanceID); other != nil {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance %s is already part of Auto Scaling group %s.", instanceID, other.Name)}
	}
	inst.ASG = name
	g.Members = append(g.Members, &ASGInstance{InstanceID: instanceID, LifecycleState: LifecycleInService,
		HealthStatus: HealthHealthy, AZ: inst.AZ, Generation: g.Generation})
	s.checkASGHealth()
	return nil
}

// ASGMember finds the group an instance belongs to and its membership.
func (s *State) ASGMember(instanceID string) (*ASG, *ASGInstance) {
	for _, g := range s.ASGs.All() {
		for _, m := range g.Members {
			if m.InstanceID == instanceID {
				return g, m
			}
		}
	}
	return nil, nil
}

// members resolves ids to memberships of the group, failing on the
// first instance that is not a member.
func (s *State) members(name string, ids []string) (*ASG, []*ASGInstance, error) {
	g, ok := s.ASGs.Get(name)
	if !ok {
		return nil, nil, world.NotFound("autoscaling-group", name)
	}
	var out []*ASGInstance
	for _, id := range ids {
		i := slices.IndexFunc(g.Members, func(m *ASGInstance) bool { return m.InstanceID == id })
		if i < 0 {
			return nil, nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "instance", ID: id,
				Msg: fmt.Sprintf("The instance %s is not part of Auto Scaling group %s.", id, name)}
		}
		out = append(out, g.Members[i])
	}
	return g, out, nil
}

// SetProtection sets scale-in protection on members of a group.
func (s *State) SetProtection(name string, ids []string, protected bool) error {
	if len(ids) > MaxProtectionBatch {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("The number of instance ids that may be passed in is limited to %d.", MaxProtectionBatch)}
	}
	_, ms, err := s.members(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Protected = protected
	}
	return nil
}

// EnterStandby moves InService members to Standby: they stay in the
// group but scale-in never picks them and health checks leave them alone.
// With decrement, desired capacity drops by one per instance; without it
// the group launches replacements ("If you choose not to decrement the
// desired capacity ..., Amazon EC2 Auto Scaling launches an instance to
// replace the one on standby", "Temporarily remove instances from your
// Auto Scaling group").
func (s *State) EnterStandby(name string, ids []string, decrement bool) error {
	g, ms, err := s.members(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.LifecycleState != LifecycleInService {
			return &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: m.InstanceID,
				Msg: fmt.Sprintf("The instance %s is not in InService.", m.InstanceID)}
		}
	}
	if decrement && g.Desired-len(ms) < g.Min {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot decrement desired capacity below min size %d; the group's desired capacity is %d.", g.Min, g.Desired)}
	}
	for _, m := range ms {
		m.LifecycleState = LifecycleStandby
		m.failingSince = time.Time{}
	}
	if decrement {
		g.Desired -= len(ms)
	} else {
		s.scheduleFit(g, "an instance was moved to Standby without decrementing the desired capacity")
	}
	return nil
}

// scheduleFit brings the group back to its desired capacity as a
// scaling activity of its own, right after the call that changed it.
func (s *State) scheduleFit(g *ASG, cause string) {
	name := g.Name
	s.w.ScheduleLocked(s.w.Now(), "capacity:"+name, func(now time.Time) {
		if g := s.ASGs.Lookup(name); g != nil {
			s.fitCapacity(g, cause, now)
		}
	})
}

// DetachFromASG removes members from a group: each becomes a
// standalone instance that the group never terminates. Without decrement
// the group launches replacements, as for Standby.
func (s *State) DetachFromASG(name string, ids []string, decrement bool) error {
	g, ms, err := s.members(name, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.LifecycleState != LifecycleInService && m.LifecycleState != LifecycleStandby {
			return &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: m.InstanceID,
				Msg: fmt.Sprintf("The instance %s is not in InService or Standby.", m.InstanceID)}
		}
	}
	if decrement && g.Desired-len(ms) < g.Min {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot decrement desired capacity below min size %d; the group's desired capacity is %d.", g.Min, g.Desired)}
	}
	for _, m := range ms {
		m.LifecycleState = LifecycleDetached
		if inst := s.w.Instances.Lookup(m.InstanceID); inst != nil {
			inst.ASG = ""
		}
	}
	g.Members = slices.DeleteFunc(g.Members, func(m *ASGInstance) bool { return m.LifecycleState == LifecycleDetached })
	if decrement {
		g.Desired -= len(ms)
	} else {
		s.scheduleFit(g, "an instance was detached without decrementing the desired capacity")
	}
	return nil
}

// ScheduleScaleIn registers a scale-in: when the world reaches at, the
// group's desired capacity becomes desired and unprotected InService
// members are terminated, oldest first, until the InService count equals
// desired. Protected, Standby and detached instances are never chosen.
// Terminated instances lose their DeleteOnTermination volumes, so evidence
// not captured by then is gone. Each termination is audited as Auto Scaling.
func (s *State) ScheduleScaleIn(name string, at time.Time, desired int) error {
	g, ok := s.ASGs.Get(name)
	if !ok {
		return world.NotFound("autoscaling-group", name)
	}
	if desired < 0 {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name, Msg: "desired capacity must not be negative"}
	}
	g.ScaleIn = append(g.ScaleIn, world.ScaleIn{At: at, Desired: desired})
	s.w.ScheduleLocked(at, "scale-in:"+name, func(now time.Time) { s.scaleIn(name, desired, now) })
	return nil
}

// ScaleInCandidates lists the members scale-in may terminate, in the
// order it terminates them now: unprotected InService instances, ordered by
// the group's termination policies (see scaleInOrder). Protected,
// Standby and detached instances are never candidates.
func (s *State) ScaleInCandidates(g *ASG) []*ASGInstance {
	return s.scaleInOrder(g, s.w.Now())
}

// scaleInOrder orders the unprotected InService members the way
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
func (s *State) scaleInOrder(g *ASG, now time.Time) []*ASGInstance {
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
		next := s.pickTermination(g, pool, size, now)
		out = append(out, next)
		size[next.AZ]--
		pool = slices.DeleteFunc(pool, func(m *ASGInstance) bool { return m == next })
	}
	return out
}

// pickTermination chooses the next instance to terminate from pool.
func (s *State) pickTermination(g *ASG, pool []*ASGInstance, size map[string]int, now time.Time) *ASGInstance {
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
		if i := s.w.Instances.Lookup(m.InstanceID); i != nil {
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

func (s *State) scaleIn(name string, desired int, now time.Time) {
	g := s.ASGs.Lookup(name)
	if g == nil {
		return
	}
	g.Desired = desired
	if g.Min > desired {
		g.Min = desired
	}
	s.terminateToDesired(g, "scheduled scale-in", now)
}

// fitCapacity terminates members in termination-policy order until
// the InService count is the group's desired capacity, or launches new
// ones when it is below (only groups that know what to launch, ASG.Launch).
func (s *State) fitCapacity(g *ASG, cause string, now time.Time) {
	for inService := s.terminateToDesired(g, cause, now); inService < g.Desired; inService++ {
		if _, err := s.launchIntoASG(g); err != nil {
			return
		}
	}
}

// terminateToDesired terminates members in termination-policy order
// until the InService count is at most the desired capacity, and returns
// the count. A scheduled scale-in does only this.
func (s *State) terminateToDesired(g *ASG, cause string, now time.Time) int {
	inService := 0
	for _, m := range g.Members {
		if m.LifecycleState == LifecycleInService {
			inService++
		}
	}
	for _, m := range s.scaleInOrder(g, now) {
		if inService <= g.Desired {
			break
		}
		inst := s.w.Instances.Lookup(m.InstanceID)
		if inst == nil {
			continue
		}
		s.shutdown(inst, "Client.UserInitiatedShutdown: User initiated shutdown", now)
		inService--
		s.auditASGTermination(g, inst.ID, cause, now)
	}
	return inService
}

// auditASGTermination records a termination by Auto Scaling (scale-in,
// health-check replacement) the way CloudTrail shows it: TerminateInstances
// by Auto Scaling's service-linked role, invoked by
// autoscaling.amazonaws.com, delivered after the usual delay.
func (s *State) auditASGTermination(g *ASG, instanceID, cause string, now time.Time) {
	rid := s.w.UUIDLocked()
	s.w.RecordAuditLocked(&world.AuditEvent{
		ID: rid, RequestID: rid, Time: now, DeliverAt: now.Add(s.w.JitterLocked(world.PurposeDelivery, 5*time.Minute, 0.4)),
		Cloud: "aws", Account: g.Account, Region: g.Region,
		Service: "ec2.amazonaws.com", Operation: "TerminateInstances",
		PrincipalARN: autoscalingRoleARN(g.Account), PrincipalID: "autoscaling.amazonaws.com",
		UserName: "AWSServiceRoleForAutoScaling", IdentityType: "AWSService",
		SourceIP: "autoscaling.amazonaws.com", UserAgent: "autoscaling.amazonaws.com",
		Resources: []world.AuditResource{{Type: "AWS::EC2::Instance", Name: instanceID},
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

// UpdateASG applies settings to a group. A new desired capacity
// takes effect at once, scale-in in termination-policy order (a modelling
// choice: AWS starts the scaling activity within moments). Health is
// re-evaluated under the new health-check settings.
func (s *State) UpdateASG(name string, settings ASGSettings) error {
	g, ok := s.ASGs.Get(name)
	if !ok {
		return world.NotFound("autoscaling-group", name)
	}
	invalid := func(format string, args ...any) error {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name, Msg: fmt.Sprintf(format, args...)}
	}
	minSize, maxSize, desired := g.Min, g.Max, g.Desired
	if settings.Min != nil {
		minSize = *settings.Min
	}
	if settings.Max != nil {
		maxSize = *settings.Max
	}
	if settings.Desired != nil {
		desired = *settings.Desired
	} else if desired < minSize {
		desired = minSize
	} else if desired > maxSize {
		desired = maxSize
	}
	if minSize < 0 || minSize > maxSize || desired < minSize || desired > maxSize {
		return invalid("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)
	}
	if settings.HealthCheckType != nil && *settings.HealthCheckType != HealthCheckEC2 && *settings.HealthCheckType != HealthCheckELB {
		return invalid("1 validation error detected: Value '%s' at 'healthCheckType' failed to satisfy constraint: Member must be EC2 or ELB in the simulator", *settings.HealthCheckType)
	}
	if settings.HealthCheckGracePeriod != nil && *settings.HealthCheckGracePeriod < 0 {
		return invalid("HealthCheckGracePeriod must not be negative")
	}
	if settings.HealthCheckPort != nil && (*settings.HealthCheckPort < 1 || *settings.HealthCheckPort > 65535) {
		return invalid("health check port %d is not a TCP port", *settings.HealthCheckPort)
	}
	for _, p := range settings.TerminationPolicies {
		if !TerminationPolicyKnown(p) {
			return invalid("Termination policy %s is not supported.", p)
		}
	}
	for _, sn := range settings.Subnets {
		if _, ok := s.w.Subnets.Get(sn); !ok {
			return world.NotFound("subnet", sn)
		}
	}
	g.Min, g.Max = minSize, maxSize
	if settings.HealthCheckType != nil {
		g.HealthCheckType = *settings.HealthCheckType
	}
	if settings.HealthCheckGracePeriod != nil {
		g.HealthCheckGracePeriod = *settings.HealthCheckGracePeriod
	}
	if settings.HealthCheckPort != nil {
		g.HealthCheckPort = *settings.HealthCheckPort
	}
	if settings.TerminationPolicies != nil {
		g.TerminationPolicies = slices.Clone(settings.TerminationPolicies)
	}
	if settings.NewInstancesProtected != nil {
		g.NewInstancesProtected = *settings.NewInstancesProtected
	}
	if settings.LaunchTemplate != nil && *settings.LaunchTemplate != g.LaunchTemplate {
		g.LaunchTemplate = *settings.LaunchTemplate
		g.Generation++
	}
	if settings.Subnets != nil {
		g.Subnets = slices.Clone(settings.Subnets)
	}
	if desired != g.Desired {
		g.Desired = desired
		s.scheduleFit(g, "a user request to update the group's desired capacity")
	}
	s.checkASGHealth()
	return nil
}

// AttachInstances attaches running instances to a group, raising its
// desired capacity by their number, as AttachInstances does ("the desired
// capacity of the group increases by the number of instances being
// attached"; the call fails if that exceeds the maximum size).
func (s *State) AttachInstances(name string, ids []string) error {
	g, ok := s.ASGs.Get(name)
	if !ok {
		return world.NotFound("autoscaling-group", name)
	}
	if g.Desired+len(ids) > g.Max {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "autoscaling-group", ID: name,
			Msg: fmt.Sprintf("Cannot increase desired capacity beyond max size %d; the group's desired capacity is %d.", g.Max, g.Desired)}
	}
	for _, id := range ids {
		inst, ok := s.w.Instances.Get(id)
		if !ok {
			return world.NotFound("instance", id)
		}
		if inst.State != world.StateRunning && inst.State != world.StatePending {
			return &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: id,
				Msg: fmt.Sprintf("Instance %s is not in correct state to be attached. Valid states are pending and running.", id)}
		}
	}
	for _, id := range ids {
		if g.Launch == nil {
			g.Launch = s.LaunchSpecOf(s.w.Instances.Lookup(id))
		}
		if err := s.AttachToASG(name, id); err != nil {
			return err
		}
		g.Desired++
	}
	return nil
}

// LaunchSpecOf describes how to launch another instance like inst
// (its account, subnet, image, type, key, groups, profile, agent and
// platform), the way Auto Scaling builds a launch configuration from an
// instance (CreateAutoScalingGroup with InstanceId).
func (s *State) LaunchSpecOf(inst *world.Instance) *LaunchSpec {
	spec := &LaunchSpec{Account: inst.Account, Region: inst.Region, Subnet: inst.Subnet, ImageID: inst.ImageID,
		Type: inst.Type, KeyName: inst.KeyName, SSMAgent: inst.SSMAgent, Platform: inst.Platform,
		MemoryGiB: inst.MemoryGiB, Tags: maps.Clone(inst.Tags)}
	if len(inst.ENIs) > 0 {
		if eni := s.w.ENIs.Lookup(inst.ENIs[0]); eni != nil {
			spec.Groups = slices.Clone(eni.Groups)
			spec.PublicIP = eni.PublicIP != ""
		}
	}
	if a := s.ActiveAssociation(inst.ID); a != nil {
		spec.Profile = a.ProfileARN
	}
	return spec
}
