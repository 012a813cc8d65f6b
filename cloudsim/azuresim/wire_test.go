package azuresim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

const rg = demo.AzureDemoResourceGroup

var ctx = context.Background()

// counter counts requests by method and path through a client.
type counter struct{ n atomic.Int64 }

func (c *counter) Do(req *policy.Request) (*http.Response, error) {
	c.n.Add(1)
	return req.Next()
}

func optsWith(e *azuresimtest.Env, p ...policy.Policy) *arm.ClientOptions {
	o := e.ClientOptions()
	o.PerRetryPolicies = append(o.PerRetryPolicies, p...)
	return o
}

func respErr(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	require.ErrorAs(t, err, &re)
	return re
}

func TestVMGetInstanceViewAndCaseInsensitivePaths(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	vms, err := armcompute.NewVirtualMachinesClient(strings.ToUpper(e.Demo.Subscription), e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	got, err := vms.Get(ctx, strings.ToUpper(rg), "WEB-VMSS_0", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	require.NoError(t, err)
	require.Equal(t, e.Demo.VMs[0], *got.ID, "ids keep Azure's canonical case")
	require.Equal(t, "PowerState/running", *got.Properties.InstanceView.Statuses[1].Code)
	require.Equal(t, "Ready", *got.Properties.InstanceView.VMAgent.Statuses[0].DisplayStatus)
	require.Equal(t, armcompute.ResourceIdentityTypeSystemAssigned, *got.Identity.Type)
	require.Equal(t, e.Demo.ScaleSet, *got.Properties.VirtualMachineScaleSet.ID)
	require.Equal(t, armcompute.DiskDeleteOptionTypesDelete, *got.Properties.StorageProfile.OSDisk.DeleteOption)
	iv, err := vms.InstanceView(ctx, rg, "web-vmss_0", nil)
	require.NoError(t, err)
	require.Equal(t, "ubuntu", *iv.OSName)

	_, err = vms.Get(ctx, rg, "nope", nil)
	re := respErr(t, err)
	require.Equal(t, 404, re.StatusCode)
	require.Equal(t, "ResourceNotFound", re.ErrorCode)
	other, err := armcompute.NewVirtualMachinesClient("00000000-0000-0000-0000-000000000000", e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	_, err = other.Get(ctx, rg, "web-vmss_0", nil)
	require.Equal(t, "SubscriptionNotFound", respErr(t, err).ErrorCode)
	_, err = vms.Get(ctx, "no-rg", "web-vmss_0", nil)
	require.Equal(t, "ResourceGroupNotFound", respErr(t, err).ErrorCode)
}

func TestMissingAPIVersionAndAuthentication(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	do := func(req *http.Request) (*http.Response, string) {
		resp, err := e.HTTPClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL+e.Demo.VMs[0], nil)
	resp, body := do(req)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "MissingApiVersionParameter", resp.Header.Get("x-ms-error-code"))
	require.Contains(t, body, `"code":"MissingApiVersionParameter"`)

	req, _ = http.NewRequest(http.MethodGet, e.URL+e.Demo.VMs[0]+"?api-version=1999-01-01", nil)
	resp, _ = do(req)
	require.Equal(t, 401, resp.StatusCode)
	require.Equal(t, "AuthenticationFailed", resp.Header.Get("x-ms-error-code"))

	req, _ = http.NewRequest(http.MethodGet, e.URL+e.Demo.VMs[0]+"?api-version=1999-01-01", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJ1dGkiOiJmb3JnZWQifQ.")
	resp, _ = do(req)
	require.Equal(t, 401, resp.StatusCode)
	require.Equal(t, "InvalidAuthenticationToken", resp.Header.Get("x-ms-error-code"), "forged tokens are rejected")

	// Entra ID refuses a wrong secret with AADSTS7000215.
	bad := e.Credential(t, e.Demo.ResponderClientID, "wrong")
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, bad, e.ClientOptions())
	require.NoError(t, err)
	_, err = vms.Get(ctx, rg, "web-vmss_0", nil)
	var af *azidentity.AuthenticationFailedError
	require.ErrorAs(t, err, &af)
	require.Contains(t, err.Error(), "AADSTS7000215")
}

func TestAuthorizationFailureIsAuditedWithItsCode(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	e.World.Lock()
	reader := azureworld.Of(e.World).AddApp("reader")
	_, err := azureworld.Of(e.World).AssignRole("/subscriptions/"+e.Demo.Subscription, azureworld.RoleReader, reader.ObjectID, "test")
	e.World.Unlock()
	require.NoError(t, err)
	cred := e.Credential(t, reader.AppID, reader.Secret)
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, cred, e.ClientOptions())
	require.NoError(t, err)
	_, err = vms.Get(ctx, rg, "web-vmss_0", nil)
	require.NoError(t, err)
	_, err = vms.BeginDeallocate(ctx, rg, "web-vmss_0", nil)
	re := respErr(t, err)
	require.Equal(t, 403, re.StatusCode)
	require.Equal(t, "AuthorizationFailed", re.ErrorCode)

	e.Clock.Advance(2 * time.Minute)
	logs, err := armmonitor.NewActivityLogsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	pg := logs.NewListPager(fmt.Sprintf("eventTimestamp ge '%s' and caller eq '%s'", azuresimtest.Start.Format(time.RFC3339), reader.ObjectID), nil)
	var evs []*armmonitor.EventData
	for pg.More() {
		page, err := pg.NextPage(ctx)
		require.NoError(t, err)
		evs = append(evs, page.Value...)
	}
	require.Len(t, evs, 1, "only the write is in the Activity Log")
	require.Equal(t, "Microsoft.Compute/virtualMachines/deallocate/action", *evs[0].OperationName.Value)
	require.Equal(t, "Failed", *evs[0].Status.Value)
	require.Equal(t, "Forbidden", *evs[0].SubStatus.Value)
	require.Contains(t, *evs[0].Properties["statusMessage"], "AuthorizationFailed")
}

func TestActivityLogFilterPagingAndLag(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	logs, err := armmonitor.NewActivityLogsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	_, err = logs.NewListPager("resourceUri eq 'x'", nil).NextPage(ctx)
	require.Equal(t, "BadRequest", respErr(t, err).ErrorCode, "eventTimestamp is mandatory")

	old := azuresim.ActivityLogPageSize
	azuresim.ActivityLogPageSize = 3
	t.Cleanup(func() { azuresim.ActivityLogPageSize = old })
	pages, total := 0, 0
	pg := logs.NewListPager(fmt.Sprintf("eventTimestamp ge '%s'", azuresimtest.Start.Add(-48*time.Hour).Format(time.RFC3339)), nil)
	var last time.Time
	for pg.More() {
		page, err := pg.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, ev := range page.Value {
			total++
			if !last.IsZero() {
				require.False(t, ev.EventTimestamp.After(last), "newest first")
			}
			last = *ev.EventTimestamp
		}
	}
	require.Equal(t, 7, total, "the seeded day of history")
	require.Equal(t, 3, pages)

	tags, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	p, err := tags.BeginUpdate(ctx, rg, "web-vmss_0", armcompute.VirtualMachineUpdate{Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, nil)
	require.NoError(t, err)
	filter := fmt.Sprintf("eventTimestamp ge '%s' and resourceUri eq '%s'", azuresimtest.Start.Format(time.RFC3339), strings.ToLower(e.Demo.VMs[0]))
	page, err := logs.NewListPager(filter, nil).NextPage(ctx)
	require.NoError(t, err)
	require.Empty(t, page.Value, "not delivered yet")
	e.Clock.Advance(90 * time.Second)
	page, err = logs.NewListPager(filter, nil).NextPage(ctx)
	require.NoError(t, err)
	require.Len(t, page.Value, 1)
	require.Equal(t, "Microsoft.Compute/virtualMachines/write", *page.Value[0].OperationName.Value)
	require.Equal(t, e.Demo.AdminObjectID, *page.Value[0].Caller)
}

func TestLROsAreTerminalOnFirstPoll(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	c := &counter{}
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), optsWith(e, c))
	require.NoError(t, err)
	start := time.Now()
	p, err := vms.BeginDeallocate(ctx, rg, "web-vmss_1", nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 30 * time.Second})
	require.NoError(t, err)
	require.EqualValues(t, 3, c.n.Load(), "POST, one status poll, final GET of Location")
	require.Less(t, time.Since(start), 5*time.Second, "no poller sleep")

	got, err := vms.Get(ctx, rg, "web-vmss_1", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	require.NoError(t, err)
	require.Equal(t, "PowerState/deallocating", *got.Properties.InstanceView.Statuses[1].Code, "the VM settles after modelled time")
	e.Clock.Advance(3 * time.Minute)
	got, err = vms.Get(ctx, rg, "web-vmss_1", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	require.NoError(t, err)
	require.Equal(t, "PowerState/deallocated", *got.Properties.InstanceView.Statuses[1].Code)

	// A new snapshot is 202 + Azure-AsyncOperation: PUT, poll, final GET.
	c.n.Store(0)
	snaps, err := armcompute.NewSnapshotsClient(e.Demo.Subscription, e.Admin(t), optsWith(e, c))
	require.NoError(t, err)
	osDisk := *got.Properties.StorageProfile.OSDisk.ManagedDisk.ID
	sp, err := snaps.BeginCreateOrUpdate(ctx, rg, "snap-1", armcompute.Snapshot{Location: to.Ptr("eastus"),
		Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: &osDisk}}}, nil)
	require.NoError(t, err)
	require.False(t, sp.Done())
	snap, err := sp.PollUntilDone(ctx, nil)
	require.NoError(t, err)
	require.EqualValues(t, 3, c.n.Load())
	require.Equal(t, "Succeeded", *snap.Properties.ProvisioningState)
	require.Less(t, *snap.Properties.CompletionPercent, float32(100), "the copy completes after modelled time")

	disks, err := armcompute.NewDisksClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	d, err := disks.Get(ctx, rg, osDisk[strings.LastIndex(osDisk, "/")+1:], nil)
	require.NoError(t, err)
	require.Equal(t, armcompute.DiskStateAttached, *d.Properties.DiskState)
	require.Equal(t, e.Demo.VMs[1], *d.ManagedBy)
	require.EqualValues(t, 30, *d.Properties.DiskSizeGB)
}

