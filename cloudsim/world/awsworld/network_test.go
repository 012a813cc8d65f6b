package awsworld

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// computeClock is a hand-moved clock for the compute/network/ASG tests.
type computeClock struct{ t time.Time }

func (c *computeClock) Now() time.Time { return c.t }

// eventLog records observed world events.
type eventLog struct{ kinds []string }

func (l *eventLog) Observe(_ *world.World, ev world.Event) { l.kinds = append(l.kinds, ev.Kind) }

// netFixture is a world with one VPC, a subnet and four groups:
//
//	open:   all traffic in and out (flows are untracked)
//	egress: the default allow-all egress only
//	none:   no rules at all
//	web:    HTTPS in from anywhere, default egress (not all-open)
type netFixture struct {
	w                       *world.World
	clk                     *computeClock
	subnet                  *world.Subnet
	open, egress, none, web string
}

func newNetFixture(t *testing.T) *netFixture {
	t.Helper()
	clk := &computeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	w := world.New(clk, 7)
	w.Lock()
	defer w.Unlock()
	v := Of(w).AddVPC("111122223333", "us-east-1", "10.0.0.0/16")
	sn, err := Of(w).AddSubnet(v.ID, "us-east-1a", "10.0.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) *SecurityGroup {
		g, err := Of(w).AddSecurityGroup("111122223333", "us-east-1", v.ID, name, name)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	open, egress, none, web := mk("open"), mk("egress"), mk("none"), mk("web")
	mustAuthorize(t, w, open.ID, false, Rule{Protocol: "-1", CIDRs: []string{AnyIPv4}})
	mustAuthorize(t, w, web.ID, false, Rule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{AnyIPv4}})
	none.Egress = nil
	return &netFixture{w: w, clk: clk, subnet: sn, open: open.ID, egress: egress.ID, none: none.ID, web: web.ID}
}

