package awsworld

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// TestConnTrackKnob plays the two-step isolation (all-open group, then a
// no-rule group) against a pool connection under every value of
// Knobs.ConnTrack, and the cuts that work under all of them: a network ACL
// deny (stateless) and stopping the instance.
func TestConnTrackKnob(t *testing.T) {
	pool := world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333}
	twoStep := func(t *testing.T, f *netFixture, i *world.Instance) {
		must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.open}))
		must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
	}
	naclDeny := func(t *testing.T, f *netFixture, i *world.Instance) {
		// The responder denies the pool in the subnet's (default) ACL,
		// ahead of its allow-all rule 100.
		acl := Of(f.w).NetworkACLsOfVPC(f.subnet.VPC)[0]
		must(t, Of(f.w).PutNACLEntry(acl.ID, NACLEntry{RuleNumber: 10, Egress: true, Protocol: "-1",
			CIDR: "198.51.100.23/32"}, false))
	}
	naclSwap := func(t *testing.T, f *netFixture, i *world.Instance) {
		// A new ACL denies everything until entries are added.
		acl, err := Of(f.w).CreateNetworkACL(f.subnet.VPC, nil)
		must(t, err)
		Of(f.w).NetworkACLsOfVPC(f.subnet.VPC)
		_, assoc := Of(f.w).SubnetACL(f.subnet.ID)
		_, err = Of(f.w).ReplaceNACLAssociation(assoc, acl.ID)
		must(t, err)
	}
	stop := func(t *testing.T, f *netFixture, i *world.Instance) {
		_, err := Of(f.w).StopInstance(i.ID)
		must(t, err)
	}
	for _, tc := range []struct {
		mode        string
		step        string
		change      func(*testing.T, *netFixture, *world.Instance)
		openedUnder string // "egress" (a tracked start) or "open" (an untracked start)
		wantActive  bool
	}{
		{world.ConnTrackInstant, "two-step isolation", twoStep, "egress", false},
		{world.ConnTrackNewFlowsOnly, "two-step isolation", twoStep, "egress", true},
		{world.ConnTrackNever, "two-step isolation", twoStep, "egress", true},
		// A flow opened while the groups are all-open is untracked unless
		// the exemption never applies.
		{world.ConnTrackInstant, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *world.Instance) {
			must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
		}, "open", false},
		{world.ConnTrackNewFlowsOnly, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *world.Instance) {
			must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
		}, "open", false},
		{world.ConnTrackNever, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *world.Instance) {
			must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
		}, "open", true},
		{world.ConnTrackInstant, "NACL deny entry", naclDeny, "egress", false},
		{world.ConnTrackNewFlowsOnly, "NACL deny entry", naclDeny, "egress", false},
		{world.ConnTrackNever, "NACL deny entry", naclDeny, "egress", false},
		{world.ConnTrackInstant, "NACL swap", naclSwap, "egress", false},
		{world.ConnTrackNewFlowsOnly, "NACL swap", naclSwap, "egress", false},
		{world.ConnTrackNever, "NACL swap", naclSwap, "egress", false},
		{world.ConnTrackInstant, "stop", stop, "egress", false},
		{world.ConnTrackNewFlowsOnly, "stop", stop, "egress", false},
		{world.ConnTrackNever, "stop", stop, "egress", false},
	} {
		t.Run(tc.mode+"/"+tc.step, func(t *testing.T) {
			f := newNetFixture(t)
			f.w.Lock()
			defer f.w.Unlock()
			k := f.w.KnobsLocked()
			k.ConnTrack = tc.mode
			must(t, f.w.SetKnobsLocked(k))
			group := f.egress
			if tc.openedUnder == "open" {
				group = f.open
			}
			inst := f.launch(t, group)
			fl, err := Of(f.w).OpenFlow(inst.ID, pool)
			must(t, err)
			f.clk.t = f.clk.t.Add(time.Minute)
			tc.change(t, f, inst)
			if fl.Active() != tc.wantActive {
				t.Fatalf("active=%v, want %v (end reason %q)", fl.Active(), tc.wantActive, fl.EndReason)
			}
		})
	}
}