func TestScaleSetVMProtection(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	c, err := armcompute.NewVirtualMachineScaleSetVMsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	got, err := c.Get(ctx, rg, demo.AzureDemoScaleSet, "0", nil)
	require.NoError(t, err)
	require.False(t, *got.Properties.ProtectionPolicy.ProtectFromScaleIn)
	require.Equal(t, "0", *got.InstanceID)
	got.Properties.ProtectionPolicy.ProtectFromScaleIn = to.Ptr(true)
	p, err := c.BeginUpdate(ctx, rg, demo.AzureDemoScaleSet, "0", got.VirtualMachineScaleSetVM, nil)
	require.NoError(t, err)
	upd, err := p.PollUntilDone(ctx, nil)
	require.NoError(t, err)
	require.True(t, *upd.Properties.ProtectionPolicy.ProtectFromScaleIn)

	e.World.Lock()
	require.NoError(t, azureworld.Of(e.World).ScheduleScaleIn(e.Demo.ScaleSet, e.Clock.Now().Add(time.Minute), 0))
	e.World.Unlock()
	e.Clock.Advance(30 * time.Minute)
	_, err = c.Get(ctx, rg, demo.AzureDemoScaleSet, "0", nil)
	require.NoError(t, err, "protected from scale-in")
	_, err = c.Get(ctx, rg, demo.AzureDemoScaleSet, "1", nil)
	require.Equal(t, 404, respErr(t, err).StatusCode)
	e.World.Lock()
	defer e.World.Unlock()
	for _, vm := range e.Demo.VMs[1:] {
		v := azureworld.Of(e.World).VM(vm)
		_, disk := azureworld.Of(e.World).Disk(v.OSDisk)
		require.Nil(t, disk, "the OS disk is deleted with the VM")
	}
}

