package azure_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/azure"
)

const rg = demo.AzureDemoResourceGroup

type fixture struct {
	*azuresimtest.Env
	P   *azure.Provider
	ctx context.Context
	vm  string
}

func newFixture(t *testing.T, opts ...azuresimOption) *fixture {
	t.Helper()
	var o fixtureOpts
	for _, f := range opts {
		f(&o)
	}
	e := azuresimtest.New(t, demo.AzureOptions{})
	if o.faults != nil {
		e.Server.Faults = o.faults
	}
	p, err := azure.New(context.Background(), providers.Target{Cloud: providers.CloudAzure, Account: e.Demo.Subscription,
		Region: e.Demo.Location, Endpoint: e.URL, HTTPClient: e.HTTPClient,
		Credentials: &providers.StaticCredentials{AccessKeyID: e.Demo.ResponderClientID, SecretAccessKey: e.Demo.ResponderSecret}},
		azure.WithTenant(e.Demo.Tenant), azure.WithSleeper(e.Clock), azure.WithPollInterval(10*time.Second))
	require.NoError(t, err)
	return &fixture{Env: e, P: p, ctx: context.Background(), vm: e.Demo.VMs[0]}
}

type fixtureOpts struct{ faults *fault.Set }
type azuresimOption func(*fixtureOpts)

func withFaults(f *fault.Set) azuresimOption { return func(o *fixtureOpts) { o.faults = f } }

// openPoolFlow starts the miner's pool connection on the VM.
func (f *fixture) openPoolFlow(t *testing.T, vm string) *world.Flow {
	t.Helper()
	f.World.Lock()
	defer f.World.Unlock()
	fl, err := azureworld.Of(f.World).OpenFlow(vm, world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 3333, Domain: "pool.minexmr.com", Actor: "attacker"})
	require.NoError(t, err)
	return fl
}

func (f *fixture) flowActive(fl *world.Flow) bool {
	f.World.Lock()
	defer f.World.Unlock()
	return fl.Active()
}

func TestNewValidatesTarget(t *testing.T) {
	_, err := azure.New(context.Background(), providers.Target{Cloud: providers.CloudAzure})
	var te *providers.TargetError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Account", te.Field)
	_, err = azure.New(context.Background(), providers.Target{Cloud: providers.CloudAzure, Account: "x",
		Credentials: &providers.StaticCredentials{AccessKeyID: "a", SecretAccessKey: "b"}})
	require.ErrorAs(t, err, &te)
	require.Equal(t, "Credentials", te.Field)
}

func TestCapabilitiesDeclareTheManagedIdentityGap(t *testing.T) {
	f := newFixture(t)
	var p providers.Provider = f.P
	_, revokes := p.(providers.SessionRevoker)
	require.False(t, revokes, "Azure cannot revoke a managed identity's cached tokens")
	_, removes := p.(providers.GrantRemover)
	require.True(t, removes, "its fallback is removing the identity's role assignments")
	_, disables := p.(providers.AccessKeyDisabler)
	require.False(t, disables)
	_, runs := p.(providers.CommandRunner)
	_, captures := p.(providers.MemoryCapturer)
	_, scaling := p.(providers.ScalingProtector)
	_, term := p.(providers.TerminationProtector)
	require.True(t, runs && captures && scaling && term)
	require.Equal(t, "azure", f.P.Cloud())
	id, err := f.P.CallerIdentity(f.ctx)
	require.NoError(t, err)
	require.Equal(t, f.Demo.ResponderObjectID, id.ARN)
	require.Equal(t, f.Demo.ResponderClientID, id.UserID)
	require.Equal(t, f.Demo.Subscription, id.Account)
}

