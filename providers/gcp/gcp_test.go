package gcp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	compute "cloud.google.com/go/compute/apiv1"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/gcp"
)

func TestCapabilitiesDeclareGaps(t *testing.T) {
	f := newFixture(t)
	var p providers.Provider = f.p
	_, runs := p.(providers.CommandRunner)
	require.False(t, runs, "GCP has no run-command")
	_, captures := p.(providers.MemoryCapturer)
	require.False(t, captures)
	_, revokes := p.(providers.SessionRevoker)
	require.True(t, revokes)
	_, stores := p.(providers.EvidenceStore)
	require.False(t, stores)
	_, alarms := p.(providers.AlarmReader)
	require.False(t, alarms)
	require.Equal(t, providers.CloudGCP, f.p.Cloud())
	id, err := f.p.CallerIdentity(context.Background())
	require.NoError(t, err)
	require.Equal(t, project, id.Account)
	require.Equal(t, f.responder, id.ARN)

	_, err = gcp.New(context.Background(), providers.Target{Cloud: providers.CloudGCP, Endpoint: f.env.URL})
	var te *providers.TargetError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Account", te.Field)
}

func TestDescribeInstance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	got, err := f.p.DescribeInstance(ctx, f.miner.Name) // a bare name is looked up across zones
	require.NoError(t, err)
	require.Equal(t, f.miner.Key, got.ID)
	require.Equal(t, "running", got.State)
	require.Equal(t, zone, got.Zone)
	require.Equal(t, gcpsimtest.Region, got.Region)
	require.Equal(t, f.migKey, got.ScalingGroup, "MIG membership from the created-by metadata")
	require.Equal(t, f.sa, got.Identity.RoleName)
	require.Len(t, got.NICs, 1)
	require.Equal(t, []string{"web"}, got.NICs[0].Groups)
	require.NotEmpty(t, got.PublicIP)
	require.Len(t, got.Disks, 2)
	require.True(t, got.Disks[0].DeleteOnTermination)
	require.False(t, got.TerminationProtected)

	_, err = f.p.DescribeInstance(ctx, "projects/firedrill-test/zones/us-central1-a/instances/nope")
	require.ErrorIs(t, err, providers.ErrNotFound)
	var ge interface{ Error() string }
	require.ErrorAs(t, err, &ge)
	_, err = f.p.DescribeInstance(ctx, "nope")
	require.ErrorIs(t, err, providers.ErrNotFound)
}

func TestSnapshotDisksAndWait(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	evs, err := f.p.SnapshotDisks(ctx, f.miner.Key, map[string]string{"Case": "IR-2026-001"})
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, "pending", evs[0].State)
	require.Equal(t, "ir-2026-001", evs[0].Tags["case"], "labels are sanitised to GCE's rules")
	ids := []string{evs[0].ID, evs[1].ID}
	done, err := f.p.WaitForSnapshots(ctx, ids, time.Hour)
	require.NoError(t, err)
	for _, ev := range done {
		require.Equal(t, "completed", ev.State)
	}
	_, err = f.p.WaitForSnapshots(ctx, []string{"projects/firedrill-test/global/snapshots/nope"}, time.Minute)
	require.ErrorIs(t, err, providers.ErrNotFound)
}

func TestProtectMIGMemberNeedsAbandon(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.env.World.Lock()
	require.NoError(t, gcpworld.Of(f.env.World).ScheduleResize(f.migKey, gcpsimtest.Start.Add(2*time.Hour), 1, nil))
	f.env.World.Unlock()

	prot, err := f.p.ProtectFromTermination(ctx, f.miner.Key)
	require.ErrorIs(t, err, providers.ErrConflict, "GCE refuses deletion protection on a MIG member")
	require.Equal(t, "memberOfManagedInstanceGroup", providers.Code(err))
	require.Len(t, prot.PreviousDeleteOnTermination, 2)

	res, err := f.p.ProtectFromScaling(ctx, f.miner.Key, providers.ScalingOptions{Mode: providers.ScalingProtect})
	require.NoError(t, err)
	require.Equal(t, f.migKey, res.Group)
	require.Equal(t, "Abandoned", res.LifecycleState)
	_, err = f.p.ProtectFromTermination(ctx, f.miner.Key)
	require.NoError(t, err)
	got, err := f.p.DescribeInstance(ctx, f.miner.Key)
	require.NoError(t, err)
	require.True(t, got.TerminationProtected)
	require.Empty(t, got.ScalingGroup)
	for _, d := range got.Disks {
		require.False(t, d.DeleteOnTermination)
	}
	res, err = f.p.ProtectFromScaling(ctx, f.miner.Key, providers.ScalingOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Group, "no longer in a group: nothing to do")

	f.env.Clock.Advance(3 * time.Hour)
	f.env.World.Lock()
	defer f.env.World.Unlock()
	require.NotNil(t, gcpworld.Of(f.env.World).Instances.Lookup(f.miner.Key), "the abandoned VM survives scale-in")
}

