package awsworld

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

func TestLaunchBootsAfterModelledTime(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	Of(f.w).AddRole("111122223333", "app", "")
	Of(f.w).AddInstanceProfile("111122223333", "app", "app")
	inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
		Profile: "app", PublicIP: true, DataVolumes: []VolumeSpec{{Device: "/dev/sdf", SizeGiB: 50}}})
	f.w.Unlock()
	must(t, err)
	if inst.State != world.StatePending {
		t.Fatalf("state %s, want pending", inst.State)
	}
	if len(inst.BlockDevices) != 2 || !inst.BlockDevices[0].DeleteOnTermination || inst.BlockDevices[1].DeleteOnTermination {
		t.Fatalf("block devices %+v: root must be DeleteOnTermination, the data volume not", inst.BlockDevices)
	}
	if inst.PublicIP == "" || inst.PrivateIP == "" || len(inst.ENIs) != 1 {
		t.Fatalf("addresses %q %q, ENIs %v", inst.PublicIP, inst.PrivateIP, inst.ENIs)
	}
	if g := f.w.ENIs.Lookup(inst.ENIs[0]).Groups; len(g) != 1 || Of(f.w).SecurityGroups.Lookup(g[0]).Name != "default" {
		t.Fatalf("no group given: want the VPC default group, got %v", g)
	}
	for _, step := range []struct {
		after time.Duration
		want  string
	}{{29 * time.Second, world.StatePending}, {31 * time.Second, world.StateRunning}} {
		f.clk.t = f.clk.t.Add(step.after)
		f.w.Advance(f.clk.t)
		f.w.Lock()
		got := inst.State
		f.w.Unlock()
		if got != step.want {
			t.Fatalf("after %v more: state %s, want %s", step.after, got, step.want)
		}
	}
	f.w.Lock()
	defer f.w.Unlock()
	if a := Of(f.w).ActiveAssociation(inst.ID); a == nil || a.ProfileARN != Of(f.w).Profiles.Lookup("app").ARN {
		t.Fatalf("association %+v", a)
	}
}

func TestTerminateDeletesDeleteOnTerminationVolumes(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
		Groups: []string{f.egress}, Running: true, DataVolumes: []VolumeSpec{{Device: "/dev/sdf", SizeGiB: 10, DeleteOnTermination: true}}})
	must(t, err)
	guarded, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
		Running: true, DisableAPITermination: true})
	must(t, err)
	root, data := inst.BlockDevices[0].VolumeID, inst.BlockDevices[1].VolumeID
	eni := inst.ENIs[0]
	must(t, Of(f.w).SetDeleteOnTermination(inst.ID, "/dev/xvda", false))
	fl, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "198.51.100.2", RemotePort: 443})
	must(t, err)

	if _, err := Of(f.w).TerminateInstance(guarded.ID); err == nil {
		t.Fatal("termination protection ignored")
	} else if ce, _ := world.ComputeErrorOf(err); ce.Kind != world.KindNotPermitted {
		t.Fatalf("want NotPermitted, got %v", err)
	}
	prev, err := Of(f.w).TerminateInstance(inst.ID)
	must(t, err)
	if prev != world.StateRunning || inst.State != world.StateShuttingDown || fl.Active() {
		t.Fatalf("prev %s state %s flow active %v", prev, inst.State, fl.Active())
	}
	f.w.Unlock()

	f.clk.t = f.clk.t.Add(2 * time.Minute)
	f.w.Lock()
	defer f.w.Unlock()
	if inst.State != world.StateTerminated || inst.TerminatedAt.IsZero() || inst.TerminatedAt.After(f.clk.t) {
		t.Fatalf("state %s terminated at %v", inst.State, inst.TerminatedAt)
	}
	if v := f.w.Volumes.Lookup(root); v.State != "available" || v.Attached != "" {
		t.Fatalf("kept root volume: %+v", v)
	}
	if v := f.w.Volumes.Lookup(data); v.State != "deleted" {
		t.Fatalf("data volume: %+v", v)
	}
	if _, ok := f.w.ENIs.Get(eni); ok {
		t.Fatal("primary interface survived termination")
	}
	if _, err := Of(f.w).CreateSnapshot(data, "", "", nil); err == nil {
		t.Fatal("snapshot of a deleted volume succeeded")
	}
	if !inst.Visible(f.clk.t) || inst.Visible(f.clk.t.Add(world.TerminatedVisibility)) {
		t.Fatal("a terminated instance is visible for an hour, then not")
	}
}

func TestStopInstance(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	inst := f.launch(t, f.egress)
	pinned, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID, Running: true, DisableAPIStop: true})
	must(t, err)
	fl, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "198.51.100.2", RemotePort: 443})
	must(t, err)
	_, err = Of(f.w).StopInstance(inst.ID)
	must(t, err)
	if inst.State != world.StateStopping || fl.Active() {
		t.Fatalf("state %s, flow active %v", inst.State, fl.Active())
	}
	if _, err := Of(f.w).StopInstance(pinned.ID); err == nil {
		t.Fatal("stop protection ignored")
	}
	f.w.Unlock()
	f.clk.t = f.clk.t.Add(time.Minute)
	f.w.Lock()
	defer f.w.Unlock()
	if inst.State != world.StateStopped {
		t.Fatalf("state %s, want stopped", inst.State)
	}
	if prev, err := Of(f.w).StopInstance(inst.ID); err != nil || prev != world.StateStopped {
		t.Fatalf("stopping a stopped instance: %s %v", prev, err)
	}
	if _, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "198.51.100.2", RemotePort: 443}); err == nil {
		t.Fatal("a stopped instance opened a flow")
	}
}