func TestDescribeInstance(t *testing.T) {
	f := newFixture(t)
	inst, err := f.P.DescribeInstance(f.ctx, strings.ToUpper(f.vm[:20])+f.vm[20:])
	require.NoError(t, err)
	require.Empty(t, inst.Warnings)
	require.Equal(t, f.vm, inst.ID)
	require.Equal(t, "running", inst.State)
	require.Equal(t, "Standard_D4s_v5", inst.Type)
	require.Equal(t, "prod", inst.Tags["env"])
	require.Len(t, inst.NICs, 1)
	require.Equal(t, []string{f.Demo.NSG}, inst.NICs[0].Groups)
	require.NotEmpty(t, inst.PrivateIP)
	require.NotEmpty(t, inst.PublicIP)
	require.Equal(t, f.Demo.Subnet, inst.Subnet)
	require.Equal(t, f.Demo.VNet, inst.VPC)
	require.Len(t, inst.Disks, 2)
	require.True(t, inst.Disks[0].DeleteOnTermination, "scale-set VM disks are deleted with the VM by default")
	require.NotNil(t, inst.Identity)
	require.Equal(t, f.Demo.Identities[0], inst.Identity.RoleName)
	require.Equal(t, f.Demo.ScaleSet, inst.ScalingGroup)
	require.False(t, inst.ScaleInProtected)
	require.False(t, inst.TerminationProtected)

	_, err = f.P.DescribeInstance(f.ctx, rg+"/no-such-vm")
	require.ErrorIs(t, err, providers.ErrNotFound)
	require.Equal(t, "ResourceNotFound", providers.Code(err))
}

func TestSnapshotsCompleteAfterModelledTime(t *testing.T) {
	f := newFixture(t)
	ev, err := f.P.SnapshotDisks(f.ctx, f.vm, map[string]string{"case": "c-1"})
	require.NoError(t, err)
	require.Len(t, ev, 2)
	for _, e := range ev {
		require.Equal(t, "pending", e.State, "the snapshot copy takes modelled time")
		require.Equal(t, "c-1", e.Tags["case"])
		require.Contains(t, e.Source, "/providers/Microsoft.Compute/disks/")
		require.Equal(t, f.Demo.ResponderObjectID, e.CollectedBy)
	}
	start := f.Clock.Now()
	done, err := f.P.WaitForSnapshots(f.ctx, []string{ev[0].ID, ev[1].ID}, time.Hour)
	require.NoError(t, err)
	for _, e := range done {
		require.Equal(t, "completed", e.State)
	}
	took := f.Clock.Now().Sub(start)
	require.Greater(t, took, time.Minute)
	require.Less(t, took, 10*time.Minute)

	// A repeated PUT of an existing snapshot is answered 200, not 201.
	snaps, err := armcompute.NewSnapshotsClient(f.Demo.Subscription, f.Admin(t), f.ClientOptions())
	require.NoError(t, err)
	name := ev[0].ID[strings.LastIndex(ev[0].ID, "/")+1:]
	poller, err := snaps.BeginCreateOrUpdate(f.ctx, rg, name, armcompute.Snapshot{Location: to.Ptr(f.Demo.Location),
		Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy),
			SourceResourceID: to.Ptr(ev[0].Source)}}}, nil)
	require.NoError(t, err)
	require.True(t, poller.Done(), "200 with a terminal body needs no polling")
}

// scaleIn removes every unprotected VM of the demo scale set but one.
func (f *fixture) scaleIn(t *testing.T, capacity int) {
	t.Helper()
	f.World.Lock()
	require.NoError(t, azureworld.Of(f.World).ScheduleScaleIn(f.Demo.ScaleSet, f.Clock.Now().Add(time.Minute), capacity))
	f.World.Unlock()
	f.Clock.Advance(2 * time.Minute)
	f.World.Advance(f.Clock.Now())
}

func TestScaleInDeletesUnprotectedVMsAndTheirDisks(t *testing.T) {
	f := newFixture(t)
	before, err := f.P.DescribeInstance(f.ctx, f.Demo.VMs[2])
	require.NoError(t, err)
	res, err := f.P.ProtectFromScaling(f.ctx, f.Demo.VMs[2], providers.ScalingOptions{})
	require.NoError(t, err)
	require.Equal(t, f.Demo.ScaleSet, res.Group)
	require.False(t, res.WasProtected)
	require.Equal(t, "ProtectedFromScaleIn", res.LifecycleState)

	f.scaleIn(t, 1)
	// Default scale-in policy deletes the highest instance ids first; the
	// protected _2 survives, _1 goes, and capacity 1 is then reached.
	_, err = f.P.DescribeInstance(f.ctx, f.Demo.VMs[1])
	require.ErrorIs(t, err, providers.ErrNotFound)
	after, err := f.P.DescribeInstance(f.ctx, f.Demo.VMs[2])
	require.NoError(t, err)
	require.True(t, after.ScaleInProtected)
	_, err = f.P.DescribeInstance(f.ctx, f.Demo.VMs[0])
	require.ErrorIs(t, err, providers.ErrNotFound, "unprotected VMs beyond capacity are deleted")
	// The deleted VM's disks are gone with it: that evidence is lost.
	_, err = f.P.SnapshotDisks(f.ctx, f.Demo.VMs[1], nil)
	require.ErrorIs(t, err, providers.ErrNotFound)
	require.Len(t, before.Disks, 2)
}

