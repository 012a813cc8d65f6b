package gcpsim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

const poolIP = "198.51.100.23"

func openPoolFlow(t *testing.T, e *gcpsimtest.Env, key string) (*world.Flow, error) {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	return gcpworld.Of(e.World).OpenFlow(key, world.FlowSpec{RemoteIP: poolIP, RemotePort: 3333, Domain: "pool.minexmr.com", Actor: "attacker"})
}

func flowActive(e *gcpsimtest.Env, f *world.Flow) bool {
	e.World.Lock()
	defer e.World.Unlock()
	return f.Active()
}

// quarantine inserts the priority-0 deny rules and tags the VM, the way a
// responder following the docs would, without breaking connections.
func quarantine(t *testing.T, e *gcpsimtest.Env, ic *compute.InstancesClient) {
	t.Helper()
	ctx := context.Background()
	fc, err := compute.NewFirewallsRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer fc.Close()
	for _, dir := range []string{"INGRESS", "EGRESS"} {
		fw := &computepb.Firewall{Name: proto.String("quarantine-deny-" + map[string]string{"INGRESS": "in", "EGRESS": "out"}[dir]),
			Network: proto.String(gcpsimtest.Network), Direction: proto.String(dir), Priority: proto.Int32(0),
			TargetTags: []string{"quarantine"}, Denied: []*computepb.Denied{{IPProtocol: proto.String("all")}}}
		if dir == "EGRESS" {
			fw.DestinationRanges = []string{"0.0.0.0/0"}
		} else {
			fw.SourceRanges = []string{"0.0.0.0/0"}
		}
		op, err := fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: fw})
		require.NoError(t, err)
		require.NoError(t, op.Wait(ctx))
	}
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "miner-1"})
	require.NoError(t, err)
	op, err := ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: "miner-1",
		TagsResource: &computepb.Tags{Items: append(got.GetTags().GetItems(), "quarantine"), Fingerprint: got.GetTags().Fingerprint}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
}

func TestFirewallDenyDoesNotCutEstablishedFlow(t *testing.T) {
	e := gcpsimtest.New(t)
	inst := e.Instance(t, gcpworld.InstanceSpec{Name: "miner-1", ExternalIP: true})
	f, err := openPoolFlow(t, e, inst.Key)
	require.NoError(t, err)
	ic := instancesClient(t, e, e.AdminToken)
	quarantine(t, e, ic)

	// Naive containment: the stateful firewall keeps the tracked connection.
	require.True(t, flowActive(e, f), "a priority-0 deny does not cut an established flow")
	// New connections are denied.
	_, err = openPoolFlow(t, e, inst.Key)
	var ce *world.ComputeError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, world.KindBlocked, ce.Kind)
}

func TestAccessConfigChurnBreaksEstablishedFlows(t *testing.T) {
	e := gcpsimtest.New(t)
	inst := e.Instance(t, gcpworld.InstanceSpec{Name: "miner-1", ExternalIP: true})
	f, err := openPoolFlow(t, e, inst.Key)
	require.NoError(t, err)
	ic := instancesClient(t, e, e.AdminToken)
	quarantine(t, e, ic)
	ctx := context.Background()
	oldIP := inst.PublicIP()

	op, err := ic.DeleteAccessConfig(ctx, &computepb.DeleteAccessConfigInstanceRequest{Project: project, Zone: zone,
		Instance: "miner-1", AccessConfig: "External NAT", NetworkInterface: "nic0"})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	require.False(t, flowActive(e, f), "deleting the access config breaks the connection")

	op, err = ic.AddAccessConfig(ctx, &computepb.AddAccessConfigInstanceRequest{Project: project, Zone: zone,
		Instance: "miner-1", NetworkInterface: "nic0", AccessConfigResource: &computepb.AccessConfig{
			Name: proto.String("External NAT"), Type: proto.String("ONE_TO_ONE_NAT")}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "miner-1"})
	require.NoError(t, err)
	newIP := got.GetNetworkInterfaces()[0].GetAccessConfigs()[0].GetNatIP()
	require.NotEmpty(t, newIP)
	require.NotEqual(t, oldIP, newIP, "an ephemeral external IP changes")
	_, err = openPoolFlow(t, e, inst.Key)
	require.Error(t, err, "reconnecting is denied by the quarantine rule")

	// Deleting an access config that is not there is a 400.
	_, err = ic.DeleteAccessConfig(ctx, &computepb.DeleteAccessConfigInstanceRequest{Project: project, Zone: zone,
		Instance: "miner-1", AccessConfig: "nope", NetworkInterface: "nic0"})
	require.Equal(t, 400, googleErr(t, err).Code)
}