func TestSnapshotDurationScalesWithSize(t *testing.T) {
	cases := []struct {
		size int
		want time.Duration
	}{{8, 2*time.Minute + 80*time.Second}, {100, 2*time.Minute + 1000*time.Second}}
	for _, tc := range cases {
		f := newNetFixture(t)
		f.w.Lock()
		inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID,
			Running: true, RootSizeGiB: tc.size})
		must(t, err)
		s, err := Of(f.w).CreateSnapshot(inst.RootVolume(), "evidence", "arn:aws:iam::111122223333:user/ir", world.Tags{"case": "1"})
		must(t, err)
		f.w.Unlock()
		d := s.CompleteAt.Sub(s.StartTime)
		lo, hi := time.Duration(float64(tc.want)*0.8), time.Duration(float64(tc.want)*1.2)
		if d < lo || d > hi {
			t.Fatalf("%d GiB: snapshot takes %v, want %v ±20%%", tc.size, d, tc.want)
		}
		if s.State(s.StartTime) != "pending" || s.State(s.CompleteAt) != "completed" || s.Tags["case"] != "1" {
			t.Fatalf("snapshot %+v", s)
		}
	}
}

func TestSnapshotInstanceIsCrashConsistent(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1", Subnet: f.subnet.ID, Running: true,
		VolumeTags: world.Tags{"app": "db"}, DataVolumes: []VolumeSpec{{Device: "/dev/sdf", SizeGiB: 20}, {Device: "/dev/sdg", SizeGiB: 30}}})
	must(t, err)
	snaps, err := Of(f.w).SnapshotInstance(inst.ID, true, []string{inst.BlockDevices[2].VolumeID}, true, "", "", world.Tags{"case": "7"})
	must(t, err)
	if len(snaps) != 1 || snaps[0].VolumeID != inst.BlockDevices[1].VolumeID {
		t.Fatalf("want only /dev/sdf, got %+v", snaps)
	}
	if snaps[0].Tags["app"] != "db" || snaps[0].Tags["case"] != "7" {
		t.Fatalf("tags %v", snaps[0].Tags)
	}
}

func TestInstanceCredentialsOutliveTheAssociation(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	Of(f.w).AddRole("111122223333", "app", "")
	Of(f.w).AddRole("111122223333", "deny", "")
	Of(f.w).AddInstanceProfile("111122223333", "app", "app")
	Of(f.w).AddInstanceProfile("111122223333", "deny", "deny")
	inst := f.launch(t, f.egress)
	if _, err := Of(f.w).InstanceCredentials(inst.ID); err == nil {
		t.Fatal("credentials without a profile")
	}
	a, err := Of(f.w).AssociateProfile(inst.ID, "app")
	must(t, err)
	if _, err := Of(f.w).AssociateProfile(inst.ID, "deny"); err == nil {
		t.Fatal("second association accepted")
	}
	s, err := Of(f.w).InstanceCredentials(inst.ID)
	must(t, err)
	if s.Role != "app" || s.SessionName != inst.ID || s.Source != "instance:"+inst.ID || !s.IssuedAt.Equal(f.clk.t) {
		t.Fatalf("session %+v", s)
	}
	b, err := Of(f.w).ReplaceProfile(a.ID, "deny")
	must(t, err)
	if b.ID == a.ID || a.State != "disassociated" {
		t.Fatalf("replace kept the association: %+v %+v", a, b)
	}
	s2, err := Of(f.w).InstanceCredentials(inst.ID)
	must(t, err)
	if s2.Role != "deny" {
		t.Fatalf("after replace, IMDS serves role %s", s2.Role)
	}
	_, err = Of(f.w).DisassociateProfile(b.ID)
	must(t, err)
	if _, err := Of(f.w).Authenticate(s.AccessKeyID, s.Token); err != nil {
		t.Fatalf("the first session was revoked by disassociation: %v", err)
	}
	if _, err := Of(f.w).DisassociateProfile(b.ID); err == nil {
		t.Fatal("disassociating twice succeeded")
	}
}

func TestTagsOnAnyResource(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	inst := f.launch(t, f.egress)
	for _, id := range []string{inst.ID, inst.RootVolume(), inst.ENIs[0], f.egress, f.subnet.VPC} {
		must(t, Of(f.w).TagResource(id, world.Tags{"case": "9", "owner": "ir"}))
		must(t, Of(f.w).UntagResource(id, []string{"owner", "case"}, map[string]string{"case": "other"}))
		tags, _, ok := Of(f.w).ResourceTags(id)
		if !ok || tags["case"] != "9" || tags["owner"] != "" {
			t.Fatalf("%s: tags %v", id, tags)
		}
	}
	if err := Of(f.w).TagResource("i-00000000000000000", world.Tags{"a": "b"}); err == nil {
		t.Fatal("tagged a missing instance")
	}
}

func TestIDsAreDeterministic(t *testing.T) {
	ids := func() []string {
		f := newNetFixture(t)
		f.w.Lock()
		defer f.w.Unlock()
		i := f.launch(t, f.egress)
		return []string{i.ID, i.RootVolume(), i.ENIs[0], i.PrivateIP}
	}
	a, b := ids(), ids()
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("run 1 %v, run 2 %v", a, b)
		}
	}
}
