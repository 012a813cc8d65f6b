package awsworld

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// azFixture is a group of four members across two zones: b1 in zone b,
// launched first; a1, a2, a3 in zone a, ten minutes apart after it.
type azFixture struct {
	*netFixture
	g              *ASG
	b1, a1, a2, a3 *world.Instance
	t0             time.Time
}

func newAZFixture(t *testing.T) *azFixture {
	t.Helper()
	f := &azFixture{netFixture: newNetFixture(t)}
	f.w.Lock()
	defer f.w.Unlock()
	snB, err := Of(f.w).AddSubnet(f.subnet.VPC, "us-east-1b", "10.0.2.0/24")
	must(t, err)
	f.g, err = Of(f.w).AddASG("111122223333", "us-east-1", "web", 0, 10, 4)
	must(t, err)
	f.t0 = f.clk.t
	launch := func(subnet string, after time.Duration) *world.Instance {
		inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: subnet,
			Groups: []string{f.web}, Running: true, ASG: "web"})
		must(t, err)
		inst.LaunchTime = f.t0.Add(after)
		return inst
	}
	f.b1 = launch(snB.ID, 0)
	f.a1 = launch(f.subnet.ID, 10*time.Minute)
	f.a2 = launch(f.subnet.ID, 20*time.Minute)
	f.a3 = launch(f.subnet.ID, 30*time.Minute)
	return f
}

func (f *azFixture) name(id string) string {
	for n, i := range map[string]*world.Instance{"b1": f.b1, "a1": f.a1, "a2": f.a2, "a3": f.a3} {
		if i.ID == id {
			return n
		}
	}
	return id
}

// TestTerminationPolicies orders scale-in at t0+65 min, when the elapsed
// time in the current instance-hour is b1 5 min, a1 55, a2 45, a3 35:
// zone a, with three instances, always gives first; within a zone the
// policies decide.
func TestTerminationPolicies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []string
		setup    func(f *azFixture)
		want     string
	}{
		{"Default: zone balance, then closest to the next instance hour", []string{TerminateDefault}, nil, "a1 a2 a3 b1"},
		{"OldestInstance", []string{TerminateOldestInstance}, nil, "a1 a2 b1 a3"},
		{"NewestInstance", []string{TerminateNewestInstance}, nil, "a3 a2 a1 b1"},
		{"ClosestToNextInstanceHour", []string{TerminateClosestToNextInstanceHour}, nil, "a1 a2 a3 b1"},
		{"Default: oldest launch template first", []string{TerminateDefault}, func(f *azFixture) {
			f.member(f.a1).Generation, f.member(f.a2).Generation = 2, 2
		}, "a3 a1 b1 a2"},
		{"OldestLaunchConfiguration then NewestInstance", []string{TerminateOldestLaunchConfiguration, TerminateNewestInstance}, func(f *azFixture) {
			f.member(f.a3).Generation = 2
		}, "a2 a1 b1 a3"},
		{"protected instances count towards their zone", []string{TerminateDefault}, func(f *azFixture) {
			f.member(f.a1).Protected = true
		}, "a2 a3 b1"},
		{"Standby instances are neither candidates nor counted", []string{TerminateDefault}, func(f *azFixture) {
			f.member(f.a1).LifecycleState = LifecycleStandby
			f.member(f.a2).LifecycleState = LifecycleStandby
		}, "a3 b1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAZFixture(t)
			f.w.Lock()
			defer f.w.Unlock()
			f.g.TerminationPolicies = tc.policies
			if tc.setup != nil {
				tc.setup(f)
			}
			var got []string
			for _, m := range Of(f.w).scaleInOrder(f.g, f.t0.Add(65*time.Minute)) {
				got = append(got, f.name(m.InstanceID))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("order %v, want %s", got, tc.want)
			}
		})
	}
}

func (f *azFixture) member(i *world.Instance) *ASGInstance {
	_, m := Of(f.w).ASGMember(i.ID)
	return m
}

// TestScaleInBalancesZones: a scheduled scale-in from four to two takes
// two instances from zone a, although b1 is the oldest.
func TestScaleInBalancesZones(t *testing.T) {
	f := newAZFixture(t)
	f.w.Lock()
	at := f.t0.Add(65 * time.Minute)
	must(t, Of(f.w).ScheduleScaleIn("web", at, 2))
	f.w.Unlock()
	f.clk.t = at.Add(5 * time.Minute)
	f.w.Lock()
	defer f.w.Unlock()
	for i, want := range map[*world.Instance]string{f.a1: world.StateTerminated, f.a2: world.StateTerminated, f.a3: world.StateRunning, f.b1: world.StateRunning} {
		if i.State != want {
			t.Errorf("%s is %s, want %s", f.name(i.ID), i.State, want)
		}
	}
}