func mustAuthorize(t *testing.T, w *world.World, g string, egress bool, r Rule) []Rule {
	t.Helper()
	out, err := Of(w).AuthorizeRules(g, egress, []Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *netFixture) launch(t *testing.T, groups ...string) *world.Instance {
	t.Helper()
	inst, err := Of(f.w).LaunchInstance(LaunchSpec{Account: "111122223333", Region: "us-east-1",
		Subnet: f.subnet.ID, Groups: groups, Running: true})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestFlowTrackingUnderGroupChanges(t *testing.T) {
	pool := world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333}
	cases := []struct {
		name         string
		start        func(f *netFixture) string // the group the instance starts in
		spec         world.FlowSpec
		wantTracked  bool
		change       func(t *testing.T, f *netFixture, inst *world.Instance)
		wantActive   bool
		wantTracked2 bool
	}{
		{"tracked flow survives a swap to a no-rule group",
			func(f *netFixture) string { return f.egress }, pool, true,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetInstanceGroups(i.ID, []string{f.none}))
			},
			true, true},
		{"tracked flow survives revoking its egress rule",
			func(f *netFixture) string { return f.egress }, pool, true,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				_, _, err := Of(f.w).RevokeRules(f.egress, true, []Rule{{Protocol: "-1", CIDRs: []string{AnyIPv4}}})
				must(t, err)
			},
			true, true},
		{"untracked flow is cut by a swap to a no-rule group",
			func(f *netFixture) string { return f.open }, pool, false,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
			},
			false, false},
		{"untracked flow is cut when its egress rule is revoked",
			func(f *netFixture) string { return f.open }, pool, false,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				_, _, err := Of(f.w).RevokeRules(f.open, true, []Rule{{Protocol: "-1", CIDRs: []string{AnyIPv4}}})
				must(t, err)
			},
			false, false},
		{"untracked flow is cut when the return-traffic rule is revoked",
			func(f *netFixture) string { return f.open }, pool, false,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				_, _, err := Of(f.w).RevokeRules(f.open, false, []Rule{{Protocol: "all", CIDRs: []string{AnyIPv4}}})
				must(t, err)
			},
			false, false},
		{"untracked flow still permitted becomes tracked",
			func(f *netFixture) string { return f.open }, world.FlowSpec{Direction: "ingress", RemoteIP: "203.0.113.9", LocalPort: 443}, false,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.web}))
			},
			true, true},
		{"tracked flow becomes untracked under an all-open group",
			func(f *netFixture) string { return f.egress }, pool, true,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.open}))
			},
			true, false},
		{"two-step isolation cuts a tracked flow",
			func(f *netFixture) string { return f.egress }, pool, true,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.open}))
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
			},
			false, false},
		{"ICMP is always tracked, even under all-open",
			func(f *netFixture) string { return f.open }, world.FlowSpec{Protocol: "icmp", RemoteIP: "198.51.100.1"}, true,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				must(t, Of(f.w).SetENIGroups(i.ENIs[0], []string{f.none}))
			},
			true, true},
		{"adding a rule elsewhere changes nothing",
			func(f *netFixture) string { return f.open }, pool, false,
			func(t *testing.T, f *netFixture, i *world.Instance) {
				mustAuthorize(t, f.w, f.web, false, Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"192.0.2.0/24"}})
			},
			true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newNetFixture(t)
			log := &eventLog{}
			f.w.AddObserver(log)
			f.w.Lock()
			defer f.w.Unlock()
			inst := f.launch(t, tc.start(f))
			fl, err := Of(f.w).OpenFlow(inst.ID, tc.spec)
			must(t, err)
			if fl.Tracked != tc.wantTracked {
				t.Fatalf("opened tracked=%v, want %v", fl.Tracked, tc.wantTracked)
			}
			f.clk.t = f.clk.t.Add(time.Minute)
			tc.change(t, f, inst)
			if fl.Active() != tc.wantActive {
				t.Fatalf("active=%v after the change, want %v (end reason %q)", fl.Active(), tc.wantActive, fl.EndReason)
			}
			if fl.Active() && fl.Tracked != tc.wantTracked2 {
				t.Fatalf("tracked=%v after the change, want %v", fl.Tracked, tc.wantTracked2)
			}
			wantEvents := []string{"flow.start"}
			if !tc.wantActive {
				wantEvents = append(wantEvents, "flow.end")
				if !fl.Ended.Equal(f.clk.t) || fl.EndReason == "" {
					t.Fatalf("ended at %v with reason %q, want now and a reason", fl.Ended, fl.EndReason)
				}
			}
			if got := len(f.w.ActiveFlowsLocked(inst.ID)); got != len(wantEvents)%2 {
				t.Fatalf("ActiveFlowsLocked has %d flows", got)
			}
			if len(log.kinds) != len(wantEvents) || log.kinds[0] != "flow.start" {
				t.Fatalf("events %v, want %v", log.kinds, wantEvents)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenFlowNeedsAPermittingRule(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	isolated := f.launch(t, f.none)
	web := f.launch(t, f.web)
	cases := []struct {
		name string
		inst *world.Instance
		spec world.FlowSpec
		ok   bool
	}{
		{"no egress rule", isolated, world.FlowSpec{RemoteIP: "198.51.100.1", RemotePort: 443}, false},
		{"https in allowed", web, world.FlowSpec{Direction: "ingress", RemoteIP: "203.0.113.5", LocalPort: 443}, true},
		{"ssh in refused", web, world.FlowSpec{Direction: "ingress", RemoteIP: "203.0.113.5", LocalPort: 22}, false},
		{"egress allowed", web, world.FlowSpec{RemoteIP: "198.51.100.1", RemotePort: 25}, true},
		{"bad remote", web, world.FlowSpec{RemoteIP: "pool.example"}, false},
		{"bad protocol", web, world.FlowSpec{Protocol: "sctp", RemoteIP: "198.51.100.1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Of(f.w).OpenFlow(tc.inst.ID, tc.spec)
			if (err == nil) != tc.ok {
				t.Fatalf("err=%v, want ok=%v", err, tc.ok)
			}
		})
	}
	_, err := Of(f.w).OpenFlow(isolated.ID, world.FlowSpec{RemoteIP: "198.51.100.1", RemotePort: 443})
	if ce, ok := world.ComputeErrorOf(err); !ok || ce.Kind != world.KindBlocked {
		t.Fatalf("want a Blocked error, got %v", err)
	}
}

func TestRuleEditing(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	ssh := Rule{Protocol: "6", FromPort: 22, ToPort: 22, CIDRs: []string{"192.0.2.0/24", "198.51.100.0/24"}}
	added, err := Of(f.w).AuthorizeRules(f.web, false, []Rule{ssh})
	must(t, err)
	if len(added) != 2 || added[0].Protocol != "tcp" || added[0].RuleID == "" {
		t.Fatalf("want one normalised rule per CIDR with IDs, got %+v", added)
	}
	if _, err := Of(f.w).AuthorizeRules(f.web, false, []Rule{ssh}); err == nil {
		t.Fatal("duplicate rule accepted")
	} else if ce, _ := world.ComputeErrorOf(err); ce.Kind != world.KindDuplicate {
		t.Fatalf("want Duplicate, got %v", err)
	}
	removed, unknown, err := Of(f.w).RevokeRules(f.web, false, []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22,
		CIDRs: []string{"192.0.2.0/24", "10.0.0.0/8"}}})
	must(t, err)
	if len(removed) != 1 || len(unknown) != 1 {
		t.Fatalf("removed %v unknown %v", removed, unknown)
	}
	if _, _, err := Of(f.w).RevokeRules(f.web, false, []Rule{{Protocol: "udp", FromPort: 1, ToPort: 1, CIDRs: []string{AnyIPv4}}}); err == nil {
		t.Fatal("revoking a missing rule succeeded")
	}
	if _, err := Of(f.w).RevokeRuleIDs(f.web, false, []string{added[1].RuleID}); err != nil {
		t.Fatal(err)
	}
	if _, err := Of(f.w).AuthorizeRules(f.web, false, []Rule{{Protocol: "gre!", CIDRs: []string{AnyIPv4}}}); err == nil {
		t.Fatal("bad protocol accepted")
	}
	if _, err := Of(f.w).AddSecurityGroup("111122223333", "us-east-1", f.subnet.VPC, "web", "again"); err == nil {
		t.Fatal("duplicate group name accepted")
	}
}