func TestNSGRulesPriorityAndFlush(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	nsgs, err := armnetwork.NewSecurityGroupsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	got, err := nsgs.Get(ctx, rg, "web-nsg", nil)
	require.NoError(t, err)
	require.False(t, *got.Properties.FlushConnection)
	require.Len(t, got.Properties.SecurityRules, 2)
	require.Len(t, got.Properties.DefaultSecurityRules, 6)
	require.Len(t, got.Properties.NetworkInterfaces, 3)

	e.World.Lock()
	fl, err := azureworld.Of(e.World).OpenFlow(e.Demo.VMs[0], world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 3333})
	e.World.Unlock()
	require.NoError(t, err)
	rule := func(name string, prio int32, access armnetwork.SecurityRuleAccess) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
			Priority: to.Ptr(prio), Direction: to.Ptr(armnetwork.SecurityRuleDirectionOutbound), Access: to.Ptr(access),
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
			DestinationAddressPrefix: to.Ptr("45.9.148.0/24"), DestinationPortRange: to.Ptr("3333")}}
	}
	// A deny at 300 under an allow at 200: the allow wins by priority.
	got.Properties.SecurityRules = append(got.Properties.SecurityRules, rule("AllowPool", 200, armnetwork.SecurityRuleAccessAllow), rule("DenyPool", 300, armnetwork.SecurityRuleAccessDeny))
	got.Properties.FlushConnection = to.Ptr(true)
	p, err := nsgs.BeginCreateOrUpdate(ctx, rg, "web-nsg", got.SecurityGroup, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, nil)
	require.NoError(t, err)
	e.World.Lock()
	require.True(t, fl.Active(), "the higher-priority allow keeps the flow")
	e.World.Unlock()
	got.Properties.SecurityRules = got.Properties.SecurityRules[:3]
	got.Properties.SecurityRules[2] = rule("DenyPool", 200, armnetwork.SecurityRuleAccessDeny)
	p, err = nsgs.BeginCreateOrUpdate(ctx, rg, "web-nsg", got.SecurityGroup, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, nil)
	require.NoError(t, err)
	e.World.Lock()
	require.False(t, fl.Active(), "with flushConnection, the new deny cuts the established flow")
	e.World.Unlock()

	// Duplicate priorities are refused.
	got.Properties.SecurityRules = append(got.Properties.SecurityRules, rule("Dup", 200, armnetwork.SecurityRuleAccessAllow))
	_, err = nsgs.BeginCreateOrUpdate(ctx, rg, "web-nsg", got.SecurityGroup, nil)
	require.Equal(t, 400, respErr(t, err).StatusCode)

	// Creating a new NSG answers 201.
	p, err = nsgs.BeginCreateOrUpdate(ctx, rg, "new-nsg", armnetwork.SecurityGroup{Location: to.Ptr("eastus")}, nil)
	require.NoError(t, err)
	require.True(t, p.Done())
}