func TestProtectFromTerminationKeepsVMAndDisksThroughScaleIn(t *testing.T) {
	f := newFixture(t)
	prot, err := f.P.ProtectFromTermination(f.ctx, f.Demo.VMs[1])
	require.NoError(t, err)
	require.Len(t, prot.PreviousDeleteOnTermination, 2)
	inst, err := f.P.DescribeInstance(f.ctx, f.Demo.VMs[1])
	require.NoError(t, err)
	require.True(t, inst.TerminationProtected)
	for _, d := range inst.Disks {
		require.False(t, d.DeleteOnTermination)
	}
	f.scaleIn(t, 1)
	// The lock makes autoscale's delete of _1 fail (ScopeLocked); _2 and _0
	// are deleted instead.
	_, err = f.P.DescribeInstance(f.ctx, f.Demo.VMs[1])
	require.NoError(t, err)
	_, err = f.P.DescribeInstance(f.ctx, f.Demo.VMs[2])
	require.ErrorIs(t, err, providers.ErrNotFound)
	f.Clock.Advance(2 * time.Minute)
	evs, err := f.P.QueryAudit(f.ctx, providers.AuditQuery{Operation: "Microsoft.Compute/virtualMachineScaleSets/delete/action", Resource: f.Demo.ScaleSet})
	require.NoError(t, err)
	require.Len(t, evs, 3, "three deletes were attempted")
	var locked []string
	for _, e := range evs {
		require.Equal(t, "Microsoft.Insights/autoscaleSettings/"+demo.AzureDemoScaleSet+"-autoscale", e.Principal)
		if e.ErrorCode != "" {
			locked = append(locked, e.ErrorCode)
			require.Contains(t, e.Raw, `"instanceIds":"1"`)
		}
	}
	require.Equal(t, []string{"ScopeLocked"}, locked)
}

func TestIsolateWithFlushCutsEstablishedFlows(t *testing.T) {
	f := newFixture(t)
	fl := f.openPoolFlow(t, f.vm)
	res, err := f.P.IsolateInstance(f.ctx, f.vm, providers.IsolateOptions{AllowCIDRs: []string{"198.51.100.0/24"}, CaseID: "c-1", DetachPublicIPs: true})
	require.NoError(t, err)
	require.False(t, f.flowActive(fl), "flushConnection re-evaluates established flows against the quarantine rules")
	require.Len(t, res.NICs, 1)
	require.Equal(t, []string{f.Demo.NSG}, res.NICs[0].PreviousGroups)
	require.Len(t, res.DetachedAddresses, 1)
	inst, err := f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	require.Equal(t, []string{res.ForensicGroup}, inst.NICs[0].Groups)
	require.Empty(t, inst.PublicIP)
	f.World.Lock()
	_, err = azureworld.Of(f.World).OpenFlow(f.vm, world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 3333})
	f.World.Unlock()
	require.Error(t, err, "new flows are denied")
	// Idempotent on resume.
	again, err := f.P.IsolateInstance(f.ctx, f.vm, providers.IsolateOptions{AllowCIDRs: []string{"198.51.100.0/24"}})
	require.NoError(t, err)
	require.Equal(t, res.ForensicGroup, again.ForensicGroup)
}

