package awsworld

import (
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
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
//     this only under Knobs.ASGReplaceStopped, off by default (the kernel's Knobs).
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

// checkASGHealth notices InService members that started failing
// their group's health check and schedules the check that replaces them if
// they still fail when the load balancer (and the grace period) let Auto
// Scaling act. Members that pass again are cleared.
func (s *State) checkASGHealth() {
	now := s.w.Now()
	for name, g := range s.ASGs.All() {
		for _, m := range g.Members {
			if m.LifecycleState != LifecycleInService || m.HealthStatus == HealthUnhealthy {
				continue
			}
			why := s.healthFailure(g, m)
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
				at = now.Add(s.w.KnobsLocked().ELBUnhealthyAfter)
			}
			if inst := s.w.Instances.Lookup(m.InstanceID); inst != nil {
				if graceEnd := inst.LaunchTime.Add(g.HealthCheckGracePeriod); graceEnd.After(at) {
					at = graceEnd
				}
			}
			id, since := m.InstanceID, now
			s.w.ScheduleLocked(at, "asg-health:"+id, func(at time.Time) { s.healthCheckDue(name, id, since, at) })
		}
	}
}

// Health-check failure causes, as Auto Scaling words them in the
// activity's cause.
const (
	ec2StatusFailure = "EC2 instance status check failure"
	elbFailure       = "ELB system health check failure"
)

// healthFailure says why a member fails its group's health check now
// ("" when it passes).
func (s *State) healthFailure(g *ASG, m *ASGInstance) string {
	inst := s.w.Instances.Lookup(m.InstanceID)
	if inst == nil {
		return ""
	}
	switch inst.State {
	case world.StateStopping, world.StateStopped:
		if s.w.KnobsLocked().ASGReplaceStopped {
			return ec2StatusFailure
		}
	}
	if g.HealthCheckType == HealthCheckELB && !s.loadBalancerReaches(g, inst) {
		return elbFailure
	}
	return ""
}

// loadBalancerReaches reports whether the modelled load balancer's
// health check gets an answer from the instance: it is running (a pending
// instance is still booting and is covered by the grace period) and a TCP
// connection from inside the VPC to HealthCheckPort passes the security
// groups of its primary interface and its subnet's network ACL, both ways.
func (s *State) loadBalancerReaches(g *ASG, inst *world.Instance) bool {
	if inst.State == world.StatePending {
		return true
	}
	if inst.State != world.StateRunning || len(inst.ENIs) == 0 {
		return false
	}
	eni := s.w.ENIs.Lookup(inst.ENIs[0])
	if eni == nil {
		return false
	}
	probe := &world.Flow{Direction: "ingress", Protocol: "tcp", LocalPort: g.HealthCheckPort,
		RemoteIP: s.loadBalancerAddr(inst.VPC), RemotePort: 32768}
	return s.permits(eni.Groups, probe, false) && s.naclPermits(eni.Subnet, probe)
}

// loadBalancerAddr is the address the modelled load balancer probes
// from: the VPC's highest usable address, which no instance is given.
func (s *State) loadBalancerAddr(vpcID string) string {
	v := s.w.VPCs.Lookup(vpcID)
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

// healthCheckDue runs when a failing member may be acted on: if it
// has failed without interruption since since and is still InService, it
// is marked Unhealthy and replaced.
func (s *State) healthCheckDue(name, id string, since, at time.Time) {
	g := s.ASGs.Lookup(name)
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
		why := s.healthFailure(g, m)
		if why == "" {
			m.failingSince = time.Time{}
			return
		}
		m.HealthStatus = HealthUnhealthy
		s.replaceUnhealthy(g, m, why, at)
		return
	}
}

// replaceUnhealthy terminates an Unhealthy InService member, whatever
// its protection, and launches its replacement.
func (s *State) replaceUnhealthy(g *ASG, m *ASGInstance, why string, at time.Time) {
	inst := s.w.Instances.Lookup(m.InstanceID)
	if inst == nil {
		return
	}
	s.shutdown(inst, "Client.UserInitiatedShutdown: User initiated shutdown", at)
	s.auditASGTermination(g, inst.ID,
		fmt.Sprintf("an instance was taken out of service in response to an %s", why), at)
	_, _ = s.launchIntoASG(g) // without a launch spec the group stays below capacity
}

// SetInstanceHealth sets a member's health status, as
// SetInstanceHealth does. An InService instance set Unhealthy is
// terminated and replaced, after the grace period when respectGrace (the
// API's default); protection does not prevent it. Setting Healthy before
// that cancels the replacement.
func (s *State) SetInstanceHealth(instanceID, status string, respectGrace bool) error {
	if status != HealthHealthy && status != HealthUnhealthy {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("Valid instance health states are: [Healthy, Unhealthy]. %s is not valid.", status)}
	}
	g, m := s.ASGMember(instanceID)
	if m == nil {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("Instance Id not found - No instance(s) found with id: %s", instanceID)}
	}
	m.HealthStatus = status
	if status == HealthHealthy {
		m.failingSince = time.Time{}
		return nil
	}
	at := s.w.Now()
	if inst := s.w.Instances.Lookup(instanceID); inst != nil && respectGrace {
		if graceEnd := inst.LaunchTime.Add(g.HealthCheckGracePeriod); graceEnd.After(at) {
			at = graceEnd
		}
	}
	name := g.Name
	s.w.ScheduleLocked(at, "asg-set-health:"+instanceID, func(at time.Time) {
		g, m := s.ASGMember(instanceID)
		if g == nil || g.Name != name || m.LifecycleState != LifecycleInService || m.HealthStatus != HealthUnhealthy {
			return
		}
		s.replaceUnhealthy(g, m, "unhealthy status set with SetInstanceHealth", at)
	})
	return nil
}

// launchIntoASG launches one instance into the group from its launch
// spec, in the subnet of the Availability Zone with the fewest InService
// instances (ties: the first subnet by id), as Auto Scaling balances
// launches across zones. The new instance is pending for its boot time and
// InService at once (lifecycle hooks and warm-up are not modelled).
func (s *State) launchIntoASG(g *ASG) (*world.Instance, error) {
	if g.Launch == nil {
		return nil, fmt.Errorf("autoscaling group %s has no launch spec", g.Name)
	}
	spec := *g.Launch
	spec.Subnet = s.launchSubnet(g)
	spec.Running = false
	spec.ASG = g.Name
	spec.Tags = maps.Clone(spec.Tags)
	delete(spec.Tags, "Name")
	if spec.Tags == nil {
		spec.Tags = world.Tags{}
	}
	spec.Tags["aws:autoscaling:groupName"] = g.Name
	inst, err := s.LaunchInstance(spec)
	if err != nil {
		return nil, err
	}
	if _, m := s.ASGMember(inst.ID); m != nil {
		m.Protected = g.NewInstancesProtected
	}
	return inst, nil
}

// launchSubnet picks the subnet a new instance of the group lands in.
func (s *State) launchSubnet(g *ASG) string {
	subnets := append([]string(nil), g.Subnets...)
	if len(subnets) == 0 && g.Launch != nil && g.Launch.Subnet != "" {
		subnets = append(subnets, g.Launch.Subnet)
	}
	for _, m := range g.Members {
		if inst := s.w.Instances.Lookup(m.InstanceID); inst != nil && inst.Subnet != "" {
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
		sub := s.w.Subnets.Lookup(id)
		if sub == nil {
			continue
		}
		if n := inAZ[sub.AZ]; best == "" || n < bestN || (n == bestN && id < best) {
			best, bestN = id, n
		}
	}
	return best
}