func TestInstanceGroupsNeedASingleInterface(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	inst := f.launch(t, f.egress)
	_, err := Of(f.w).AttachNetworkInterface(inst.ID, []string{f.egress})
	must(t, err)
	err = Of(f.w).SetInstanceGroups(inst.ID, []string{f.none})
	if ce, ok := world.ComputeErrorOf(err); !ok || ce.Kind != world.KindMultipleInterfaces {
		t.Fatalf("want MultipleInterfaces, got %v", err)
	}
	for _, e := range inst.ENIs {
		must(t, Of(f.w).SetENIGroups(e, []string{f.none}))
	}
	if err := Of(f.w).SetENIGroups(inst.ENIs[0], []string{"sg-missing"}); err == nil {
		t.Fatal("unknown group accepted")
	}
}

func TestDisassociatingAddressEndsInternetFlows(t *testing.T) {
	f := newNetFixture(t)
	f.w.Lock()
	defer f.w.Unlock()
	inst := f.launch(t, f.egress)
	a, err := Of(f.w).AddAddress("111122223333", "us-east-1", inst.ID)
	must(t, err)
	internet, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "198.51.100.9", RemotePort: 443})
	must(t, err)
	internal, err := Of(f.w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "10.0.1.200", RemotePort: 5432})
	must(t, err)
	_, err = Of(f.w).DisassociateAddress(a.AssociationID)
	must(t, err)
	if internet.Active() || !internal.Active() {
		t.Fatalf("internet active=%v internal active=%v", internet.Active(), internal.Active())
	}
	if _, err := Of(f.w).DisassociateAddress(a.AssociationID); err == nil {
		t.Fatal("second disassociation succeeded")
	}
}