// TestNaiveNSGSwapLeavesFlowsUp is the naive responder: a deny-all NSG
// without flushConnection, swapped onto the NIC, leaves the miner's
// established connection up; so does a deny rule added to the NIC's NSG.
func TestNaiveNSGSwapLeavesFlowsUp(t *testing.T) {
	f := newFixture(t)
	fl := f.openPoolFlow(t, f.vm)
	nsgs, err := armnetwork.NewSecurityGroupsClient(f.Demo.Subscription, f.Admin(t), f.ClientOptions())
	require.NoError(t, err)
	deny := func(dir armnetwork.SecurityRuleDirection) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{Name: to.Ptr("Deny" + string(dir)), Properties: &armnetwork.SecurityRulePropertiesFormat{
			Priority: to.Ptr[int32](100), Direction: to.Ptr(dir), Access: to.Ptr(armnetwork.SecurityRuleAccessDeny),
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk), SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
			DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("*")}}
	}
	np, err := nsgs.BeginCreateOrUpdate(f.ctx, rg, "naive-quarantine", armnetwork.SecurityGroup{Location: to.Ptr(f.Demo.Location),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			deny(armnetwork.SecurityRuleDirectionInbound), deny(armnetwork.SecurityRuleDirectionOutbound)}}}, nil)
	require.NoError(t, err)
	q, err := np.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)
	nics, err := armnetwork.NewInterfacesClient(f.Demo.Subscription, f.Admin(t), f.ClientOptions())
	require.NoError(t, err)
	name := "web-vmss_0-nic"
	got, err := nics.Get(f.ctx, rg, name, nil)
	require.NoError(t, err)
	got.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: q.ID}
	ip, err := nics.BeginCreateOrUpdate(f.ctx, rg, name, got.Interface, nil)
	require.NoError(t, err)
	_, err = ip.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)
	require.True(t, f.flowActive(fl), "an NSG swap does not cut established flows without flushConnection")

	// Turning flushConnection on ("initial enablement triggers re-evaluation")
	// cuts it.
	q.Properties.FlushConnection = to.Ptr(true)
	np, err = nsgs.BeginCreateOrUpdate(f.ctx, rg, "naive-quarantine", q.SecurityGroup, nil)
	require.NoError(t, err)
	_, err = np.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)
	require.False(t, f.flowActive(fl))
}

// TestDetachIdentityDeniesStolenTokens: removing the identity and its role
// assignments denies a token stolen from IMDS, once the deletion has
// propagated. Under the documented propagation (opted into here) a probe
// made at once still succeeds: "fix, then verify immediately" is a trap.
func TestDetachIdentityDeniesStolenTokens(t *testing.T) {
	f := newFixture(t)
	f.World.Lock()
	k := f.World.KnobsLocked()
	k.AzureRBACPropagation = world.AzureRBACDocumented
	require.NoError(t, f.World.SetKnobsLocked(k))
	f.World.Unlock()
	stolen := f.IMDSToken(t, f.vm)
	vms, err := armcompute.NewVirtualMachinesClient(f.Demo.Subscription, stolen, f.ClientOptions())
	require.NoError(t, err)
	_, err = vms.Get(f.ctx, rg, "web-vmss_1", nil)
	require.NoError(t, err, "the identity holds Contributor on the resource group")

	det, err := f.P.DetachInstanceIdentity(f.ctx, f.vm, providers.DetachRemove, "")
	require.NoError(t, err)
	require.Equal(t, "SystemAssigned", det.PreviousProfileARN)
	require.Equal(t, []string{f.Demo.Identities[0]}, det.Roles)

	// Fix, then verify immediately: Azure Resource Manager still honours
	// the cached assignments, so the stolen token still works.
	_, err = vms.Get(f.ctx, rg, "web-vmss_1", nil)
	require.NoError(t, err, "probed at once, the deleted assignments still authorize")
	f.Propagate()
	_, err = vms.Get(f.ctx, rg, "web-vmss_1", nil)
	var re *azcore.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "AuthorizationFailed", re.ErrorCode)
	inst, err := f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	require.Nil(t, inst.Identity)
	ras, err := f.P.RoleAssignments(f.ctx, f.Demo.Identities[0])
	require.NoError(t, err)
	require.Empty(t, ras)
	// Idempotent: a second call finds no identity.
	det, err = f.P.DetachInstanceIdentity(f.ctx, f.vm, providers.DetachRemove, "")
	require.NoError(t, err)
	require.Empty(t, det.PreviousProfileARN)
	_, err = f.P.DetachInstanceIdentity(f.ctx, f.vm, providers.DetachReplace, "x")
	require.ErrorIs(t, err, providers.ErrUnsupported)
}