func TestRoleAssignmentsAndLocks(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	ras, err := armauthorization.NewRoleAssignmentsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	list := func(scope, filter string) []*armauthorization.RoleAssignment {
		var o *armauthorization.RoleAssignmentsClientListForScopeOptions
		if filter != "" {
			o = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(filter)}
		}
		var out []*armauthorization.RoleAssignment
		pg := ras.NewListForScopePager(scope, o)
		for pg.More() {
			page, err := pg.NextPage(ctx)
			require.NoError(t, err)
			out = append(out, page.Value...)
		}
		return out
	}
	mi := e.Demo.Identities[0]
	mine := list("/subscriptions/"+e.Demo.Subscription, fmt.Sprintf("assignedTo('%s')", mi))
	require.Len(t, mine, 2, "Contributor on the group and blob access on the evidence container")
	atVM := list(e.Demo.VMs[0], "")
	require.Len(t, atVM, 6, "assignments above a scope apply to it: 2 at the subscription, 4 Contributors on the group")
	require.Len(t, list("/subscriptions/"+e.Demo.Subscription, "atScope()"), 2)
	_, err = ras.NewListForScopePager("/subscriptions/"+e.Demo.Subscription, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("roleName('x')")}).NextPage(ctx)
	require.Equal(t, "UnsupportedQuery", respErr(t, err).ErrorCode)

	del, err := ras.DeleteByID(ctx, *mine[0].ID, nil)
	require.NoError(t, err)
	require.Equal(t, mi, *del.Properties.PrincipalID)
	_, err = ras.DeleteByID(ctx, *mine[0].ID, nil)
	require.NoError(t, err, "deleting a missing assignment is 204")
	// (armauthorization sends $filter unencoded, so filters with spaces such
	// as "principalId eq '…'" never reach a Go HTTP server; assignedTo works.)
	require.Len(t, list("/subscriptions/"+e.Demo.Subscription, fmt.Sprintf("assignedTo('%s')", mi)), 1)

	// Locks through the generic ARM pipeline (no armlocks module).
	client, err := arm.NewClient("test", "v0.1.0", e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	put := func(scope string) int {
		req, err := runtime.NewRequest(ctx, http.MethodPut, runtime.JoinPaths(client.Endpoint(), scope+"/providers/Microsoft.Authorization/locks/keep"))
		require.NoError(t, err)
		req.Raw().URL.RawQuery = "api-version=2020-05-01"
		require.NoError(t, runtime.MarshalAsJSON(req, map[string]any{"properties": map[string]any{"level": "CanNotDelete"}}))
		resp, err := client.Pipeline().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 201, put(e.Demo.VMs[0]))
	require.Equal(t, 200, put(e.Demo.VMs[0]))
	require.Equal(t, 404, put(e.Demo.VMs[0]+"x"))
}

