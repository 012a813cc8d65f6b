package awsworld

import (
	"fmt"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// asgFixture is a group of five members launched a minute apart.
type asgFixture struct {
	*netFixture
	g     *ASG
	insts []*world.Instance
}

func newASGFixture(t *testing.T) *asgFixture {
	t.Helper()
	f := &asgFixture{netFixture: newNetFixture(t)}
	f.w.Lock()
	defer f.w.Unlock()
	g, err := Of(f.w).AddASG("111122223333", "us-east-1", "web", 1, 10, 5)
	must(t, err)
	f.g = g
	for range 5 {
		inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
			Running: true, ASG: "web", DataVolumes: []VolumeSpec{{Device: "/dev/sdf", SizeGiB: 5, DeleteOnTermination: true}}})
		must(t, err)
		f.insts = append(f.insts, inst)
		f.clk.t = f.clk.t.Add(time.Minute)
	}
	return f
}

func TestScaleInTerminatesOldestUnprotectedInService(t *testing.T) {
	f := newASGFixture(t)
	i := f.insts
	f.w.Lock()
	must(t, Of(f.w).SetProtection("web", []string{i[0].ID}, true))
	// Decrementing, so that the group launches no replacements for them.
	must(t, Of(f.w).EnterStandby("web", []string{i[1].ID}, true))
	must(t, Of(f.w).DetachFromASG("web", []string{i[2].ID}, true))
	at := f.clk.t.Add(10 * time.Minute)
	must(t, Of(f.w).ScheduleScaleIn("web", at, 1))
	i3Vols := []string{i[3].BlockDevices[0].VolumeID, i[3].BlockDevices[1].VolumeID}
	f.w.Unlock()

	f.clk.t = at.Add(-time.Second)
	f.w.Advance(f.clk.t)
	f.w.Lock()
	for _, inst := range i {
		if inst.State != world.StateRunning {
			t.Fatalf("%s is %s before the scale-in time", inst.ID, inst.State)
		}
	}
	f.w.Unlock()

	f.clk.t = at.Add(5 * time.Minute)
	f.w.Lock()
	defer f.w.Unlock()
	// InService before: i0 (protected), i3, i4. Desired 1: i3 (older) goes,
	// then i4; i0 stays protected; standby and detached are never picked.
	want := map[string]string{i[0].ID: world.StateRunning, i[1].ID: world.StateRunning, i[2].ID: world.StateRunning,
		i[3].ID: world.StateTerminated, i[4].ID: world.StateTerminated}
	for id, st := range want {
		if got := f.w.Instances.Lookup(id).State; got != st {
			t.Errorf("%s: %s, want %s", id, got, st)
		}
	}
	for _, v := range i3Vols {
		if f.w.Volumes.Lookup(v).State != "deleted" {
			t.Fatalf("volume %s of a scaled-in instance is %s", v, f.w.Volumes.Lookup(v).State)
		}
	}
	if f.g.Desired != 1 || len(f.g.Members) != 2 {
		t.Fatalf("desired %d, members %d", f.g.Desired, len(f.g.Members))
	}
	var audited []string
	for _, ev := range f.w.Audit {
		if ev.Operation != "TerminateInstances" {
			continue
		}
		if ev.IdentityType != "AWSService" || ev.Params["invokedBy"] != "autoscaling.amazonaws.com" || !ev.Time.Equal(at) || !ev.DeliverAt.After(at) {
			t.Fatalf("audit event %+v", ev)
		}
		audited = append(audited, ev.Params["instanceId"])
	}
	if fmt.Sprint(audited) != fmt.Sprint([]string{i[3].ID, i[4].ID}) {
		t.Fatalf("audited %v", audited)
	}
}

func TestScaleInDeletesEvidenceVolumes(t *testing.T) {
	f := newASGFixture(t)
	victim := f.insts[0]
	f.w.Lock()
	root, data := victim.BlockDevices[0].VolumeID, victim.BlockDevices[1].VolumeID
	must(t, Of(f.w).SetDeleteOnTermination(victim.ID, "/dev/sdf", false))
	// Termination protection does not stop Auto Scaling.
	victim.DisableAPITermination = true
	must(t, Of(f.w).ScheduleScaleIn("web", f.clk.t, 4))
	f.w.Unlock()
	f.clk.t = f.clk.t.Add(time.Hour)
	f.w.Lock()
	defer f.w.Unlock()
	if victim.State != world.StateTerminated {
		t.Fatalf("victim is %s", victim.State)
	}
	if f.w.Volumes.Lookup(root).State != "deleted" || f.w.Volumes.Lookup(data).State != "available" {
		t.Fatalf("root %s, data %s", f.w.Volumes.Lookup(root).State, f.w.Volumes.Lookup(data).State)
	}
}

func TestASGMembershipErrors(t *testing.T) {
	f := newASGFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	var many []string
	for n := range MaxProtectionBatch + 1 {
		many = append(many, fmt.Sprintf("i-%017x", n))
	}
	cases := []struct {
		name string
		err  error
	}{
		{"protect too many", Of(f.w).SetProtection("web", many, true)},
		{"protect a stranger", Of(f.w).SetProtection("web", []string{"i-00000000000000001"}, true)},
		{"unknown group", Of(f.w).EnterStandby("nope", []string{f.insts[0].ID}, true)},
		{"decrement below min", Of(f.w).DetachFromASG("web", []string{f.insts[0].ID, f.insts[1].ID, f.insts[2].ID, f.insts[3].ID, f.insts[4].ID}, true)},
		{"negative desired", Of(f.w).ScheduleScaleIn("web", f.clk.t, -1)},
	}
	for _, tc := range cases {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	must(t, Of(f.w).EnterStandby("web", []string{f.insts[0].ID}, true))
	if f.g.Desired != 4 {
		t.Fatalf("desired %d after a decrementing standby", f.g.Desired)
	}
	if err := Of(f.w).EnterStandby("web", []string{f.insts[0].ID}, true); err == nil {
		t.Fatal("standby twice")
	}
	if _, err := Of(f.w).AddASG("111122223333", "us-east-1", "web", 0, 1, 0); err == nil {
		t.Fatal("duplicate group")
	}
}