// TestNaiveIdentityRemovalLeavesStolenTokensValid is the naive responder:
// removing the identity from the VM leaves tokens already taken from IMDS
// working for as long as the identity's role assignments exist; removing
// the assignments (RevokeRoleSessions) denies them once the deletion has
// propagated.
func TestNaiveIdentityRemovalLeavesStolenTokensValid(t *testing.T) {
	f := newFixture(t)
	stolen := f.IMDSToken(t, f.vm)
	admin, err := armcompute.NewVirtualMachinesClient(f.Demo.Subscription, f.Admin(t), f.ClientOptions())
	require.NoError(t, err)
	p, err := admin.BeginUpdate(f.ctx, rg, "web-vmss_0", armcompute.VirtualMachineUpdate{
		Identity: &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeNone)}}, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)

	vms, err := armcompute.NewVirtualMachinesClient(f.Demo.Subscription, stolen, f.ClientOptions())
	require.NoError(t, err)
	f.Clock.Advance(6 * time.Hour)
	dp, err := vms.BeginPowerOff(f.ctx, rg, "web-vmss_1", nil)
	require.NoError(t, err, "the stolen token outlives the identity")
	_, err = dp.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)

	rev, err := f.P.RemoveGrants(f.ctx, f.Demo.Identities[0])
	require.NoError(t, err)
	require.Equal(t, providers.RevokeRemoveGrants, rev.Method)
	require.Equal(t, 2, rev.Grants)
	require.Equal(t, 10*time.Minute, rev.Propagation, "Azure: role assignment changes can take up to 10 minutes")
	again, err := f.P.RemoveGrants(f.ctx, f.Demo.Identities[0])
	require.NoError(t, err)
	require.Zero(t, again.Grants)
	require.Zero(t, again.Propagation, "nothing deleted, nothing to wait for")
	f.Propagate()
	_, err = vms.Get(f.ctx, rg, "web-vmss_2", nil)
	require.Error(t, err)
	require.True(t, errors.Is(err, err))
	var re *azcore.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 403, re.StatusCode)

	f.Clock.Advance(19 * time.Hour)
	_, err = vms.Get(f.ctx, rg, "web-vmss_2", nil)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "ExpiredAuthenticationToken", re.ErrorCode, "managed identity tokens live 24 hours")
}

func TestRunCommandAndMemoryCaptureNeedEgressAndIdentity(t *testing.T) {
	f := newFixture(t)
	ok, err := f.P.AgentAvailable(f.ctx, f.vm)
	require.NoError(t, err)
	require.True(t, ok)
	res, err := f.P.RunCommand(f.ctx, f.vm, []string{"ps aux", "hostname"}, providers.CommandOptions{})
	require.NoError(t, err)
	require.Contains(t, res.Stdout, "/opt/app/bin/server")
	require.Equal(t, "Succeeded", res.Status)

	ev, err := f.P.CaptureMemory(f.ctx, f.vm, demo.AzureDemoStorageAccount+"/"+demo.AzureDemoContainer, providers.MemoryOptions{CaseID: "c-1"})
	require.NoError(t, err)
	require.Equal(t, providers.EvidenceMemory, ev.Kind)
	require.Len(t, ev.SHA256, 64)
	require.Greater(t, ev.Size, int64(4096))
	info, err := f.P.HashObject(f.ctx, demo.AzureDemoStorageAccount+"/"+demo.AzureDemoContainer, ev.ID)
	require.NoError(t, err)
	require.Equal(t, ev.SHA256, info.SHA256)

	// After the identity is gone, the upload cannot authenticate.
	_, err = f.P.DetachInstanceIdentity(f.ctx, f.Demo.VMs[1], providers.DetachRemove, "")
	require.NoError(t, err)
	_, err = f.P.CaptureMemory(f.ctx, f.Demo.VMs[1], demo.AzureDemoStorageAccount+"/"+demo.AzureDemoContainer, providers.MemoryOptions{})
	require.ErrorIs(t, err, providers.ErrFailed)

	// After isolation Run Command cannot reach the VM agent.
	_, err = f.P.IsolateInstance(f.ctx, f.vm, providers.IsolateOptions{})
	require.NoError(t, err)
	ok, err = f.P.AgentAvailable(f.ctx, f.vm)
	require.NoError(t, err)
	require.False(t, ok)
	start := f.Clock.Now()
	_, err = f.P.RunCommand(f.ctx, f.vm, []string{"ps aux"}, providers.CommandOptions{})
	require.ErrorIs(t, err, providers.ErrFailed)
	require.Equal(t, "VMAgentStatusCommunicationError", providers.Code(err))
	require.GreaterOrEqual(t, f.Clock.Now().Sub(start), 15*time.Minute)
}

