package demo

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// AzureOptions tune the Azure demo environment.
type AzureOptions struct {
	// Location is the Azure region (default eastus).
	Location string
	// Instances is the size of the web scale set (default 3).
	Instances int
	// ScaleInAfter schedules autoscale to remove one VM this long after
	// seeding; zero means two hours, negative disables it.
	ScaleInAfter time.Duration
}

// AzureEnv describes what was seeded, for printing and for tests.
type AzureEnv struct {
	Tenant, Subscription, Location, ResourceGroup string
	VNet, Subnet, NSG, ScaleSet                   string
	// VMs are the scale set's VM resource ids; Identities their managed
	// identities' object ids, in the same order.
	VMs, Identities []string
	// RoleAssignments are the identities' Contributor assignments.
	RoleAssignments []string
	// Admin (Owner on the subscription) and Responder (the firedrill
	// Incident Responder role) application credentials.
	AdminClientID, AdminSecret, AdminObjectID             string
	ResponderClientID, ResponderSecret, ResponderObjectID string
	// StorageAccount and EvidenceContainer hold evidence; the bucket of the
	// container in the world is StorageAccount + "/" + EvidenceContainer.
	StorageAccount, EvidenceContainer string
}

// Fixed names of the Azure demo environment.
const (
	AzureDemoResourceGroup  = "firedrill-demo-rg"
	AzureDemoScaleSet       = "web-vmss"
	AzureDemoStorageAccount = "firedrilldemoevidence"
	AzureDemoContainer      = "evidence"
)

func (o *AzureOptions) defaults() {
	if o.Location == "" {
		o.Location = "eastus"
	}
	if o.Instances == 0 {
		o.Instances = 3
	}
	if o.ScaleInAfter == 0 {
		o.ScaleInAfter = 2 * time.Hour
	}
}