func TestConnTrackKnobRejectsUnknownValues(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	k := f.w.KnobsLocked()
	k.ConnTrack = "new flows only"
	if err := f.w.SetKnobsLocked(k); err == nil {
		t.Fatal("an unknown ConnTrack value was accepted")
	}
	if got := f.w.KnobsLocked().ConnTrack; got != world.ConnTrackInstant {
		t.Fatalf("default ConnTrack %q, want %q (the simulator's behaviour before the knob)", got, world.ConnTrackInstant)
	}
}

// TestNACLIsStateless checks the ACL model: rules in number order with the
// first match deciding, return traffic checked like any packet, new flows
// refused, and entries validated.
func TestNACLIsStateless(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	acls := Of(f.w).NetworkACLsOfVPC(f.subnet.VPC)
	if subnetACL, _ := Of(f.w).SubnetACL(f.subnet.ID); len(acls) != 1 || !acls[0].Default || subnetACL != acls[0].ID {
		t.Fatalf("want one default ACL associated with the subnet, got %+v (subnet ACL %q)", acls, subnetACL)
	}
	def := acls[0]
	inst := f.launch(t, f.egress)
	web, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "203.0.113.5", RemotePort: 443})
	must(t, err)

	// Deny inbound ephemeral ports from 203.0.113.0/24: the web flow's
	// return traffic is dropped, so the flow ends although egress is open.
	must(t, Of(f.w).PutNACLEntry(def.ID, NACLEntry{RuleNumber: 50, Protocol: "tcp", FromPort: 1024, ToPort: 65535,
		CIDR: "203.0.113.0/24"}, false))
	if web.Active() {
		t.Fatal("a stateless deny of the return traffic left the flow up")
	}
	// A lower-numbered allow wins over it.
	must(t, Of(f.w).PutNACLEntry(def.ID, NACLEntry{RuleNumber: 40, Protocol: "-1", CIDR: "203.0.113.5/32", Allow: true}, false))
	if _, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "203.0.113.5", RemotePort: 443}); err != nil {
		t.Fatalf("rule 40 allows 203.0.113.5: %v", err)
	}
	if _, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "203.0.113.6", RemotePort: 443}); err == nil {
		t.Fatal("rule 50 should refuse the return traffic of a new flow to 203.0.113.6")
	}
	if err := Of(f.w).PutNACLEntry(def.ID, NACLEntry{RuleNumber: 40, Protocol: "-1", CIDR: "0.0.0.0/0"}, false); err == nil {
		t.Fatal("a duplicate rule number was accepted")
	}
	if err := Of(f.w).PutNACLEntry(def.ID, NACLEntry{RuleNumber: 32767, Protocol: "-1", CIDR: "0.0.0.0/0"}, false); err == nil {
		t.Fatal("rule 32767 is reserved")
	}
	if err := Of(f.w).DeleteNACLEntry(def.ID, 50, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "203.0.113.6", RemotePort: 443}); err != nil {
		t.Fatalf("with rule 50 gone the default allow applies: %v", err)
	}
	entries := NACLEntriesWithDefault(def)
	if last := entries[len(entries)-1]; last.RuleNumber != 32767 || !last.Egress || last.Allow {
		t.Fatalf("the final rule is %+v, want the egress * deny", last)
	}
	// A subnet added later joins the default ACL.
	sn, err := Of(f.w).AddSubnet(f.subnet.VPC, "us-east-1b", "10.0.2.0/24")
	must(t, err)
	if acl, assoc := Of(f.w).SubnetACL(sn.ID); acl != def.ID || assoc == "" {
		t.Fatalf("new subnet associated with %q", acl)
	}
}