// healthFixture: a group "web" of two instances launched an hour ago in
// the web group (HTTPS from anywhere), the first one protected from
// scale-in and with an evidence volume that is deleted on termination.
type healthFixture struct {
	*netFixture
	g      *ASG
	victim *world.Instance
	peer   *world.Instance
	data   string
}

func newHealthFixture(t *testing.T, check string) *healthFixture {
	t.Helper()
	f := &healthFixture{netFixture: newNetFixture(t)}
	f.w.Lock()
	defer f.w.Unlock()
	var err error
	f.g, err = Of(f.w).AddASG("111122223333", "us-east-1", "web", 1, 4, 2)
	must(t, err)
	must(t, Of(f.w).UpdateASG("web", ASGSettings{HealthCheckType: &check}))
	for range 2 {
		inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
			Groups: []string{f.web}, Running: true, ASG: "web",
			DataVolumes: []VolumeSpec{{Device: "/dev/sdf", SizeGiB: 5, DeleteOnTermination: true}}})
		must(t, err)
		inst.LaunchTime = f.clk.t.Add(-time.Hour)
		if f.victim == nil {
			f.victim = inst
		} else {
			f.peer = inst
		}
	}
	f.data = f.victim.BlockDevices[1].VolumeID
	must(t, Of(f.w).SetProtection("web", []string{f.victim.ID}, true))
	return f
}

// TestHealthCheckReplacement is the trap: with ELB health checks, an
// isolated (or stopped) instance fails the load balancer's check and the
// group replaces it, scale-in protection notwithstanding; Standby and
// Detach take it out of the group's hands. EC2 health checks do not look
// at the network, and by default (Knobs.ASGReplaceStopped off) not at a
// stopped state either.
func TestHealthCheckReplacement(t *testing.T) {
	isolate := func(t *testing.T, f *healthFixture) {
		must(t, Of(f.w).SetInstanceGroups(f.victim.ID, []string{f.none}))
	}
	stop := func(t *testing.T, f *healthFixture) {
		_, err := Of(f.w).StopInstance(f.victim.ID)
		must(t, err)
	}
	naclDeny := func(t *testing.T, f *healthFixture) {
		acl := Of(f.w).NetworkACLsOfVPC(f.subnet.VPC)[0]
		must(t, Of(f.w).PutNACLEntry(acl.ID, NACLEntry{RuleNumber: 10, Protocol: "tcp", FromPort: 443, ToPort: 443,
			CIDR: "10.0.0.0/16"}, false))
	}
	for _, tc := range []struct {
		name         string
		check        string
		replaceStop  bool
		before, fail func(*testing.T, *healthFixture)
		recover      func(*testing.T, *healthFixture) // within the detection time
		wantReplaced bool
	}{
		{"ELB: isolated protected instance is replaced", HealthCheckELB, false, nil, isolate, nil, true},
		{"ELB: stopped protected instance is replaced", HealthCheckELB, false, nil, stop, nil, true},
		{"ELB: a NACL deny of the health check port fails it too", HealthCheckELB, false, nil, naclDeny, nil, true},
		{"ELB: Standby first keeps the instance", HealthCheckELB, false, func(t *testing.T, f *healthFixture) {
			must(t, Of(f.w).EnterStandby("web", []string{f.victim.ID}, false))
		}, isolate, nil, false},
		{"ELB: Detach first keeps the instance", HealthCheckELB, false, func(t *testing.T, f *healthFixture) {
			must(t, Of(f.w).DetachFromASG("web", []string{f.victim.ID}, true))
		}, isolate, nil, false},
		{"ELB: restored before the load balancer notices", HealthCheckELB, false, nil, isolate, func(t *testing.T, f *healthFixture) {
			must(t, Of(f.w).SetInstanceGroups(f.victim.ID, []string{f.web}))
		}, false},
		{"EC2: isolation is not a health failure", HealthCheckEC2, false, nil, isolate, nil, false},
		{"EC2: a stopped instance is kept by default", HealthCheckEC2, false, nil, stop, nil, false},
		{"EC2: a stopped instance is replaced with ASGReplaceStopped", HealthCheckEC2, true, nil, stop, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHealthFixture(t, tc.check)
			f.w.Lock()
			k := f.w.KnobsLocked()
			k.ASGReplaceStopped = tc.replaceStop
			must(t, f.w.SetKnobsLocked(k))
			if tc.before != nil {
				tc.before(t, f)
			}
			start := f.clk.t
			tc.fail(t, f)
			f.w.Unlock()

			detect := 0 * time.Second
			if tc.check == HealthCheckELB {
				detect = world.DefaultKnobs().ELBUnhealthyAfter
			}
			if detect > 0 {
				f.clk.t = start.Add(detect - time.Second)
				f.w.Lock()
				if f.victim.State == world.StateShuttingDown || f.victim.State == world.StateTerminated {
					t.Fatal("replaced before the load balancer reported the failure")
				}
				if tc.recover != nil {
					tc.recover(t, f)
				}
				f.w.Unlock()
			}
			f.clk.t = start.Add(detect + 5*time.Minute)
			f.w.Lock()
			defer f.w.Unlock()
			replaced := f.victim.State == world.StateTerminated
			if replaced != tc.wantReplaced {
				t.Fatalf("victim is %s (replaced=%v), want replaced=%v", f.victim.State, replaced, tc.wantReplaced)
			}
			if !tc.wantReplaced {
				return
			}
			if f.w.Volumes.Lookup(f.data).State != "deleted" {
				t.Fatalf("the evidence volume is %s", f.w.Volumes.Lookup(f.data).State)
			}
			inService := 0
			for _, m := range f.g.Members {
				if m.LifecycleState == LifecycleInService {
					inService++
				}
				if m.InstanceID == f.victim.ID {
					t.Fatalf("the replaced instance is still a member: %+v", m)
				}
			}
			if inService != f.g.Desired {
				t.Fatalf("%d InService after the replacement, want desired %d", inService, f.g.Desired)
			}
			var cause string
			for _, ev := range f.w.Audit {
				if ev.Operation == "TerminateInstances" && ev.Params["instanceId"] == f.victim.ID {
					cause = ev.Params["cause"]
				}
			}
			if !strings.Contains(cause, "check failure") {
				t.Fatalf("termination audited with cause %q", cause)
			}
		})
	}
}