func TestStopTagAndAudit(t *testing.T) {
	f := newFixture(t)
	fl := f.openPoolFlow(t, f.vm)
	require.NoError(t, f.P.Tag(f.ctx, []string{f.vm, f.Demo.NSG}, map[string]string{"firedrill-case": "c-9"}))
	inst, err := f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	require.Equal(t, "c-9", inst.Tags["firedrill-case"])
	require.Equal(t, "prod", inst.Tags["env"], "Merge keeps existing tags")

	err = f.P.StopInstance(f.ctx, f.vm, providers.StopOptions{Hibernate: true})
	require.ErrorIs(t, err, providers.ErrConflict, "hibernation is not enabled on the demo VMs")
	require.NoError(t, f.P.StopInstance(f.ctx, f.vm, providers.StopOptions{}))
	require.False(t, f.flowActive(fl), "powering off ends the guest's connections")
	f.Clock.Advance(2 * time.Minute)
	inst, err = f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	require.Equal(t, "stopped", inst.State)

	evs, err := f.P.QueryAudit(f.ctx, providers.AuditQuery{Resource: f.vm, Start: azuresimtest.Start})
	require.NoError(t, err)
	var ops []string
	for _, e := range evs {
		ops = append(ops, e.Operation)
		require.Equal(t, f.Demo.ResponderObjectID, e.Principal)
	}
	require.Contains(t, ops, "Microsoft.Resources/tags/write")
	require.Contains(t, ops, "Microsoft.Compute/virtualMachines/powerOff/action")
	require.NotContains(t, ops, "Microsoft.Compute/virtualMachines/read", "the Activity Log has no reads")
	var failed int
	for _, e := range evs {
		if e.ErrorCode != "" {
			failed++
			require.Equal(t, "OperationNotAllowed", e.ErrorCode)
		}
	}
	require.Equal(t, 1, failed, "the refused hibernate is logged with its error code")
}

func TestActivityLogDeliveryLag(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.P.Tag(f.ctx, []string{f.vm}, map[string]string{"x": "y"}))
	evs, err := f.P.QueryAudit(f.ctx, providers.AuditQuery{Resource: f.vm, Start: f.Clock.Now().Add(-time.Minute)})
	require.NoError(t, err)
	require.Empty(t, evs, "the Activity Log lags the call")
	f.Clock.Advance(time.Minute)
	evs, err = f.P.QueryAudit(f.ctx, providers.AuditQuery{Resource: f.vm, Start: f.Clock.Now().Add(-2 * time.Minute)})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.NotEmpty(t, evs[0].AccessKeyID, "the token id (uti) identifies the session")
}

