package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/providers"
)

// openPoolFlow opens the miner's tracked connection to its pool.
func (f *fixture) openPoolFlow(t *testing.T) *world.Flow {
	t.Helper()
	var fl *world.Flow
	f.locked(func(w *world.World) {
		var err error
		fl, err = awsworld.Of(w).OpenFlow(f.inst, world.FlowSpec{Protocol: "tcp", RemoteIP: poolIP, RemotePort: 3333,
			Domain: "pool.example", Actor: "attacker"})
		require.NoError(t, err)
		require.True(t, fl.Tracked, "under the web group the flow is tracked")
	})
	return fl
}

func TestIsolateCutsTrackedFlowWithTwoStepSwap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	flow := f.openPoolFlow(t)

	res, err := f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{CaseID: "case-1"})
	require.NoError(t, err)
	require.NotEmpty(t, res.ForensicGroup)
	require.NotEmpty(t, res.TransitionGroup)
	require.NotEqual(t, res.ForensicGroup, res.TransitionGroup)
	require.Equal(t, []providers.NICIsolation{{ID: f.eni, PreviousGroups: []string{f.group}}}, res.NICs)

	f.locked(func(w *world.World) {
		require.Equal(t, []string{res.ForensicGroup}, w.ENIs.Lookup(f.eni).Groups)
		iso := awsworld.Of(w).SecurityGroups.Lookup(res.ForensicGroup)
		require.Empty(t, iso.Egress, "the isolation group has no egress")
		require.Empty(t, iso.Ingress)
		require.Equal(t, "firedrill-isolation-"+f.vpc, iso.Name)
		require.Equal(t, "case-1", iso.Tags["firedrill:case"])
		tr := awsworld.Of(w).SecurityGroups.Lookup(res.TransitionGroup)
		require.Len(t, tr.Ingress, 1)
		require.Equal(t, "-1", tr.Ingress[0].Protocol)
		require.Equal(t, []string{"0.0.0.0/0"}, tr.Ingress[0].CIDRs)

		require.False(t, flow.Active(), "the tracked pool connection is cut")
		require.Empty(t, w.ActiveFlowsLocked(f.inst))
		// And nothing new gets out.
		_, err := awsworld.Of(w).OpenFlow(f.inst, world.FlowSpec{RemoteIP: poolIP, RemotePort: 3333})
		require.Error(t, err)
	})

	// A resumed playbook reuses both groups and changes nothing.
	again, err := f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{CaseID: "case-1"})
	require.NoError(t, err)
	require.Equal(t, res.ForensicGroup, again.ForensicGroup)
	require.Equal(t, res.TransitionGroup, again.TransitionGroup)
	require.Equal(t, []string{res.ForensicGroup}, again.NICs[0].PreviousGroups)
	f.locked(func(w *world.World) {
		n := 0
		for _, g := range awsworld.Of(w).SecurityGroups.All() {
			if strings.HasPrefix(g.Name, "firedrill-") {
				n++
			}
		}
		require.Equal(t, 2, n, "no duplicate groups")
	})
}

// A naive single swap to a no-rule group leaves the tracked flow up; this
// guards the test above against a simulator that cuts everything.
func TestNaiveSwapLeavesTrackedFlowUp(t *testing.T) {
	f := newFixture(t)
	flow := f.openPoolFlow(t)
	f.locked(func(w *world.World) {
		sg, err := awsworld.Of(w).AddSecurityGroup("111122223333", "us-east-1", f.vpc, "naive", "no rules")
		require.NoError(t, err)
		_, _, err = awsworld.Of(w).RevokeRules(sg.ID, true, sg.Egress)
		require.NoError(t, err)
		require.NoError(t, awsworld.Of(w).SetENIGroups(f.eni, []string{sg.ID}))
		require.True(t, flow.Active())
	})
}

func TestIsolateWithExaminerCIDRAndPublicIPDetach(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var eip string
	f.locked(func(w *world.World) {
		a, err := awsworld.Of(w).AddAddress("111122223333", "us-east-1", f.inst)
		require.NoError(t, err)
		eip = a.PublicIP
	})
	res, err := f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{
		AllowCIDRs: []string{"203.0.113.0/24"}, DetachPublicIPs: true})
	require.NoError(t, err)
	require.Equal(t, []string{eip}, res.DetachedAddresses)
	f.locked(func(w *world.World) {
		iso := awsworld.Of(w).SecurityGroups.Lookup(res.ForensicGroup)
		require.True(t, strings.HasPrefix(iso.Name, "firedrill-isolation-"+f.vpc+"-"), iso.Name)
		require.Empty(t, iso.Egress)
		require.Len(t, iso.Ingress, 1)
		require.Equal(t, []string{"203.0.113.0/24"}, iso.Ingress[0].CIDRs)
	})

	_, err = f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{AllowCIDRs: []string{"not-a-cidr"}})
	require.ErrorIs(t, err, providers.ErrInvalid)
}

// Multi-ENI instances are where instance-level group swaps fail ("There are
// multiple interfaces attached to instance"); per-ENI isolation covers all.
func TestIsolateMovesEveryInterfaceOfAMultiENIInstance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var second string
	f.locked(func(w *world.World) {
		inst := w.Instances.Lookup(f.inst)
		primary := w.ENIs.Lookup(f.eni)
		e := &world.ENI{ID: w.NewIDLocked("eni"), Account: inst.Account, Region: inst.Region, AZ: inst.AZ,
			VPC: inst.VPC, Subnet: inst.Subnet, Instance: inst.ID, DeviceIndex: 1, PrivateIP: "10.0.1.200",
			MAC: "0a:00:00:00:00:02", Groups: append([]string(nil), primary.Groups...), Description: "management",
			AttachmentID: w.NewIDLocked("eni-attach"), Status: "in-use", Tags: world.Tags{}}
		w.ENIs.Put(e.ID, e)
		inst.ENIs = append(inst.ENIs, e.ID)
		second = e.ID
	})
	desc, err := f.prov.DescribeInstance(ctx, f.inst)
	require.NoError(t, err)
	require.Len(t, desc.NICs, 2)
	require.True(t, desc.NICs[0].Primary)
	require.Equal(t, second, desc.NICs[1].ID)
	require.False(t, desc.NICs[1].Primary)

	res, err := f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{})
	require.NoError(t, err)
	require.Len(t, res.NICs, 2)
	f.locked(func(w *world.World) {
		require.Equal(t, []string{res.ForensicGroup}, w.ENIs.Lookup(f.eni).Groups)
		require.Equal(t, []string{res.ForensicGroup}, w.ENIs.Lookup(second).Groups)
	})
}
