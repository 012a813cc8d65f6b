package world

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// ASG lifecycle states, as Auto Scaling names them.
const (
	LifecycleInService   = "InService"
	LifecycleStandby     = "Standby"
	LifecycleTerminating = "Terminating"
	LifecycleDetached    = "Detached"
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
		CreatedTime: w.clock.Now(), Tags: Tags{}}
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
		return notFound("autoscaling-group", name)
	}
	inst, ok := w.Instances[instanceID]
	if !ok {
		return notFound("instance", instanceID)
	}
	if other, _ := w.ASGMemberLocked(instanceID); other != nil {
		return &ComputeError{Kind: KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance %s is already part of Auto Scaling group %s.", instanceID, other.Name)}
	}
	inst.ASG = name
	g.Members = append(g.Members, &ASGInstance{InstanceID: instanceID, LifecycleState: LifecycleInService,
		HealthStatus: "Healthy", AZ: inst.AZ})
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
		return nil, nil, notFound("autoscaling-group", name)
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
// group but scale-in never picks them. With decrement, desired capacity
// drops by one per instance.
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
	}
	if decrement {
		g.Desired -= len(ms)
	}
	return nil
}

// DetachFromASGLocked removes members from a group: each becomes a
// standalone instance that the group never terminates.
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
		return notFound("autoscaling-group", name)
	}
	if desired < 0 {
		return &ComputeError{Kind: KindInvalid, Resource: "autoscaling-group", ID: name, Msg: "desired capacity must not be negative"}
	}
	g.ScaleIn = append(g.ScaleIn, ScaleIn{At: at, Desired: desired})
	w.ScheduleLocked(at, "scale-in:"+name, func(now time.Time) { w.scaleInLocked(name, desired, now) })
	return nil
}

// ScaleInCandidatesLocked lists the members scale-in may terminate, in the order
// it terminates them: unprotected InService instances, oldest launch first.
func (w *World) ScaleInCandidatesLocked(g *ASG) []*ASGInstance {
	var out []*ASGInstance
	for _, m := range g.Members {
		if m.LifecycleState == LifecycleInService && !m.Protected {
			out = append(out, m)
		}
	}
	launch := func(m *ASGInstance) time.Time {
		if i := w.Instances[m.InstanceID]; i != nil {
			return i.LaunchTime
		}
		return time.Time{}
	}
	sort.SliceStable(out, func(a, b int) bool {
		la, lb := launch(out[a]), launch(out[b])
		if !la.Equal(lb) {
			return la.Before(lb)
		}
		return out[a].InstanceID < out[b].InstanceID
	})
	return out
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
	inService := 0
	for _, m := range g.Members {
		if m.LifecycleState == LifecycleInService {
			inService++
		}
	}
	for _, m := range w.ScaleInCandidatesLocked(g) {
		if inService <= desired {
			break
		}
		inst := w.Instances[m.InstanceID]
		if inst == nil {
			continue
		}
		w.shutdownLocked(inst, "Client.UserInitiatedShutdown: User initiated shutdown", now)
		inService--
		w.auditScaleInLocked(g, inst.ID, now)
	}
}

// auditScaleInLocked records a scale-in termination the way CloudTrail shows
// it: TerminateInstances by Auto Scaling's service-linked role, invoked by
// autoscaling.amazonaws.com, delivered after the usual delay.
func (w *World) auditScaleInLocked(g *ASG, instanceID string, now time.Time) {
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
			"autoScalingGroupName": g.Name, "cause": "scheduled scale-in"},
	})
}