func TestNaiveMIGScaleInLosesEvidence(t *testing.T) {
	f := newFixture(t)
	f.env.World.Lock()
	require.NoError(t, gcpworld.Of(f.env.World).ScheduleResize(f.migKey, gcpsimtest.Start.Add(time.Hour), 2, nil))
	f.env.World.Unlock()
	f.env.Clock.Advance(2 * time.Hour)
	_, err := f.p.DescribeInstance(context.Background(), f.miner.Key)
	require.ErrorIs(t, err, providers.ErrNotFound, "without abandoning, the MIG deleted the compromised VM")
	f.env.World.Lock()
	defer f.env.World.Unlock()
	require.Equal(t, "deleted", f.env.World.Volumes.Lookup(f.miner.Disks[1].Disk).State, "and its auto-delete data disk")
}

func TestIsolateBreaksEstablishedFlows(t *testing.T) {
	f := newFixture(t)
	fl, err := f.openPoolFlow(t)
	require.NoError(t, err)
	res, err := f.p.IsolateInstance(context.Background(), f.miner.Key, providers.IsolateOptions{CaseID: "ir-1"})
	require.NoError(t, err)
	require.Equal(t, gcp.DefaultQuarantineTag, res.ForensicGroup)
	require.Equal(t, []string{"web"}, res.NICs[0].PreviousGroups)
	require.False(t, f.active(fl), "the access-config churn broke the miner's pool connection")
	_, err = f.openPoolFlow(t)
	require.Error(t, err, "and the quarantine rules refuse a reconnect")

	// Isolating a second VM on the same network reuses the rules.
	other := f.env.Instance(t, gcpworld.InstanceSpec{Name: "other", ExternalIP: true})
	_, err = f.p.IsolateInstance(context.Background(), other.Key, providers.IsolateOptions{})
	require.NoError(t, err)
}

// TestNaiveIsolationLeavesFlowUp is the naive responder: deny rules and the
// tag, but no access-config churn. The stateful firewall keeps the flow.
func TestNaiveIsolationLeavesFlowUp(t *testing.T) {
	f := newFixture(t)
	fl, err := f.openPoolFlow(t)
	require.NoError(t, err)
	ctx := context.Background()
	fc, err := compute.NewFirewallsRESTClient(ctx, f.env.Options(f.env.AdminToken)...)
	require.NoError(t, err)
	defer fc.Close()
	op, err := fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("naive-deny-out"), Network: proto.String(gcpsimtest.Network), Direction: proto.String("EGRESS"),
		Priority: proto.Int32(0), TargetTags: []string{"quarantine"}, DestinationRanges: []string{"0.0.0.0/0"},
		Denied: []*computepb.Denied{{IPProtocol: proto.String("all")}}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	ic, err := compute.NewInstancesRESTClient(ctx, f.env.Options(f.env.AdminToken)...)
	require.NoError(t, err)
	defer ic.Close()
	inst, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: f.miner.Name})
	require.NoError(t, err)
	op, err = ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: f.miner.Name,
		TagsResource: &computepb.Tags{Items: []string{"quarantine", "web"}, Fingerprint: inst.GetTags().Fingerprint}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	require.True(t, f.active(fl), "naive containment fails: the pool connection survives")
}

