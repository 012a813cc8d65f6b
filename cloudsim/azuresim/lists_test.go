package azuresim_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// drain follows a pager's nextLinks to the end, returning the ids of every
// item and the number of pages.
func drain[T any](t *testing.T, p *runtime.Pager[T], ids func(T) []*string) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	for p.More() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, id := range ids(page) {
			out = append(out, *id)
		}
	}
	return out, pages
}

func idsOf[E any](items []*E, id func(*E) *string) []*string {
	out := make([]*string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// TestListsAtSubscriptionAndResourceGroupScope lists every served type
// through the SDK's pagers at both scopes, two items a page, so that the
// pagers must follow ARM's nextLink.
func TestListsAtSubscriptionAndResourceGroupScope(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{}, azuresim.WithPageSize(2))
	sub, cred, opts := e.Demo.Subscription, e.Admin(t), e.ClientOptions()

	vms, err := armcompute.NewVirtualMachinesClient(sub, cred, opts)
	require.NoError(t, err)
	all, pages := drain(t, vms.NewListAllPager(nil), func(p armcompute.VirtualMachinesClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.VirtualMachine) *string { return v.ID })
	})
	require.Equal(t, e.Demo.VMs, all, "every VM, ordered by id")
	require.Equal(t, 2, pages, "three VMs at two a page take a nextLink")
	inRG, _ := drain(t, vms.NewListPager(rg, nil), func(p armcompute.VirtualMachinesClientListResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.VirtualMachine) *string { return v.ID })
	})
	require.Equal(t, e.Demo.VMs, inRG)

	sets, err := armcompute.NewVirtualMachineScaleSetsClient(sub, cred, opts)
	require.NoError(t, err)
	ss, _ := drain(t, sets.NewListAllPager(nil), func(p armcompute.VirtualMachineScaleSetsClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.VirtualMachineScaleSet) *string { return v.ID })
	})
	require.Equal(t, []string{e.Demo.ScaleSet}, ss)
	got, err := sets.Get(ctx, rg, demo.AzureDemoScaleSet, nil)
	require.NoError(t, err)
	require.Equal(t, int64(3), *got.SKU.Capacity)
	require.Equal(t, armcompute.OrchestrationModeFlexible, *got.Properties.OrchestrationMode)
	members, err := armcompute.NewVirtualMachineScaleSetVMsClient(sub, cred, opts)
	require.NoError(t, err)
	ssVMs, pages := drain(t, members.NewListPager(rg, demo.AzureDemoScaleSet, nil), func(p armcompute.VirtualMachineScaleSetVMsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.VirtualMachineScaleSetVM) *string { return v.InstanceID })
	})
	require.Equal(t, []string{"0", "1", "2"}, ssVMs)
	require.Equal(t, 2, pages)
	_, err = members.NewListPager(rg, "nope", nil).NextPage(ctx)
	require.Equal(t, "ResourceNotFound", respErr(t, err).ErrorCode)

	disks, err := armcompute.NewDisksClient(sub, cred, opts)
	require.NoError(t, err)
	ds, _ := drain(t, disks.NewListPager(nil), func(p armcompute.DisksClientListResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.Disk) *string { return v.ID })
	})
	require.Len(t, ds, 6, "an OS and a data disk per VM")
	dsRG, _ := drain(t, disks.NewListByResourceGroupPager(rg, nil), func(p armcompute.DisksClientListByResourceGroupResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.Disk) *string { return v.ID })
	})
	require.Equal(t, ds, dsRG)

	snaps, err := armcompute.NewSnapshotsClient(sub, cred, opts)
	require.NoError(t, err)
	sn, _ := drain(t, snaps.NewListPager(nil), func(p armcompute.SnapshotsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.Snapshot) *string { return v.ID })
	})
	require.Empty(t, sn)
	poller, err := snaps.BeginCreateOrUpdate(ctx, rg, "evidence-0", armcompute.Snapshot{Location: to.Ptr("eastus"),
		Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: &ds[0]}}}, nil)
	require.NoError(t, err)
	_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
	require.NoError(t, err)
	sn, _ = drain(t, snaps.NewListByResourceGroupPager(rg, nil), func(p armcompute.SnapshotsClientListByResourceGroupResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.Snapshot) *string { return v.Name })
	})
	require.Equal(t, []string{"evidence-0"}, sn)

	nics, err := armnetwork.NewInterfacesClient(sub, cred, opts)
	require.NoError(t, err)
	ns, _ := drain(t, nics.NewListAllPager(nil), func(p armnetwork.InterfacesClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.Interface) *string { return v.Name })
	})
	require.Equal(t, []string{"web-vmss_0-nic", "web-vmss_1-nic", "web-vmss_2-nic"}, ns)

	nsgs, err := armnetwork.NewSecurityGroupsClient(sub, cred, opts)
	require.NoError(t, err)
	gs, _ := drain(t, nsgs.NewListAllPager(nil), func(p armnetwork.SecurityGroupsClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.SecurityGroup) *string { return v.ID })
	})
	require.Equal(t, []string{e.Demo.NSG}, gs)
	gsRG, _ := drain(t, nsgs.NewListPager(rg, nil), func(p armnetwork.SecurityGroupsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.SecurityGroup) *string { return v.ID })
	})
	require.Equal(t, gs, gsRG)

	vnets, err := armnetwork.NewVirtualNetworksClient(sub, cred, opts)
	require.NoError(t, err)
	vs, _ := drain(t, vnets.NewListAllPager(nil), func(p armnetwork.VirtualNetworksClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.VirtualNetwork) *string { return v.ID })
	})
	require.Equal(t, []string{e.Demo.VNet}, vs)
	vnet, err := vnets.Get(ctx, rg, "firedrill-vnet", nil)
	require.NoError(t, err)
	require.Equal(t, "10.30.0.0/16", *vnet.Properties.AddressSpace.AddressPrefixes[0])
	subnets, err := armnetwork.NewSubnetsClient(sub, cred, opts)
	require.NoError(t, err)
	ss2, _ := drain(t, subnets.NewListPager(rg, "firedrill-vnet", nil), func(p armnetwork.SubnetsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.Subnet) *string { return v.ID })
	})
	require.Equal(t, []string{e.Demo.Subnet}, ss2)
	subnet, err := subnets.Get(ctx, rg, "firedrill-vnet", "default", nil)
	require.NoError(t, err)
	require.Len(t, subnet.Properties.IPConfigurations, 3, "the NICs in the subnet")

	pips, err := armnetwork.NewPublicIPAddressesClient(sub, cred, opts)
	require.NoError(t, err)
	ps, _ := drain(t, pips.NewListAllPager(nil), func(p armnetwork.PublicIPAddressesClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.PublicIPAddress) *string { return v.Properties.IPAddress })
	})
	require.Len(t, ps, 3, "each VM's NIC has a public IP")
	psRG, _ := drain(t, pips.NewListPager(rg, nil), func(p armnetwork.PublicIPAddressesClientListResponse) []*string {
		return idsOf(p.Value, func(v *armnetwork.PublicIPAddress) *string { return v.Properties.IPAddress })
	})
	require.Equal(t, ps, psRG)

	groups, err := armresources.NewResourceGroupsClient(sub, cred, opts)
	require.NoError(t, err)
	rgs, _ := drain(t, groups.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armresources.ResourceGroup) *string { return v.Name })
	})
	require.Equal(t, []string{rg}, rgs)
	res, err := armresources.NewClient(sub, cred, opts)
	require.NoError(t, err)
	types := map[string]int{}
	drain(t, res.NewListPager(nil), func(p armresources.ClientListResponse) []*string {
		for _, r := range p.Value {
			types[*r.Type]++
			require.Nil(t, r.Properties, "the generic list shows no properties, as ARM's")
		}
		return nil
	})
	require.Equal(t, map[string]int{"Microsoft.Compute/disks": 6, "Microsoft.Compute/snapshots": 1, "Microsoft.Compute/virtualMachineScaleSets": 1,
		"Microsoft.Compute/virtualMachines": 3, "Microsoft.Network/networkInterfaces": 3, "Microsoft.Network/networkSecurityGroups": 1,
		"Microsoft.Network/publicIPAddresses": 3, "Microsoft.Network/virtualNetworks": 1, "Microsoft.Storage/storageAccounts": 1}, types)
	onlyVMs, _ := drain(t, res.NewListByResourceGroupPager(rg, &armresources.ClientListByResourceGroupOptions{Filter: to.Ptr("resourceType eq 'Microsoft.Compute/virtualMachines'")}),
		func(p armresources.ClientListByResourceGroupResponse) []*string {
			return idsOf(p.Value, func(v *armresources.GenericResourceExpanded) *string { return v.ID })
		})
	require.Equal(t, e.Demo.VMs, onlyVMs)

	defs, err := armauthorization.NewRoleDefinitionsClient(cred, opts)
	require.NoError(t, err)
	names, _ := drain(t, defs.NewListPager("/subscriptions/"+sub, nil), func(p armauthorization.RoleDefinitionsClientListResponse) []*string {
		return idsOf(p.Value, func(v *armauthorization.RoleDefinition) *string { return v.Properties.RoleName })
	})
	require.Contains(t, names, "Reader")
	require.Contains(t, names, "firedrill Incident Responder")
	reader, _ := drain(t, defs.NewListPager("/subscriptions/"+sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Reader'")}),
		func(p armauthorization.RoleDefinitionsClientListResponse) []*string {
			return idsOf(p.Value, func(v *armauthorization.RoleDefinition) *string { return v.ID })
		})
	require.Equal(t, []string{"/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + azureworld.RoleReader}, reader)
	def, err := defs.GetByID(ctx, reader[0], nil)
	require.NoError(t, err)
	require.Equal(t, []*string{to.Ptr("*/read")}, def.Properties.Permissions[0].Actions)
}

// TestNextLinkShape checks ARM's paging envelope on the wire: value, and
// an absolute nextLink keeping the api-version and filter.
func TestNextLinkShape(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{}, azuresim.WithPageSize(1))
	tok := adminToken(t, e)
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/subscriptions/"+e.Demo.Subscription+"/resources?api-version=2021-04-01&$filter=resourceType+eq+'Microsoft.Compute/virtualMachines'", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.HTTPClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	require.Contains(t, string(b), `"nextLink":"`+e.URL+"/subscriptions/"+e.Demo.Subscription+"/resources?%24filter=resourceType+eq+%27Microsoft.Compute%2FvirtualMachines%27&%24skiptoken=1&api-version=2021-04-01")
	require.Contains(t, string(b), `"value":[{`)
}

func adminToken(t *testing.T, e *azuresimtest.Env) string {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	raw, _, err := azureworld.Of(e.World).IssueToken(e.Demo.AdminObjectID, azuresim.ARMAudience, "test", time.Hour)
	require.NoError(t, err)
	return raw
}

// TestListsShowWhatTheCallerCanRead: a caller who can read one VM only
// lists that VM at subscription scope, as ARM narrows lists; with nothing
// readable the list is denied.
func TestListsShowWhatTheCallerCanRead(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	e.World.Lock()
	app := azureworld.Of(e.World).AddApp("one-vm-reader")
	_, err := azureworld.Of(e.World).AssignRole(e.Demo.VMs[1], azureworld.RoleReader, app.ObjectID, "test")
	e.World.Unlock()
	require.NoError(t, err)
	cred := e.Credential(t, app.AppID, app.Secret)
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, cred, e.ClientOptions())
	require.NoError(t, err)
	got, _ := drain(t, vms.NewListAllPager(nil), func(p armcompute.VirtualMachinesClientListAllResponse) []*string {
		return idsOf(p.Value, func(v *armcompute.VirtualMachine) *string { return v.ID })
	})
	require.Equal(t, []string{e.Demo.VMs[1]}, got)
	nsgs, err := armnetwork.NewSecurityGroupsClient(e.Demo.Subscription, cred, e.ClientOptions())
	require.NoError(t, err)
	_, err = nsgs.NewListAllPager(nil).NextPage(ctx)
	require.Equal(t, "AuthorizationFailed", respErr(t, err).ErrorCode)
}

// TestRoleAssignmentCreate: PUT creates an assignment that authorizes at
// once, is in the Activity Log, and is refused again as ARM refuses it.
func TestRoleAssignmentCreate(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	e.World.Lock()
	app := azureworld.Of(e.World).AddApp("newcomer")
	e.World.Unlock()
	newcomer, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Credential(t, app.AppID, app.Secret), e.ClientOptions())
	require.NoError(t, err)
	_, err = newcomer.Get(ctx, rg, "web-vmss_0", nil)
	require.Equal(t, "AuthorizationFailed", respErr(t, err).ErrorCode)

	scope := "/subscriptions/" + e.Demo.Subscription + "/resourceGroups/" + rg
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/subscriptions/" + e.Demo.Subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + azureworld.RoleReader),
		PrincipalID:      &app.ObjectID, PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}
	admin, err := armauthorization.NewRoleAssignmentsClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	const name = "0b5c3a1e-7d2f-4c8a-9e61-2f4b8d0c7a15"
	created, err := admin.Create(ctx, scope, name, params, nil)
	require.NoError(t, err)
	require.Equal(t, scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, *created.ID)
	require.Equal(t, app.ObjectID, *created.Properties.PrincipalID)
	_, err = newcomer.Get(ctx, rg, "web-vmss_0", nil)
	require.NoError(t, err, "a new assignment authorizes at once")

	_, err = admin.Create(ctx, scope, "9d0e2c61-3b7a-4f58-8a2d-6c1e0f9b3d47", params, nil)
	re := respErr(t, err)
	require.Equal(t, 409, re.StatusCode)
	require.Equal(t, "RoleAssignmentExists", re.ErrorCode)
	params.Properties.PrincipalID = to.Ptr("00000000-0000-4000-8000-000000000000")
	_, err = admin.Create(ctx, scope, "1f7a3c52-6e0d-4b9a-8c21-5d3e7f0a9b64", params, nil)
	require.Equal(t, "PrincipalNotFound", respErr(t, err).ErrorCode)

	responder, err := armauthorization.NewRoleAssignmentsClient(e.Demo.Subscription, e.Credential(t, e.Demo.ResponderClientID, e.Demo.ResponderSecret), e.ClientOptions())
	require.NoError(t, err)
	params.Properties.PrincipalID = &e.Demo.ResponderObjectID
	_, err = responder.Create(ctx, scope, "2a8b4d63-7f1e-4c0b-9d32-6e4f8a1b0c75", params, nil)
	require.Equal(t, "AuthorizationFailed", respErr(t, err).ErrorCode, "the responder role cannot grant roles")

	e.World.Lock()
	defer e.World.Unlock()
	var writes []*world.AuditEvent
	for _, ev := range e.World.Audit {
		if ev.Operation == "Microsoft.Authorization/roleAssignments/write" && strings.Contains(ev.UserAgent, "armauthorization") { // not the seeded history
			writes = append(writes, ev)
		}
	}
	require.Len(t, writes, 4)
	require.Empty(t, writes[0].ErrorCode)
	require.Equal(t, app.ObjectID, writes[0].Params["principalId"])
	require.Equal(t, "RoleAssignmentExists", writes[1].ErrorCode)
}

// TestSecurityRuleCreateAndPriorityConflict: a rule with its own priority
// is created; one that takes another rule's priority and direction is
// refused with SecurityRuleConflict naming both.
func TestSecurityRuleCreateAndPriorityConflict(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	rules, err := armnetwork.NewSecurityRulesClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	rule := func(priority int32) armnetwork.SecurityRule {
		return armnetwork.SecurityRule{Properties: &armnetwork.SecurityRulePropertiesFormat{
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), Access: to.Ptr(armnetwork.SecurityRuleAccessDeny),
			Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Priority: to.Ptr(priority),
			SourceAddressPrefix: to.Ptr("203.0.113.0/24"), SourcePortRange: to.Ptr("*"),
			DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("22")}}
	}
	_, err = rules.BeginCreateOrUpdate(ctx, rg, "web-nsg", "DenyAttacker", rule(100), nil)
	re := respErr(t, err)
	require.Equal(t, 400, re.StatusCode)
	require.Equal(t, "SecurityRuleConflict", re.ErrorCode)
	require.Contains(t, err.Error(), "Security rule DenyAttacker conflicts with rule AllowHTTPS")

	poller, err := rules.BeginCreateOrUpdate(ctx, rg, "web-nsg", "DenyAttacker", rule(105), nil)
	require.NoError(t, err)
	done, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, int32(105), *done.Properties.Priority)
	got, err := rules.Get(ctx, rg, "web-nsg", "DenyAttacker", nil)
	require.NoError(t, err)
	require.Equal(t, armnetwork.SecurityRuleAccessDeny, *got.Properties.Access)
}

// TestVMStartAfterDeallocate: start answers an LRO; the VM is starting,
// then running, with a new public IP on its NIC.
func TestVMStartAfterDeallocate(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	vms, err := armcompute.NewVirtualMachinesClient(e.Demo.Subscription, e.Admin(t), e.ClientOptions())
	require.NoError(t, err)
	power := func() string {
		iv, err := vms.InstanceView(ctx, rg, "web-vmss_1", nil)
		require.NoError(t, err)
		return *iv.Statuses[1].Code
	}
	publicIP := func() string {
		e.World.Lock()
		defer e.World.Unlock()
		return e.World.ENIs.Lookup(rgNIC(e, "web-vmss_1")).PublicIP
	}
	start := func() {
		poller, err := vms.BeginStart(ctx, rg, "web-vmss_1", nil)
		require.NoError(t, err)
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
		require.NoError(t, err)
	}
	deallocate := func() {
		poller, err := vms.BeginDeallocate(ctx, rg, "web-vmss_1", nil)
		require.NoError(t, err)
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
		require.NoError(t, err)
	}
	first := publicIP()
	deallocate()
	e.Clock.Advance(5 * time.Minute)
	require.Equal(t, "PowerState/deallocated", power())
	require.Empty(t, publicIP(), "deallocation released the public IP")

	start()
	require.Equal(t, "PowerState/starting", power())
	e.Clock.Advance(2 * time.Minute)
	require.Equal(t, "PowerState/running", power())
	second := publicIP()
	require.NotEmpty(t, second, "a started VM gets a public IP again")
	require.NotEqual(t, first, second, "a new dynamic address")

	// Started again as soon as the deallocation answered Succeeded: the
	// late settling of the deallocation does not stop it again.
	deallocate()
	start()
	e.Clock.Advance(5 * time.Minute)
	require.Equal(t, "PowerState/running", power())
	require.NotEmpty(t, publicIP())
	e.World.Lock()
	defer e.World.Unlock()
	require.Equal(t, world.StateRunning, e.World.Instances.Lookup(e.Demo.VMs[1]).State)
	var starts int
	for _, ev := range e.World.Audit {
		if ev.Operation == "Microsoft.Compute/virtualMachines/start/action" && ev.ErrorCode == "" {
			starts++
		}
	}
	require.Equal(t, 2, starts, "each start is in the Activity Log")
}

func rgNIC(e *azuresimtest.Env, vm string) string {
	return azureworld.ResourceID(e.Demo.Subscription, rg, "Microsoft.Network", "networkInterfaces", vm+"-nic")
}

// TestUnservedOperationsNameThemselves: what the simulator does not serve
// answers ARM's envelope with a message naming the operation.
func TestUnservedOperationsNameThemselves(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	tok := adminToken(t, e)
	sub := "/subscriptions/" + e.Demo.Subscription
	for _, tc := range []struct{ method, path, code, names string }{
		{"GET", sub + "/providers/Microsoft.Web/sites", "NoRegisteredProviderFound", "'GET Microsoft.Web/sites'"},
		{"GET", sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/galleries/g/images", "InvalidResourceType", "'GET Microsoft.Compute/galleries/images'"},
		{"DELETE", e.Demo.VMs[0], "InvalidResourceType", "DELETE virtualMachines"},
		{"GET", "/providers/Microsoft.Compute/operations", "InvalidResourceType", "'GET /providers/Microsoft.Compute/operations'"},
	} {
		req, _ := http.NewRequest(tc.method, e.URL+tc.path+"?api-version=2024-01-01", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.HTTPClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, tc.code, resp.Header.Get("x-ms-error-code"), "%s %s: %s", tc.method, tc.path, b)
		require.Contains(t, string(b), `{"error":{"code":"`+tc.code+`","message":"`)
		require.Contains(t, string(b), tc.names)
	}
}

// TestMetadataEndpointNeedsNoAuthentication: az cloud register reads it
// before any login; its login endpoint is an ADFS authority, whose
// discovery and token endpoints the simulator serves.
func TestMetadataEndpointNeedsNoAuthentication(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	get := func(path string) (int, string) {
		resp, err := e.HTTPClient.Get(e.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metadata/endpoints?api-version=2015-01-01")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"loginEndpoint":"`+e.URL+`/adfs"`)
	code, body = get("/metadata/endpoints?api-version=2022-09-01")
	require.Equal(t, 200, code)
	require.True(t, strings.HasPrefix(body, `[{`), "later versions list clouds: %s", body)
	require.Contains(t, body, `"resourceManager":"`+e.URL+`/"`)
	code, body = get("/adfs/.well-known/openid-configuration")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"token_endpoint":"`+e.URL+`/adfs/oauth2/token"`)

	resp, err := e.HTTPClient.PostForm(e.URL+"/adfs/oauth2/token", map[string][]string{"grant_type": {"client_credentials"},
		"client_id": {e.Demo.AdminClientID}, "client_secret": {e.Demo.AdminSecret}, "scope": {"https://management.core.windows.net//.default"}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	require.Contains(t, string(b), `"access_token":"`)
}

// TestOperationsComeFromTheRouteTable: the driver lists what the route
// table serves, sorted, each once.
func TestOperationsComeFromTheRouteTable(t *testing.T) {
	d, found := simcloud.Get(azuresim.CloudAzure)
	require.True(t, found)
	require.NotNil(t, d.Operations)
	ops := d.Operations()
	require.True(t, slices.IsSortedFunc(ops, func(a, b simcloud.Operation) int {
		return strings.Compare(a.Service+" "+a.Name, b.Service+" "+b.Name)
	}))
	require.Equal(t, len(ops), len(slices.Compact(slices.Clone(ops))), "no repeats")
	for _, want := range []simcloud.Operation{
		{Service: "Microsoft.Compute", Name: "virtualMachines/start/action"},
		{Service: "Microsoft.Compute", Name: "virtualMachineScaleSets/virtualMachines/read"},
		{Service: "Microsoft.Authorization", Name: "roleAssignments/write"},
		{Service: "Microsoft.Network", Name: "publicIPAddresses/read"},
		{Service: "Microsoft.Resources", Name: "subscriptions/resourceGroups/read"},
		{Service: "Microsoft.Storage", Name: "storageAccounts/blobServices/containers/blobs/write"},
	} {
		require.Contains(t, ops, want)
	}
	for _, op := range ops {
		require.NotContains(t, op.Name, "{", "names are actions, not paths")
		require.True(t, strings.HasPrefix(op.Service, "Microsoft."), op.Service)
	}
}