func TestRunCommandOutputIsTruncatedAndSerialised(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{}, azuresim.WithRunCommandTiming(azureworld.RunCommandTiming{
		Delivery: 20 * time.Second, Run: 2 * time.Second, MemoryPerGiB: time.Second, Retry: 30 * time.Second,
		AgentTimeout: 15 * time.Minute, MaxRuntime: 90 * time.Minute}))
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	long := make([]*string, 0, 400)
	for i := 0; i < 400; i++ {
		long = append(long, to.Ptr(fmt.Sprintf("echo line-%03d-%s", i, strings.Repeat("x", 20))))
	}
	p, err := vms.BeginRunCommand(ctx, rg, "web-vmss_0", armcompute.RunCommandInput{CommandID: to.Ptr("RunShellScript"), Script: long}, nil)
	require.NoError(t, err)
	_, err = vms.BeginRunCommand(ctx, rg, "web-vmss_0", armcompute.RunCommandInput{CommandID: to.Ptr("RunShellScript"), Script: long[:1]}, nil)
	require.Equal(t, 409, respErr(t, err).StatusCode, "one Run Command at a time")
	_, err = p.Poll(ctx)
	require.NoError(t, err)
	require.False(t, p.Done(), "the script has not run yet")
	e.Clock.Advance(time.Minute)
	_, err = p.Poll(ctx)
	require.NoError(t, err)
	require.True(t, p.Done())
	res, err := p.Result(ctx)
	require.NoError(t, err)
	msg := *res.Value[0].Message
	out := msg[strings.Index(msg, "[stdout]\n")+9 : strings.Index(msg, "\n[stderr]\n")]
	require.Len(t, out, azureworld.RunCommandOutputLimit, "the last 4096 bytes")
	require.True(t, strings.HasSuffix(out, "line-399-"+strings.Repeat("x", 20)+"\n"))
}