// SeedAzure builds the Azure demo environment in w: a tenant and
// subscription with a resource group, a VNet and subnet, a web NSG, a
// flexible VM scale set of VMs with system-assigned managed identities that
// hold Contributor on the resource group (the blast radius of a stolen
// token), a storage account with an evidence container, application
// credentials for an administrator and a least-privilege responder,
// Defender for Servers on, CPU metric alerts, and a day of Activity Log
// history. The same seed builds the same ids and secrets.
func SeedAzure(w *world.World, opts AzureOptions) (*AzureEnv, error) {
	opts.defaults()
	w.Lock()
	defer w.Unlock()
	now := w.Now()
	tenant, sub := w.GUIDLocked(), w.GUIDLocked()
	env := &AzureEnv{Tenant: tenant, Subscription: sub, Location: opts.Location, ResourceGroup: AzureDemoResourceGroup,
		StorageAccount: AzureDemoStorageAccount, EvidenceContainer: AzureDemoContainer}
	azureworld.Of(w).AddSubscription(tenant, sub, "firedrill-demo", opts.Location)
	if _, err := azureworld.Of(w).AddResourceGroup(sub, AzureDemoResourceGroup, opts.Location); err != nil {
		return nil, fmt.Errorf("resource group: %w", err)
	}
	subScope := "/subscriptions/" + sub
	rgScope := subScope + "/resourceGroups/" + AzureDemoResourceGroup
	az := azureworld.Of(w)

	admin := azureworld.Of(w).AddApp("firedrill-admin")
	env.AdminClientID, env.AdminSecret, env.AdminObjectID = admin.AppID, admin.Secret, admin.ObjectID
	responder := azureworld.Of(w).AddApp("firedrill-responder")
	env.ResponderClientID, env.ResponderSecret, env.ResponderObjectID = responder.AppID, responder.Secret, responder.ObjectID
	ci := azureworld.Of(w).AddApp("ci-deploy")
	for _, g := range []struct{ scope, role, principal string }{
		{subScope, azureworld.RoleOwner, admin.ObjectID},
		{subScope, azureworld.RoleResponder, responder.ObjectID},
		{rgScope, azureworld.RoleContributor, ci.ObjectID},
	} {
		if _, err := azureworld.Of(w).AssignRole(g.scope, g.role, g.principal, admin.ObjectID); err != nil {
			return nil, fmt.Errorf("role assignment: %w", err)
		}
	}

	vnet, subnet := azureworld.Of(w).AddVNet(sub, AzureDemoResourceGroup, opts.Location, "firedrill-vnet", "10.30.0.0/16", "default", "10.30.1.0/24")
	vnet.Tags = world.Tags{"env": "prod"}
	env.VNet, env.Subnet = vnet.ID, subnet.ID
	nsg, _, err := azureworld.Of(w).PutNSG(&azureworld.NSG{
		ID:   azureworld.ResourceID(sub, AzureDemoResourceGroup, "Microsoft.Network", "networkSecurityGroups", "web-nsg"),
		Name: "web-nsg", ResourceGroup: AzureDemoResourceGroup, Subscription: sub, Location: opts.Location,
		Rules: []azureworld.Rule{
			{Name: "AllowHTTPS", Priority: 100, Direction: "Inbound", Access: "Allow", Protocol: "Tcp",
				SourcePrefixes: []string{"Internet"}, SourcePorts: []string{"*"}, DestinationPrefixes: []string{"*"}, DestinationPorts: []string{"443"}},
			{Name: "AllowSSHFromOffice", Priority: 110, Direction: "Inbound", Access: "Allow", Protocol: "Tcp",
				SourcePrefixes: []string{"198.51.100.0/24"}, SourcePorts: []string{"*"}, DestinationPrefixes: []string{"*"}, DestinationPorts: []string{"22"}},
		}})
	if err != nil {
		return nil, fmt.Errorf("web NSG: %w", err)
	}
	env.NSG = nsg.ID

	sa := &azureworld.StorageAccount{Name: AzureDemoStorageAccount, ResourceGroup: AzureDemoResourceGroup, Subscription: sub,
		Location: opts.Location, Containers: []string{AzureDemoContainer}}
	az.Storage.Put(sa.Name, sa)
	bucket := sa.Name + "/" + AzureDemoContainer
	w.Buckets.Put(bucket, &world.Bucket{Name: bucket, Account: sub, Region: opts.Location, Created: now, Versioning: "Enabled",
		Objects: map[string][]*world.ObjectVersion{}, Tags: world.Tags{"purpose": "forensics"}})
	containerScope := azureworld.ContainerScope(sa, AzureDemoContainer)

	ss := azureworld.Of(w).AddScaleSet(sub, AzureDemoResourceGroup, opts.Location, AzureDemoScaleSet)
	ss.Capacity = opts.Instances
	env.ScaleSet = ss.ID
	created := now.Add(-launchedAgo)
	for i := 0; i < opts.Instances; i++ {
		vm, _, err := azureworld.Of(w).AddVM(azureworld.VMSpec{
			Subscription: sub, ResourceGroup: AzureDemoResourceGroup, Location: opts.Location,
			Name: fmt.Sprintf("%s_%d", AzureDemoScaleSet, i), Size: "Standard_D4s_v5", Subnet: subnet.ID, NSG: nsg.ID,
			PublicIP: true, OSDiskGiB: 30, DataDiskGiB: []int{64}, SystemAssignedIdentity: true, ScaleSet: ss.ID,
			MemoryGiB: 16, Processes: azureWebProcesses, CPU: []world.CPUPoint{{At: created, Percent: 11}},
			Tags: world.Tags{"env": "prod", "app": "storefront", "owner": "web-team"}, Created: created,
		})
		if err != nil {
			return nil, fmt.Errorf("VM %d: %w", i, err)
		}
		env.VMs = append(env.VMs, vm.ID)
		env.Identities = append(env.Identities, vm.PrincipalID)
		ra, err := azureworld.Of(w).AssignRole(rgScope, azureworld.RoleContributor, vm.PrincipalID, admin.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("identity role of VM %d: %w", i, err)
		}
		env.RoleAssignments = append(env.RoleAssignments, ra.ID)
		// The VMs upload memory images with their identity (azcopy login
		// --identity), so each may write blobs to the evidence container.
		if _, err := azureworld.Of(w).AssignRole(containerScope, azureworld.RoleBlobDataContributor, vm.PrincipalID, admin.ObjectID); err != nil {
			return nil, fmt.Errorf("evidence upload role of VM %d: %w", i, err)
		}
		w.Alarms = append(w.Alarms, &world.Alarm{
			Name:    "cpu-high-" + vm.Name,
			ARN:     fmt.Sprintf("%s/providers/Microsoft.Insights/metricAlerts/cpu-high-%s", rgScope, vm.Name),
			Account: sub, Region: opts.Location, Metric: "Percentage CPU", Namespace: "Microsoft.Compute/virtualMachines",
			Dimensions: map[string]string{"ResourceId": vm.ID}, Threshold: 95, Comparison: "GreaterThanThreshold",
			Period: 5 * time.Minute, EvaluationPeriods: 2, Statistic: "Average",
			Description: "CPU above 95% for 10 minutes (cryptomining trigger)",
		})
	}
	if opts.ScaleInAfter > 0 {
		if err := azureworld.Of(w).ScheduleScaleIn(ss.ID, now.Add(opts.ScaleInAfter), opts.Instances-1); err != nil {
			return nil, fmt.Errorf("scale-in schedule: %w", err)
		}
	}
	az.DefenderPlans.Put(sub, true)
	seedAzureHistory(w, env, admin, ci)
	return env, nil
}

