package world

import (
	"fmt"
	"maps"
	"net/netip"
	"time"
)

// Auto Scaling health checks ("Health checks for instances in an Auto
// Scaling group"). When Auto Scaling finds an InService instance unhealthy
// it terminates it and launches a replacement, and scale-in protection
// does not stop that: protection guards against scale-in only ("Use
// instance scale-in protection": it "does not protect Auto Scaling
// instances from ... health check replacement"), and Auto Scaling ignores
// EC2 termination protection. Only an instance that is not InService is
// left alone: "Amazon EC2 Auto Scaling does not perform health checks on
// instances that are in a Standby state", and a detached instance is no
// longer the group's. That is the trap for a responder: isolating a
// protected instance behind a load balancer makes it fail the load
// balancer's check, and the group destroys it with its volumes.
//
// What is modelled:
//   - HealthCheckType EC2 (the default): an instance whose state is not
//     running fails ("any value other than running"); the simulator applies
//     this only under Knobs.ASGReplaceStopped, off by default (knobs.go).
//   - HealthCheckType ELB: the EC2 check, plus the load balancer's: the
//     instance must be running and reachable on ASG.HealthCheckPort from
//     inside its VPC through its security groups and its subnet's network
//     ACL. The simulator has no load balancer resource; a group with ELB
//     health checks behaves as if registered with one (a modelling choice).
//   - The load balancer reports an instance unhealthy Knobs.ELBUnhealthyAfter
//     after it stopped answering (interval x unhealthy threshold); a
//     non-running state is noticed at once (a modelling choice: AWS checks
//     "periodically").
//   - The grace period: no instance is replaced before
//     HealthCheckGracePeriod has passed since its launch ("the minimum amount
//     of time ... to keep a new instance in service before terminating it
//     if it's found to be unhealthy").
//   - Replacement: the unhealthy instance is terminated, then a new one is
//     launched from the group's launch spec in the Availability Zone with
//     the fewest instances. Health is re-evaluated whenever something that
//     decides it changes (security groups and their rules, network ACLs,
//     instance stops, group settings), not on a timer, so a world without
//     such groups schedules nothing.

// checkASGHealthLocked notices InService members that started failing
// their group's health check and schedules the check that replaces them if
// they still fail when the load balancer (and the grace period) let Auto
// Scaling act. Members that pass again are cleared.
func (w *World) checkASGHealthLocked() {
	now := w.clock.Now()
	for _, name := range SortedKeys(w.ASGs) {
		g := w.ASGs[name]
		for _, m := range g.Members {
			if m.LifecycleState != LifecycleInService || m.HealthStatus == HealthUnhealthy {
				continue
			}
			why := w.healthFailureLocked(g, m)
			if why == "" {
				m.failingSince = time.Time{}
				continue
			}
			if !m.failingSince.IsZero() {
				continue
			}
			m.failingSince = now
			at := now
			if g.HealthCheckType == HealthCheckELB && why != ec2StatusFailure {
				at = now.Add(w.knobs.ELBUnhealthyAfter)
			}
			if inst := w.Instances[m.InstanceID]; inst != nil {
				if graceEnd := inst.LaunchTime.Add(g.HealthCheckGracePeriod); graceEnd.After(at) {
					at = graceEnd
				}
			}
			id, since := m.InstanceID, now
			w.ScheduleLocked(at, "asg-health:"+id, func(at time.Time) { w.healthCheckDueLocked(name, id, since, at) })
		}
	}
}

// Health-check failure causes, as Auto Scaling words them in the
// activity's cause.
const (
	ec2StatusFailure = "EC2 instance status check failure"
	elbFailure       = "ELB system health check failure"
)

// healthFailureLocked says why a member fails its group's health check now
// ("" when it passes).
func (w *World) healthFailureLocked(g *ASG, m *ASGInstance) string {
	inst := w.Instances[m.InstanceID]
	if inst == nil {
		return ""
	}
	switch inst.State {
	case StateStopping, StateStopped:
		if w.knobs.ASGReplaceStopped {
			return ec2StatusFailure
		}
	}
	if g.HealthCheckType == HealthCheckELB && !w.loadBalancerReachesLocked(g, inst) {
		return elbFailure
	}
	return ""
}

// loadBalancerReachesLocked reports whether the modelled load balancer's
// health check gets an answer from the instance: it is running (a pending
// instance is still booting and is covered by the grace period) and a TCP
// connection from inside the VPC to HealthCheckPort passes the security
// groups of its primary interface and its subnet's network ACL, both ways.
func (w *World) loadBalancerReachesLocked(g *ASG, inst *Instance) bool {
	if inst.State == StatePending {
		return true
	}
	if inst.State != StateRunning || len(inst.ENIs) == 0 {
		return false
	}
	eni := w.ENIs[inst.ENIs[0]]
	if eni == nil {
		return false
	}
	probe := &Flow{Direction: "ingress", Protocol: "tcp", LocalPort: g.HealthCheckPort,
		RemoteIP: w.loadBalancerAddrLocked(inst.VPC), RemotePort: 32768}
	return w.permitsLocked(eni.Groups, probe, false) && w.naclPermitsLocked(eni.Subnet, probe)
}