// TestDetachIdentityThenRevokeWithBlastRadius: detaching the service
// account leaves a stolen token working; disabling the account rejects it,
// and the batch VM that shares the account loses its credentials too. A
// disable is documented to act immediately (the default); in a world where
// it propagates (Knobs.GCPDisablePropagation) a probe made at once still
// succeeds and one made after the delay is denied.
func TestDetachIdentityThenRevokeWithBlastRadius(t *testing.T) {
	for _, tc := range []struct {
		name        string
		propagation world.Latency
	}{
		{"documented immediate disable", world.Latency{}},
		{"disable that propagates", world.GCPIAMPolicyDocumented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.env.World.Lock()
			k := f.env.World.KnobsLocked()
			k.GCPDisablePropagation = tc.propagation
			require.NoError(t, f.env.World.SetKnobsLocked(k))
			stolen, err := gcpworld.Of(f.env.World).InstanceToken(f.miner.Key)
			f.env.World.Unlock()
			require.NoError(t, err)
			attacker := f.provider(t, stolen.Value)
			attackerCall := func() error {
				_, err := attacker.DescribeInstance(ctx, f.batch.Key)
				return err
			}
			require.NoError(t, attackerCall())

			det, err := f.p.DetachInstanceIdentity(ctx, f.miner.Key, providers.DetachRemove, "")
			require.NoError(t, err)
			require.Equal(t, f.sa, det.PreviousProfileARN)
			require.Equal(t, []string{f.sa}, det.Roles)
			got, err := f.p.DescribeInstance(ctx, f.miner.Key)
			require.NoError(t, err)
			require.Equal(t, "stopped", got.State, "the SA can only change on a stopped VM")
			require.Nil(t, got.Identity)
			require.NoError(t, attackerCall(), "the stolen token outlives the detachment")

			users, err := f.p.ServiceAccountUsers(ctx, f.sa)
			require.NoError(t, err)
			require.Contains(t, users, f.batch.Key)
			rev, err := f.p.RevokeSessions(ctx, f.sa)
			require.NoError(t, err)
			require.Equal(t, providers.RevokeDisablePrincipal, rev.Method)
			require.Contains(t, rev.BlastRadius, providers.Ref(providers.CloudGCP, providers.KindVM, f.batch.Key), "the blast radius names the batch VM")
			if tc.propagation.Max > 0 {
				require.NoError(t, attackerCall(), "probed at once, the disable has not propagated")
				f.env.Propagate()
			}
			err = attackerCall()
			require.ErrorIs(t, err, providers.ErrAccessDenied, "disabling the SA rejects the stolen token")
			f.env.World.Lock()
			_, err = gcpworld.Of(f.env.World).InstanceToken(f.batch.Key)
			f.env.World.Unlock()
			require.ErrorIs(t, err, gcpworld.ErrAccountDisabled, "and the batch workload loses its credentials too")
		})
	}
}

func TestDisableAccessKey(t *testing.T) {
	f := newFixture(t)
	f.env.World.Lock()
	k, err := gcpworld.Of(f.env.World).AddServiceAccountKey(f.sa)
	f.env.World.Unlock()
	require.NoError(t, err)
	require.NoError(t, f.p.DisableAccessKey(context.Background(), f.sa, k.ID))
	f.env.World.Lock()
	defer f.env.World.Unlock()
	require.True(t, k.Disabled)
	_, err = gcpworld.Of(f.env.World).IssueToken(f.sa, "key:"+k.ID, k.ID, time.Hour)
	require.Error(t, err)
}

func TestStopAndTag(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.ErrorIs(t, f.p.StopInstance(ctx, f.batch.Key, providers.StopOptions{Hibernate: true}), providers.ErrUnsupported)
	require.NoError(t, f.p.StopInstance(ctx, f.batch.Key, providers.StopOptions{}))
	require.NoError(t, f.p.Tag(ctx, []string{f.batch.Key, f.miner.Key}, map[string]string{"Incident": "IR 7"}))
	got, err := f.p.DescribeInstance(ctx, f.batch.Key)
	require.NoError(t, err)
	require.Equal(t, "stopped", got.State)
	require.Equal(t, "ir-7", got.Tags["incident"])
}

func TestAuditQueryFindsResponderAndAttacker(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.p.Tag(ctx, []string{f.miner.Key}, map[string]string{"case": "ir-1"}))
	f.env.Clock.Advance(5 * time.Minute)
	evs, err := f.p.QueryAudit(ctx, providers.AuditQuery{Resource: f.miner.Key, Principal: f.responder})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, "v1.compute.instances.setLabels", evs[0].Operation)
	require.Equal(t, f.responder, evs[0].Principal)
	require.Equal(t, []string{f.miner.Key}, evs[0].Resources)
	require.Contains(t, evs[0].Raw, "cloudaudit.googleapis.com")
	evs, err = f.p.QueryAudit(ctx, providers.AuditQuery{Operation: "setLabels", Start: gcpsimtest.Start.Add(time.Hour)})
	require.NoError(t, err)
	require.Empty(t, evs)
}