// TestHealthCheckGracePeriod: an instance launched moments ago that fails
// its ELB check is replaced only once the grace period has passed.
func TestHealthCheckGracePeriod(t *testing.T) {
	f := newHealthFixture(t, HealthCheckELB)
	f.w.Lock()
	grace := 10 * time.Minute
	must(t, Of(f.w).UpdateASG("web", ASGSettings{HealthCheckGracePeriod: &grace}))
	f.victim.LaunchTime = f.clk.t
	start := f.clk.t
	must(t, Of(f.w).SetInstanceGroups(f.victim.ID, []string{f.none}))
	f.w.Unlock()
	f.clk.t = start.Add(grace - time.Second)
	f.w.Lock()
	if f.victim.State != world.StateRunning {
		t.Fatalf("replaced within the grace period: %s", f.victim.State)
	}
	f.w.Unlock()
	f.clk.t = start.Add(grace + time.Minute)
	f.w.Lock()
	defer f.w.Unlock()
	if f.victim.State != world.StateTerminated {
		t.Fatalf("not replaced after the grace period: %s", f.victim.State)
	}
}

// TestSetInstanceHealth: Unhealthy replaces an InService instance even when
// protected; Healthy before the grace period ends cancels it.
func TestSetInstanceHealth(t *testing.T) {
	for _, respect := range []bool{true, false} {
		t.Run(fmt.Sprintf("respect grace %v", respect), func(t *testing.T) {
			f := newHealthFixture(t, HealthCheckEC2)
			f.w.Lock()
			f.victim.LaunchTime = f.clk.t // within the 300 s grace period
			must(t, Of(f.w).SetInstanceHealth(f.victim.ID, HealthUnhealthy, respect))
			if err := Of(f.w).SetInstanceHealth(f.victim.ID, "Sick", true); err == nil {
				t.Fatal("an unknown health status was accepted")
			}
			f.w.Unlock()
			f.clk.t = f.clk.t.Add(time.Minute)
			f.w.Lock()
			defer f.w.Unlock()
			gone := f.victim.State == world.StateShuttingDown || f.victim.State == world.StateTerminated
			if gone == respect {
				t.Fatalf("respect=%v: victim is %s a minute later", respect, f.victim.State)
			}
			if respect {
				must(t, Of(f.w).SetInstanceHealth(f.victim.ID, HealthHealthy, true))
				f.w.Unlock()
				f.clk.t = f.clk.t.Add(10 * time.Minute)
				f.w.Lock()
				if f.victim.State != world.StateRunning {
					t.Fatalf("set Healthy again, the victim is %s", f.victim.State)
				}
			}
		})
	}
}