// loadBalancerAddrLocked is the address the modelled load balancer probes
// from: the VPC's highest usable address, which no instance is given.
func (w *World) loadBalancerAddrLocked(vpcID string) string {
	v := w.VPCs[vpcID]
	if v == nil {
		return "10.0.0.254"
	}
	p, err := netip.ParsePrefix(v.CIDR)
	if err != nil || !p.Addr().Is4() {
		return "10.0.0.254"
	}
	b := p.Masked().Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= (1<<(32-p.Bits()) - 1) // broadcast
	n--
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// healthCheckDueLocked runs when a failing member may be acted on: if it
// has failed without interruption since since and is still InService, it
// is marked Unhealthy and replaced.
func (w *World) healthCheckDueLocked(name, id string, since, at time.Time) {
	g := w.ASGs[name]
	if g == nil {
		return
	}
	for _, m := range g.Members {
		if m.InstanceID != id {
			continue
		}
		if m.LifecycleState != LifecycleInService || !m.failingSince.Equal(since) {
			return
		}
		why := w.healthFailureLocked(g, m)
		if why == "" {
			m.failingSince = time.Time{}
			return
		}
		m.HealthStatus = HealthUnhealthy
		w.replaceUnhealthyLocked(g, m, why, at)
		return
	}
}

// replaceUnhealthyLocked terminates an Unhealthy InService member, whatever
// its protection, and launches its replacement.
func (w *World) replaceUnhealthyLocked(g *ASG, m *ASGInstance, why string, at time.Time) {
	inst := w.Instances[m.InstanceID]
	if inst == nil {
		return
	}
	w.shutdownLocked(inst, "Client.UserInitiatedShutdown: User initiated shutdown", at)
	w.auditASGTerminationLocked(g, inst.ID,
		fmt.Sprintf("an instance was taken out of service in response to an %s", why), at)
	_, _ = w.launchIntoASGLocked(g) // without a launch spec the group stays below capacity
}

// SetInstanceHealthLocked sets a member's health status, as
// SetInstanceHealth does. An InService instance set Unhealthy is
// terminated and replaced, after the grace period when respectGrace (the
// API's default); protection does not prevent it. Setting Healthy before
// that cancels the replacement.
func (w *World) SetInstanceHealthLocked(instanceID, status string, respectGrace bool) error {
	if status != HealthHealthy && status != HealthUnhealthy {
		return &ComputeError{Kind: KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("Valid instance health states are: [Healthy, Unhealthy]. %s is not valid.", status)}
	}
	g, m := w.ASGMemberLocked(instanceID)
	if m == nil {
		return &ComputeError{Kind: KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("Instance Id not found - No instance(s) found with id: %s", instanceID)}
	}
	m.HealthStatus = status
	if status == HealthHealthy {
		m.failingSince = time.Time{}
		return nil
	}
	at := w.clock.Now()
	if inst := w.Instances[instanceID]; inst != nil && respectGrace {
		if graceEnd := inst.LaunchTime.Add(g.HealthCheckGracePeriod); graceEnd.After(at) {
			at = graceEnd
		}
	}
	name := g.Name
	w.ScheduleLocked(at, "asg-set-health:"+instanceID, func(at time.Time) {
		g, m := w.ASGMemberLocked(instanceID)
		if g == nil || g.Name != name || m.LifecycleState != LifecycleInService || m.HealthStatus != HealthUnhealthy {
			return
		}
		w.replaceUnhealthyLocked(g, m, "unhealthy status set with SetInstanceHealth", at)
	})
	return nil
}

// launchIntoASGLocked launches one instance into the group from its launch
// spec, in the subnet of the Availability Zone with the fewest InService
// instances (ties: the first subnet by id), as Auto Scaling balances
// launches across zones. The new instance is pending for its boot time and
// InService at once (lifecycle hooks and warm-up are not modelled).
func (w *World) launchIntoASGLocked(g *ASG) (*Instance, error) {
	if g.Launch == nil {
		return nil, fmt.Errorf("autoscaling group %s has no launch spec", g.Name)
	}
	spec := *g.Launch
	spec.Subnet = w.launchSubnetLocked(g)
	spec.Running = false
	spec.ASG = g.Name
	spec.Tags = maps.Clone(spec.Tags)
	delete(spec.Tags, "Name")
	if spec.Tags == nil {
		spec.Tags = Tags{}
	}
	spec.Tags["aws:autoscaling:groupName"] = g.Name
	inst, err := w.LaunchInstanceLocked(spec)
	if err != nil {
		return nil, err
	}
	if _, m := w.ASGMemberLocked(inst.ID); m != nil {
		m.Protected = g.NewInstancesProtected
	}
	return inst, nil
}

// launchSubnetLocked picks the subnet a new instance of the group lands in.
func (w *World) launchSubnetLocked(g *ASG) string {
	subnets := append([]string(nil), g.Subnets...)
	if len(subnets) == 0 && g.Launch != nil && g.Launch.Subnet != "" {
		subnets = append(subnets, g.Launch.Subnet)
	}
	for _, m := range g.Members {
		if inst := w.Instances[m.InstanceID]; inst != nil && inst.Subnet != "" {
			subnets = append(subnets, inst.Subnet)
		}
	}
	inAZ := map[string]int{}
	for _, m := range g.Members {
		if m.LifecycleState == LifecycleInService {
			inAZ[m.AZ]++
		}
	}
	best, bestN := "", 0
	for _, id := range dedupe(subnets) {
		s := w.Subnets[id]
		if s == nil {
			continue
		}
		if n := inAZ[s.AZ]; best == "" || n < bestN || (n == bestN && id < best) {
			best, bestN = id, n
		}
	}
	return best
}