func TestThrottlingEnvelopeIsRetriedByTheSDK(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Cloud: "azure", Service: "Microsoft.Compute", Kind: fault.Throttle, Times: 1}))
	e := azuresimtest.New(t, demo.AzureOptions{}, azuresim.WithFaults(faults))
	c := &counter{}
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), optsWith(e, c))
	require.NoError(t, err)
	_, err = vms.Get(ctx, rg, "web-vmss_0", nil)
	require.NoError(t, err)
	require.EqualValues(t, 2, c.n.Load(), "429 with retry-after-ms is retried")

	require.NoError(t, faults.Add(fault.Rule{Cloud: "azure", Kind: fault.Throttle, Times: 1}))
	o := optsWith(e)
	o.Retry = policy.RetryOptions{MaxRetries: -1}
	vms, err = armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), o)
	require.NoError(t, err)
	_, err = vms.Get(ctx, rg, "web-vmss_0", nil)
	re := respErr(t, err)
	require.Equal(t, 429, re.StatusCode)
	require.Equal(t, "TooManyRequests", re.ErrorCode)
	require.Equal(t, "1000", re.RawResponse.Header.Get("retry-after-ms"))
	require.Equal(t, "1", re.RawResponse.Header.Get("Retry-After"))
}

func TestMetricsAndAlerts(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	e.World.AddObserver(detect.NewDefender(detect.DefenderConfig{}))
	e.World.Lock()
	e.World.SetCPULocked(e.World.Instances.Lookup(e.Demo.VMs[0]), e.Clock.Now(), 98)
	_, err := azureworld.Of(e.World).OpenFlow(e.Demo.VMs[0], world.FlowSpec{RemoteIP: "45.9.148.21", RemotePort: 3333, Domain: "xmr.pool.example"})
	e.World.Unlock()
	require.NoError(t, err)
	e.Clock.Advance(50 * time.Minute)
	m, err := armmonitor.NewMetricsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	end := e.Clock.Now().Truncate(time.Minute)
	res, err := m.List(ctx, e.Demo.VMs[0], &armmonitor.MetricsClientListOptions{Metricnames: to.Ptr("Percentage CPU"),
		Timespan: to.Ptr(end.Add(-10*time.Minute).Format(time.RFC3339) + "/" + end.Format(time.RFC3339)), Interval: to.Ptr("PT5M"),
		Aggregation: to.Ptr("average,maximum")})
	require.NoError(t, err)
	data := res.Value[0].Timeseries[0].Data
	require.Len(t, data, 2)
	require.Greater(t, *data[1].Average, 95.0)
	_, err = m.List(ctx, e.Demo.VMs[0], &armmonitor.MetricsClientListOptions{Metricnames: to.Ptr("Disk Read Bytes")})
	require.Equal(t, 400, respErr(t, err).StatusCode)

	alerts, err := armsecurity.NewAlertsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	page, err := alerts.NewListPager(nil).NextPage(ctx)
	require.NoError(t, err)
	var a *armsecurity.AlertProperties
	for _, al := range page.Value {
		if *al.Properties.AlertType == detect.DefenderMiningBehavior {
			a = al.Properties
		}
	}
	require.NotNil(t, a)
	require.Equal(t, armsecurity.AlertSeverityHigh, *a.Severity)
	require.Equal(t, e.Demo.VMs[0], *a.ResourceIdentifiers[0].(*armsecurity.AzureResourceIdentifier).AzureResourceID)

	ma, err := armmonitor.NewMetricAlertsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	mp, err := ma.NewListBySubscriptionPager(nil).NextPage(ctx)
	require.NoError(t, err)
	require.Len(t, mp.Value, 3)
	crit := mp.Value[0].Properties.Criteria.(*armmonitor.MetricAlertSingleResourceMultipleMetricCriteria)
	require.Equal(t, "Percentage CPU", *crit.AllOf[0].MetricName)
}

func TestSameSeedSameEnvironment(t *testing.T) {
	a := azuresimtest.New(t, demo.AzureOptions{})
	b := azuresimtest.New(t, demo.AzureOptions{})
	require.Equal(t, a.Demo, b.Demo)
}