func TestThrottlingIsRetriedOnTheSleeper(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Cloud: "gcp", Service: "logging", Kind: fault.Throttle, Times: 2}))
	require.NoError(t, faults.Add(fault.Rule{Cloud: "gcp", Operation: "instances.get", Kind: fault.Throttle, Times: 1}))
	f := newFixture(t, gcpsim.WithFaults(faults))
	before := f.env.Clock.Now()
	_, err := f.p.QueryAudit(context.Background(), providers.AuditQuery{})
	require.NoError(t, err, "429s are retried by the provider, not the SDK")
	require.GreaterOrEqual(t, f.env.Clock.Now().Sub(before), 3*time.Second, "1 s + 2 s of backoff on the Sleeper")
	_, err = f.p.DescribeInstance(context.Background(), f.miner.Key)
	require.NoError(t, err)

	require.NoError(t, faults.Add(fault.Rule{Cloud: "gcp", Operation: "instances.get", Kind: fault.Throttle}))
	p := f.provider(t, f.env.Token(t, f.responder), gcp.WithMaxAttempts(2))
	_, err = p.DescribeInstance(context.Background(), f.miner.Key)
	require.ErrorIs(t, err, providers.ErrThrottled)
	require.Equal(t, "rateLimitExceeded", providers.Code(err))
}

func TestFindingsList(t *testing.T) {
	f := newFixture(t)
	_, err := f.openPoolFlow(t)
	require.NoError(t, err)
	ctx := context.Background()
	fs, err := f.p.ListFindings(ctx, gcpsimtest.Start)
	require.NoError(t, err)
	require.Empty(t, fs)
	f.env.Clock.Advance(2 * time.Hour)
	fs, err = f.p.ListFindings(ctx, gcpsimtest.Start)
	require.NoError(t, err)
	require.Len(t, fs, 2)
	require.Equal(t, detect.SCCMiningBadDomain, fs[0].Type)
	require.Equal(t, f.miner.Key, fs[0].ResourceID)
	require.Equal(t, "Instance", fs[0].ResourceType)
	require.Equal(t, 8.0, fs[0].Severity)
	require.Equal(t, detect.SCCMiningCombined, fs[1].Type)
	fs, err = f.p.ListFindings(ctx, gcpsimtest.Start.Add(3*time.Hour))
	require.NoError(t, err)
	require.Empty(t, fs)
}

func TestAccessDeniedIsClassified(t *testing.T) {
	f := newFixture(t)
	viewer := f.env.User(t, "viewer@firedrill.test", "roles/compute.viewer")
	p := f.provider(t, viewer)
	err := p.StopInstance(context.Background(), f.batch.Key, providers.StopOptions{})
	require.ErrorIs(t, err, providers.ErrAccessDenied)
	require.Equal(t, "forbidden", providers.Code(err))
	var oe *providers.OpError
	require.True(t, errors.As(err, &oe))
	require.Equal(t, "compute.instances.stop", oe.Op)
}

// TestBackdoorFirewallDisabledThenDeleted: containment disables the
// attacker's firewall rule (it stays, admitting nothing); eradication
// deletes it; a rule already gone is ErrNotFound, not success.
func TestBackdoorFirewallDisabledThenDeleted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fc, err := compute.NewFirewallsRESTClient(ctx, f.env.Options(f.env.AdminToken)...)
	require.NoError(t, err)
	defer fc.Close()
	op, err := fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("vendor-access"), Network: proto.String(gcpsimtest.Network), Direction: proto.String("INGRESS"),
		SourceRanges: []string{"203.0.113.45/32"}, Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{"22"}}}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	rule := "projects/" + project + "/global/firewalls/vendor-access"

	require.NoError(t, f.p.DisableNetworkRule(ctx, rule))
	got, err := fc.Get(ctx, &computepb.GetFirewallRequest{Project: project, Firewall: "vendor-access"})
	require.NoError(t, err)
	require.True(t, got.GetDisabled())
	require.Equal(t, []string{"203.0.113.45/32"}, got.SourceRanges, "a patch keeps what it does not name")

	require.NoError(t, f.p.DeleteNetworkRule(ctx, rule))
	_, err = fc.Get(ctx, &computepb.GetFirewallRequest{Project: project, Firewall: "vendor-access"})
	require.Error(t, err)
	require.ErrorIs(t, f.p.DisableNetworkRule(ctx, rule), providers.ErrNotFound)
}
