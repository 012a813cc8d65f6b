package world

import (
	"testing"
	"time"
)

// TestConnTrackKnob plays the two-step isolation (all-open group, then a
// no-rule group) against a pool connection under every value of
// Knobs.ConnTrack, and the cuts that work under all of them: a network ACL
// deny (stateless) and stopping the instance.
func TestConnTrackKnob(t *testing.T) {
	pool := FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333}
	twoStep := func(t *testing.T, f *netFixture, i *Instance) {
		must(t, f.w.SetENIGroupsLocked(i.ENIs[0], []string{f.open}))
		must(t, f.w.SetENIGroupsLocked(i.ENIs[0], []string{f.none}))
	}
	naclDeny := func(t *testing.T, f *netFixture, i *Instance) {
		// The responder denies the pool in the subnet's (default) ACL,
		// ahead of its allow-all rule 100.
		acl := f.w.NetworkACLsOfVPCLocked(f.subnet.VPC)[0]
		must(t, f.w.PutNACLEntryLocked(acl.ID, NACLEntry{RuleNumber: 10, Egress: true, Protocol: "-1",
			CIDR: "198.51.100.23/32"}, false))
	}
	naclSwap := func(t *testing.T, f *netFixture, i *Instance) {
		// A new ACL denies everything until entries are added.
		acl, err := f.w.CreateNetworkACLLocked(f.subnet.VPC, nil)
		must(t, err)
		f.w.NetworkACLsOfVPCLocked(f.subnet.VPC)
		_, err = f.w.ReplaceNACLAssociationLocked(f.subnet.ACLAssociation, acl.ID)
		must(t, err)
	}
	stop := func(t *testing.T, f *netFixture, i *Instance) {
		_, err := f.w.StopInstanceLocked(i.ID)
		must(t, err)
	}
	for _, tc := range []struct {
		mode        string
		step        string
		change      func(*testing.T, *netFixture, *Instance)
		openedUnder string // "egress" (a tracked start) or "open" (an untracked start)
		wantActive  bool
	}{
		{ConnTrackInstant, "two-step isolation", twoStep, "egress", false},
		{ConnTrackNewFlowsOnly, "two-step isolation", twoStep, "egress", true},
		{ConnTrackNever, "two-step isolation", twoStep, "egress", true},
		// A flow opened while the groups are all-open is untracked unless
		// the exemption never applies.
		{ConnTrackInstant, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *Instance) {
			must(t, f.w.SetENIGroupsLocked(i.ENIs[0], []string{f.none}))
		}, "open", false},
		{ConnTrackNewFlowsOnly, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *Instance) {
			must(t, f.w.SetENIGroupsLocked(i.ENIs[0], []string{f.none}))
		}, "open", false},
		{ConnTrackNever, "swap of a flow opened under all-open", func(t *testing.T, f *netFixture, i *Instance) {
			must(t, f.w.SetENIGroupsLocked(i.ENIs[0], []string{f.none}))
		}, "open", true},
		{ConnTrackInstant, "NACL deny entry", naclDeny, "egress", false},
		{ConnTrackNewFlowsOnly, "NACL deny entry", naclDeny, "egress", false},
		{ConnTrackNever, "NACL deny entry", naclDeny, "egress", false},
		{ConnTrackInstant, "NACL swap", naclSwap, "egress", false},
		{ConnTrackNewFlowsOnly, "NACL swap", naclSwap, "egress", false},
		{ConnTrackNever, "NACL swap", naclSwap, "egress", false},
		{ConnTrackInstant, "stop", stop, "egress", false},
		{ConnTrackNewFlowsOnly, "stop", stop, "egress", false},
		{ConnTrackNever, "stop", stop, "egress", false},
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
			fl, err := f.w.OpenFlowLocked(inst.ID, pool)
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
	if got := f.w.KnobsLocked().ConnTrack; got != ConnTrackInstant {
		t.Fatalf("default ConnTrack %q, want %q (the simulator's behaviour before the knob)", got, ConnTrackInstant)
	}
}

// TestNACLIsStateless checks the ACL model: rules in number order with the
// first match deciding, return traffic checked like any packet, new flows
// refused, and entries validated.
func TestNACLIsStateless(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	acls := f.w.NetworkACLsOfVPCLocked(f.subnet.VPC)
	if len(acls) != 1 || !acls[0].Default || f.subnet.ACL != acls[0].ID {
		t.Fatalf("want one default ACL associated with the subnet, got %+v (subnet ACL %q)", acls, f.subnet.ACL)
	}
	def := acls[0]
	inst := f.launch(t, f.egress)
	web, err := f.w.OpenFlowLocked(inst.ID, FlowSpec{RemoteIP: "203.0.113.5", RemotePort: 443})
	must(t, err)

	// Deny inbound ephemeral ports from 203.0.113.0/24: the web flow's
	// return traffic is dropped, so the flow ends although egress is open.
	must(t, f.w.PutNACLEntryLocked(def.ID, NACLEntry{RuleNumber: 50, Protocol: "tcp", FromPort: 1024, ToPort: 65535,
		CIDR: "203.0.113.0/24"}, false))
	if web.Active() {
		t.Fatal("a stateless deny of the return traffic left the flow up")
	}
	// A lower-numbered allow wins over it.
	must(t, f.w.PutNACLEntryLocked(def.ID, NACLEntry{RuleNumber: 40, Protocol: "-1", CIDR: "203.0.113.5/32", Allow: true}, false))
	if _, err := f.w.OpenFlowLocked(inst.ID, FlowSpec{RemoteIP: "203.0.113.5", RemotePort: 443}); err != nil {
		t.Fatalf("rule 40 allows 203.0.113.5: %v", err)
	}
	if _, err := f.w.OpenFlowLocked(inst.ID, FlowSpec{RemoteIP: "203.0.113.6", RemotePort: 443}); err == nil {
		t.Fatal("rule 50 should refuse the return traffic of a new flow to 203.0.113.6")
	}
	if err := f.w.PutNACLEntryLocked(def.ID, NACLEntry{RuleNumber: 40, Protocol: "-1", CIDR: "0.0.0.0/0"}, false); err == nil {
		t.Fatal("a duplicate rule number was accepted")
	}
	if err := f.w.PutNACLEntryLocked(def.ID, NACLEntry{RuleNumber: 32767, Protocol: "-1", CIDR: "0.0.0.0/0"}, false); err == nil {
		t.Fatal("rule 32767 is reserved")
	}
	if err := f.w.DeleteNACLEntryLocked(def.ID, 50, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.OpenFlowLocked(inst.ID, FlowSpec{RemoteIP: "203.0.113.6", RemotePort: 443}); err != nil {
		t.Fatalf("with rule 50 gone the default allow applies: %v", err)
	}
	entries := NACLEntriesWithDefault(def)
	if last := entries[len(entries)-1]; last.RuleNumber != 32767 || !last.Egress || last.Allow {
		t.Fatalf("the final rule is %+v, want the egress * deny", last)
	}
	// A subnet added later joins the default ACL.
	sn, err := f.w.AddSubnetLocked(f.subnet.VPC, "us-east-1b", "10.0.2.0/24")
	must(t, err)
	if sn.ACL != def.ID || sn.ACLAssociation == "" {
		t.Fatalf("new subnet associated with %q", sn.ACL)
	}
}