func TestDefenderAlerts(t *testing.T) {
	f := newFixture(t)
	f.World.AddObserver(detect.NewDefender(detect.DefenderConfig{}))
	f.openPoolFlow(t, f.vm)
	got, err := f.P.ListFindings(f.ctx, time.Time{})
	require.NoError(t, err)
	require.Empty(t, got, "alerts take time")
	// A token stolen from IMDS used from the internet.
	stolen := f.IMDSToken(t, f.Demo.VMs[1])
	opts := f.ClientOptions()
	opts.PerCallPolicies = append(opts.PerCallPolicies, sourceIP("203.0.113.50"))
	vms, err := armcompute.NewVirtualMachinesClient(f.Demo.Subscription, stolen, opts)
	require.NoError(t, err)
	_, err = vms.Get(f.ctx, rg, "web-vmss_2", nil)
	require.NoError(t, err)

	f.Clock.Advance(2 * time.Hour)
	got, err = f.P.ListFindings(f.ctx, time.Time{})
	require.NoError(t, err)
	types := map[string]providers.Finding{}
	for _, a := range got {
		types[a.Type] = a
	}
	require.Contains(t, types, detect.DefenderMiningBehavior)
	require.Equal(t, f.vm, types[detect.DefenderMiningBehavior].ResourceID)
	require.Equal(t, 8.0, types[detect.DefenderMiningBehavior].Severity)
	require.Contains(t, types, detect.DefenderSuspectDomain)
	require.Contains(t, types, detect.DefenderMITokenOutsideAzure)
	require.NotEmpty(t, types[detect.DefenderMITokenOutsideAzure].AccessKeyID)
}

func TestMonitoringEvaluatesMetricAlerts(t *testing.T) {
	f := newFixture(t)
	f.World.Lock()
	f.World.SetCPULocked(f.World.Instances.Lookup(f.vm), f.Clock.Now(), 99)
	f.World.Unlock()
	f.Clock.Advance(30 * time.Minute)
	alarms, err := f.P.Alarms(f.ctx)
	require.NoError(t, err)
	require.Len(t, alarms, 3)
	states := map[string]string{}
	for _, a := range alarms {
		states[a.Resource.ID] = a.State
		require.Equal(t, "Percentage CPU", a.Metric)
		require.Equal(t, 10*time.Minute, a.For)
	}
	require.Equal(t, providers.AlarmStateAlarm, states[f.vm])
	require.Equal(t, providers.AlarmStateOK, states[f.Demo.VMs[1]])
}

func TestStoragePutAndHash(t *testing.T) {
	f := newFixture(t)
	bucket := demo.AzureDemoStorageAccount + "/" + demo.AzureDemoContainer
	ev, err := f.P.PutEvidenceObject(f.ctx, bucket, "cases/c-1/notes.txt", []byte("evidence"), map[string]string{"firedrill:case": "c-1"})
	require.NoError(t, err)
	info, err := f.P.HashObject(f.ctx, bucket, "cases/c-1/notes.txt")
	require.NoError(t, err)
	require.Equal(t, ev.SHA256, info.SHA256)
	require.EqualValues(t, 8, info.Size)
	_, err = f.P.HashObject(f.ctx, bucket, "missing")
	require.ErrorIs(t, err, providers.ErrNotFound)
	_, err = f.P.HashObject(f.ctx, "nobucket", "missing")
	require.ErrorIs(t, err, providers.ErrInvalid)
}

func TestThrottlingIsRetriedOnTheSleeper(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Cloud: "azure", Operation: "Microsoft.Compute/virtualMachines/read", Kind: fault.Throttle, Times: 2}))
	f := newFixture(t, withFaults(faults))
	start := f.Clock.Now()
	_, err := f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, f.Clock.Now().Sub(start), "retry-after-ms waited on the provider's clock")

	require.NoError(t, faults.Add(fault.Rule{Cloud: "azure", Operation: "Microsoft.Compute/virtualMachines/read", Kind: fault.Throttle}))
	_, err = f.P.DescribeInstance(f.ctx, f.vm)
	require.ErrorIs(t, err, providers.ErrThrottled)
}

func TestTokensRefreshOnTheProviderClock(t *testing.T) {
	f := newFixture(t)
	_, err := f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err)
	f.Clock.Advance(3 * time.Hour) // well past the 1 h client-credential token
	_, err = f.P.DescribeInstance(f.ctx, f.vm)
	require.NoError(t, err, "the provider refreshes tokens by its own clock, not MSAL's wall clock")
}

// sourceIP places the caller on the internet (the drill runner's header).
type sourceIP string

func (s sourceIP) Do(req *policy.Request) (*http.Response, error) {
	req.Raw().Header.Set("X-Firedrill-Source-Ip", string(s))
	return req.Next()
}