// azureWebProcesses is what Run Command sees on a healthy web VM.
var azureWebProcesses = []world.Process{
	{PID: 1, User: "root", Command: "/sbin/init", CPU: 0.0},
	{PID: 388, User: "root", Command: "/usr/bin/python3 -u /usr/sbin/waagent -run-exthandlers", CPU: 0.2},
	{PID: 702, User: "www-data", Command: "nginx: master process /usr/sbin/nginx", CPU: 0.3},
	{PID: 731, User: "app", Command: "/opt/app/bin/server --port 8080", CPU: 6.1},
}

// seedAzureHistory writes a day of ordinary management activity, already
// delivered, so Activity Log queries show a baseline.
func seedAzureHistory(w *world.World, env *AzureEnv, admin, ci *azureworld.Principal) {
	now := w.Now()
	type entry struct {
		ago      time.Duration
		who      *azureworld.Principal
		op, res  string
		provider string
	}
	rg := "/subscriptions/" + env.Subscription + "/resourceGroups/" + env.ResourceGroup
	entries := []entry{
		{26 * time.Hour, admin, "Microsoft.Resources/subscriptions/resourceGroups/write", rg, "Microsoft.Resources"},
		{25 * time.Hour, admin, "Microsoft.Network/virtualNetworks/write", env.VNet, "Microsoft.Network"},
		{25 * time.Hour, admin, "Microsoft.Network/networkSecurityGroups/write", env.NSG, "Microsoft.Network"},
		{24 * time.Hour, admin, "Microsoft.Compute/virtualMachineScaleSets/write", env.ScaleSet, "Microsoft.Compute"},
		{24 * time.Hour, admin, "Microsoft.Authorization/roleAssignments/write", rg, "Microsoft.Authorization"},
		{9 * time.Hour, ci, "Microsoft.Compute/virtualMachineScaleSets/write", env.ScaleSet, "Microsoft.Compute"},
		{3 * time.Hour, ci, "Microsoft.Resources/deployments/write", rg + "/providers/Microsoft.Resources/deployments/storefront-20261126", "Microsoft.Resources"},
	}
	for _, e := range entries {
		at := now.Add(-e.ago)
		id := w.GUIDLocked()
		w.RecordAuditLocked(&world.AuditEvent{ID: id, RequestID: id, Time: at, DeliverAt: at.Add(30 * time.Second),
			Cloud: "azure", Account: env.Subscription, Region: env.Location, Service: e.provider, Operation: e.op,
			PrincipalARN: e.who.ObjectID, PrincipalID: e.who.ObjectID, UserName: e.who.DisplayName, IdentityType: "ServicePrincipal",
			SourceIP: "198.51.100.23", UserAgent: "azsdk-go-armcompute/v8.4.0 (go1.26; linux)",
			Resources: []world.AuditResource{{Type: "", Name: e.res}},
			Params:    map[string]string{"httpMethod": "PUT", "appId": e.who.AppID, "tenantId": env.Tenant}})
	}
}