func TestDisablingServiceAccountRevokesTokensEverywhere(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "web-app", "roles/compute.viewer")
	miner := e.Instance(t, gcpworld.InstanceSpec{Name: "miner-1", ServiceAccount: sa})
	batch := e.Instance(t, gcpworld.InstanceSpec{Name: "batch-1", ServiceAccount: sa})
	e.World.Lock()
	stolen, err := gcpworld.Of(e.World).InstanceToken(miner.Key)
	require.NoError(t, err)
	batchTok, err := gcpworld.Of(e.World).InstanceToken(batch.Key)
	require.NoError(t, err)
	require.Equal(t, []string{batch.Key, miner.Key}, gcpworld.Of(e.World).ServiceAccountUsers(sa))
	e.World.Unlock()
	ctx := context.Background()
	get := func(tok string) error {
		_, err := instancesClient(t, e, tok).Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "batch-1"})
		return err
	}
	require.NoError(t, get(stolen.Value))

	// Removing the SA from the VM does not revoke the stolen token.
	ic := instancesClient(t, e, e.AdminToken)
	op, err := ic.Stop(ctx, &computepb.StopInstanceRequest{Project: project, Zone: zone, Instance: "miner-1"})
	require.NoError(t, err)
	e.Clock.Advance(time.Minute)
	require.NoError(t, op.Wait(ctx))
	op, err = ic.SetServiceAccount(ctx, &computepb.SetServiceAccountInstanceRequest{Project: project, Zone: zone, Instance: "miner-1",
		InstancesSetServiceAccountRequestResource: &computepb.InstancesSetServiceAccountRequest{Email: proto.String("")}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	require.NoError(t, get(stolen.Value), "a token already issued stays valid until it expires")

	// Disabling the SA rejects every token at once, the batch VM's too.
	e.World.Lock()
	require.NoError(t, gcpworld.Of(e.World).SetServiceAccountDisabled(sa, true))
	e.World.Unlock()
	ge := googleErr(t, get(stolen.Value))
	require.Equal(t, 401, ge.Code)
	require.Equal(t, 401, googleErr(t, get(batchTok.Value)).Code, "blast radius: the batch workload loses API access too")
	e.World.Lock()
	_, err = gcpworld.Of(e.World).InstanceToken(batch.Key)
	e.World.Unlock()
	require.ErrorIs(t, err, gcpworld.ErrAccountDisabled, "the metadata server cannot mint new tokens either")
}

func TestMIGDeletesUnabandonedInstancesWithTheirDisks(t *testing.T) {
	e := gcpsimtest.New(t)
	e.World.Lock()
	m, err := gcpworld.Of(e.World).AddMIG(project, zone, "", "web", 3, gcpworld.InstanceSpec{Subnet: gcpsimtest.Subnet, ExternalIP: true})
	require.NoError(t, err)
	members := append([]string(nil), m.Members...)
	require.NoError(t, gcpworld.Of(e.World).ScheduleResize(m.Key, gcpsimtest.Start.Add(time.Hour), 1, nil))
	e.World.Unlock()
	ctx := context.Background()
	mc, err := compute.NewInstanceGroupManagersRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer mc.Close()
	ic := instancesClient(t, e, e.AdminToken)

	it := mc.ListManagedInstances(ctx, &computepb.ListManagedInstancesInstanceGroupManagersRequest{Project: project, Zone: zone, InstanceGroupManager: "web"})
	var listed []string
	for {
		mi, err := it.Next()
		if err != nil {
			break
		}
		listed = append(listed, mi.GetInstance())
	}
	require.Len(t, listed, 3)

	// Deletion protection cannot be set on a MIG member.
	protectedName := members[2][len("projects/firedrill-test/zones/us-central1-a/instances/"):]
	_, err = ic.SetDeletionProtection(ctx, &computepb.SetDeletionProtectionInstanceRequest{Project: project, Zone: zone,
		Resource: protectedName, DeletionProtection: proto.Bool(true)})
	require.Equal(t, 400, googleErr(t, err).Code)

	// Abandon the newest member (the one scale-in would pick first).
	op, err := mc.AbandonInstances(ctx, &computepb.AbandonInstancesInstanceGroupManagerRequest{Project: project, Zone: zone,
		InstanceGroupManager: "web", InstanceGroupManagersAbandonInstancesRequestResource: &computepb.InstanceGroupManagersAbandonInstancesRequest{
			Instances: []string{"https://www.googleapis.com/compute/v1/" + members[2]}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	// Abandoning a non-member fails in the operation, not the call.
	op, err = mc.AbandonInstances(ctx, &computepb.AbandonInstancesInstanceGroupManagerRequest{Project: project, Zone: zone,
		InstanceGroupManager: "web", InstanceGroupManagersAbandonInstancesRequestResource: &computepb.InstanceGroupManagersAbandonInstancesRequest{
			Instances: []string{"https://www.googleapis.com/compute/v1/" + members[2]}}})
	require.NoError(t, err)
	require.Equal(t, 400, googleErr(t, op.Wait(ctx)).Code)
	// Now the member is no longer managed and can be protected.
	op, err = ic.SetDeletionProtection(ctx, &computepb.SetDeletionProtectionInstanceRequest{Project: project, Zone: zone,
		Resource: protectedName, DeletionProtection: proto.Bool(true)})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))

	e.Clock.Advance(2 * time.Hour)
	e.World.Lock()
	g := gcpworld.Of(e.World)
	require.NotNil(t, g.Instances.Lookup(members[2]), "the abandoned VM survives scale-in")
	require.NotNil(t, g.Instances.Lookup(members[0]), "the group keeps one managed VM")
	require.Nil(t, g.Instances.Lookup(members[1]), "the managed VM beyond the target size is deleted")
	require.Equal(t, "deleted", e.World.Volumes.Lookup(gcpworld.DiskKey(project, zone, members[1][len("projects/firedrill-test/zones/us-central1-a/instances/"):])).State,
		"its auto-delete boot disk goes with it")
	e.World.Unlock()
}
