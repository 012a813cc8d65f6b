package azuresim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// defaultPageSize is how many items one page of an ARM list holds before a
// nextLink, unless $top asks for fewer.
const defaultPageSize = 100

// armItem is one ARM resource of the inventory the list operations serve.
type armItem struct {
	id, typ string
	body    func() map[string]any
}

// Resource types of the inventory.
const (
	typeVM         = "Microsoft.Compute/virtualMachines"
	typeScaleSet   = "Microsoft.Compute/virtualMachineScaleSets"
	typeScaleSetVM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
	typeDisk       = "Microsoft.Compute/disks"
	typeSnapshot   = "Microsoft.Compute/snapshots"
	typeNIC        = "Microsoft.Network/networkInterfaces"
	typeNSG        = "Microsoft.Network/networkSecurityGroups"
	typeVNet       = "Microsoft.Network/virtualNetworks"
	typeSubnet     = "Microsoft.Network/virtualNetworks/subnets"
	typePublicIP   = "Microsoft.Network/publicIPAddresses"
	typeStorage    = "Microsoft.Storage/storageAccounts"
)

// inventoryLocked lists the subscription's resources of the given type
// ("" for every top-level type, what the generic resources list shows),
// by lower-cased id.
func (s *Server) inventoryLocked(sub, typ string) []armItem {
	w, az := s.World, azureworld.Of(s.World)
	var out []armItem
	add := func(t, id string, body func() map[string]any) {
		if (typ == "" && strings.Count(t, "/") == 1) || strings.EqualFold(typ, t) {
			out = append(out, armItem{id: id, typ: t, body: body})
		}
	}
	inSub := func(id string) bool { return azureworld.ScopeCovers("/subscriptions/"+sub, id) }
	for _, k := range az.VMs.Keys() {
		if vm := az.VMs.Lookup(k); !vm.Deleted && vm.Subscription == sub {
			add(typeVM, vm.ID, func() map[string]any { return s.vmJSON(vm, false) })
		}
	}
	for _, k := range az.ScaleSets.Keys() {
		ss := az.ScaleSets.Lookup(k)
		if ss.Subscription != sub {
			continue
		}
		add(typeScaleSet, ss.ID, func() map[string]any { return s.scaleSetJSON(ss) })
		for _, id := range ss.Members {
			if vm := az.VM(id); vm != nil && !vm.Deleted {
				add(typeScaleSetVM, ss.ID+"/virtualMachines/"+vm.InstanceID, func() map[string]any { return s.scaleSetVMJSON(ss, vm, false) })
			}
		}
	}
	for _, k := range az.Disks.Keys() {
		if d, _ := az.Disk(k); d != nil && d.Subscription == sub {
			add(typeDisk, d.ID, func() map[string]any { return s.diskJSON(d) })
		}
	}
	for _, k := range az.Snapshots.Keys() {
		if snap := az.Snapshot(k); snap != nil && inSub(snap.ID) {
			add(typeSnapshot, snap.ID, func() map[string]any { return s.snapshotJSON(snap) })
		}
	}
	for _, k := range az.NICs.Keys() {
		eni := az.NIC(k)
		if eni == nil || !inSub(eni.ID) {
			continue
		}
		add(typeNIC, eni.ID, func() map[string]any { return s.nicJSON(eni, false) })
		if eni.PublicIP != "" {
			add(typePublicIP, publicIPID(eni), func() map[string]any { return publicIPJSON(eni) })
		}
	}
	for _, k := range az.NSGs.Keys() {
		if g := az.NSGs.Lookup(k); g.Subscription == sub {
			add(typeNSG, g.ID, func() map[string]any { return s.nsgJSON(g) })
		}
	}
	for _, k := range az.VNets.Keys() {
		v := w.VPCs.Lookup(az.VNets.Lookup(k))
		if v == nil || !inSub(v.ID) {
			continue
		}
		add(typeVNet, v.ID, func() map[string]any { return s.vnetJSON(v) })
		for _, sn := range s.subnetsOfLocked(v.ID) {
			add(typeSubnet, sn.ID, func() map[string]any { return s.subnetJSON(sn) })
		}
	}
	for _, k := range az.Storage.Keys() {
		if sa := az.Storage.Lookup(k); sa.Subscription == sub {
			add(typeStorage, sa.ID(), func() map[string]any { return storageAccountJSON(sa) })
		}
	}
	slices.SortFunc(out, func(a, b armItem) int { return strings.Compare(strings.ToLower(a.id), strings.ToLower(b.id)) })
	return out
}

// subnetsOfLocked lists a virtual network's subnets by id.
func (s *Server) subnetsOfLocked(vnetID string) []*world.Subnet {
	var out []*world.Subnet
	for _, k := range azureworld.Of(s.World).Subnets.Keys() {
		if sn := s.World.Subnets.Lookup(azureworld.Of(s.World).Subnets.Lookup(k)); sn != nil && strings.EqualFold(sn.VPC, vnetID) {
			out = append(out, sn)
		}
	}
	return out
}

// listRoutes are the two list operations of a resource type, at
// subscription and at resource-group scope, with the type's read action.
func (s *Server) listRoutes(typ string) []*route {
	ns, t, _ := strings.Cut(typ, "/")
	action := typ + "/read"
	return []*route{
		{method: http.MethodGet, path: subProvidersPath + "/" + ns + "/" + t, action: action, scope: subscriptionPath, filtered: true, handle: s.list(typ)},
		{method: http.MethodGet, path: rgProvidersPath + "/" + ns + "/" + t, action: action, scope: rgPath, filtered: true, handle: s.list(typ)},
	}
}

// getRoute reads one resource of a type the inventory holds, for the types
// without a handler of their own.
func (s *Server) getRoute(path, typ string) *route {
	return &route{method: http.MethodGet, path: path, action: typ + "/read", scope: path, handle: func(c *call) (*response, error) {
		for _, it := range s.inventoryLocked(c.sub, typ) {
			if strings.EqualFold(it.id, c.scope) {
				c.touch(typ, it.id)
				return ok(it.body()), nil
			}
		}
		segs := strings.Split(strings.Trim(c.scope, "/"), "/")
		return nil, notFoundResource(typ, segs[len(segs)-1], c.vars["resourceGroupName"])
	}}
}

// list serves a list of one type below the route's scope (a subscription,
// a resource group, a scale set, a virtual network), "" for the generic
// resources list.
func (s *Server) list(typ string) func(c *call) (*response, error) {
	return func(c *call) (*response, error) {
		var items []armItem
		for _, it := range s.inventoryLocked(c.sub, typ) {
			if azureworld.ScopeCovers(c.scope, it.id) && c.visible(it.id) {
				items = append(items, it)
			}
		}
		if typ == "" {
			if f := c.query.Get("$filter"); f != "" {
				kept, err := filterResources(items, f)
				if err != nil {
					return nil, err
				}
				items = kept
			}
		}
		if c.filterAction != "" && len(items) == 0 {
			return nil, c.authorizationFailed()
		}
		if typ == "" {
			expand := strings.Contains(strings.ToLower(c.query.Get("$expand")), "provisioningstate")
			return c.page(len(items), func(i int) any { return genericResource(items[i].body(), expand) })
		}
		return c.page(len(items), func(i int) any { return items[i].body() })
	}
}

// genericResource is a resource as the generic resources list shows it:
// its envelope without properties (ARM lists no properties there), with
// provisioningState when $expand asks for it.
func genericResource(full map[string]any, expandState bool) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"id", "name", "type", "location", "tags", "sku", "kind", "managedBy", "identity"} {
		if v, ok := full[k]; ok && v != nil {
			out[k] = v
		}
	}
	if props, ok := full["properties"].(map[string]any); ok && expandState {
		if st, ok := props["provisioningState"]; ok {
			out["provisioningState"] = st
		}
	}
	return out
}

// visible reports whether the caller may read a resource of a list whose
// scope it cannot read as a whole: ARM then lists what its narrower role
// assignments let it see.
func (c *call) visible(id string) bool {
	return c.filterAction == "" || azureworld.Of(c.w).Authorize(c.token.ObjectID, c.filterAction, id, false)
}

// filterResources applies the generic resources list's $filter:
// resourceType, name and resourceGroup eq '…', joined with and.
func filterResources(items []armItem, filter string) ([]armItem, *armError) {
	type cond struct{ field, value string }
	var conds []cond
	for _, part := range strings.Split(filter, " and ") {
		f := strings.Fields(part)
		if len(f) < 3 || !strings.EqualFold(f[1], "eq") || !strings.HasPrefix(f[2], "'") {
			return nil, errf(http.StatusBadRequest, "InvalidFilterInQueryString",
				"The $filter '%s' is invalid: the simulator supports resourceType, name and resourceGroup eq '…'.", filter)
		}
		v := strings.Trim(strings.Join(f[2:], " "), "'")
		switch strings.ToLower(f[0]) {
		case "resourcetype", "name", "resourcegroup":
			conds = append(conds, cond{strings.ToLower(f[0]), v})
		default:
			return nil, errf(http.StatusBadRequest, "InvalidFilterInQueryString",
				"The $filter '%s' is invalid: the field '%s' is not supported by the simulator.", filter, f[0])
		}
	}
	var out []armItem
	for _, it := range items {
		keep := true
		for _, cd := range conds {
			got := map[string]string{"resourcetype": it.typ, "name": lastSeg(it.id), "resourcegroup": resourceGroupOf(it.id)}[cd.field]
			keep = keep && strings.EqualFold(got, cd.value)
		}
		if keep {
			out = append(out, it)
		}
	}
	return out, nil
}

// page answers one page of a list of n items: {"value": [...], "nextLink":
// "…&$skiptoken=…"} as ARM pages, the link absolute and keeping the query.
func (c *call) page(n int, item func(i int) any) (*response, error) {
	size := c.s.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	if top := c.query.Get("$top"); top != "" {
		t, err := strconv.Atoi(top)
		if err != nil || t < 1 {
			return nil, errf(http.StatusBadRequest, "InvalidTopInQueryString", "The value '%s' of $top is not a positive integer.", top)
		}
		size = min(size, t)
	}
	start := 0
	if tok := c.query.Get("$skiptoken"); tok != "" {
		v, err := strconv.Atoi(tok)
		if err != nil || v < 0 || v > n {
			return nil, errf(http.StatusBadRequest, "InvalidSkipToken", "The skip token '%s' is invalid.", tok)
		}
		start = v
	}
	end := min(n, start+size)
	value := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		value = append(value, item(i))
	}
	body := map[string]any{"value": value}
	if end < n {
		q := url.Values{}
		for k, v := range c.query {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(end))
		body["nextLink"] = c.base + c.path + "?" + q.Encode()
	}
	c.param("count", strconv.Itoa(end-start))
	return ok(body), nil
}

// authorizationFailed is ARM's 403 for the call's action at its scope.
func (c *call) authorizationFailed() *armError {
	return errf(http.StatusForbidden, "AuthorizationFailed",
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		c.token.AppID, c.token.ObjectID, c.action, c.scope)
}

// ---- JSON of the types only lists serve --------------------------------------

func (s *Server) scaleSetJSON(ss *azureworld.ScaleSet) map[string]any {
	live, created := 0, time.Time{}
	for _, id := range ss.Members {
		vm := azureworld.Of(s.World).VM(id)
		if vm != nil && (created.IsZero() || vm.TimeCreated.Before(created)) {
			created = vm.TimeCreated
		}
		if vm != nil && !vm.Deleted {
			live++
		}
	}
	return map[string]any{"id": ss.ID, "name": ss.Name, "type": typeScaleSet, "location": ss.Location, "tags": map[string]string{},
		"sku": map[string]any{"name": "Standard_D4s_v5", "tier": "Standard", "capacity": live},
		"properties": map[string]any{"orchestrationMode": "Flexible", "provisioningState": "Succeeded", "uniqueId": uniqueID(ss.ID),
			"platformFaultDomainCount": 1, "singlePlacementGroup": false, "timeCreated": timeStr(created)}}
}

func (s *Server) diskJSON(d *azureworld.Disk) map[string]any {
	v := s.World.Volumes.Lookup(d.ID)
	state, managedBy := "Unattached", ""
	if v.Attached != "" {
		state, managedBy = "Attached", v.Attached
	}
	create := "Empty"
	if d.OSType != "" {
		create = "FromImage"
	}
	props := map[string]any{"creationData": map[string]any{"createOption": create}, "diskSizeGB": v.SizeGiB,
		"diskSizeBytes": int64(v.SizeGiB) << 30, "uniqueId": uniqueID(d.ID), "timeCreated": timeStr(v.CreateTime),
		"provisioningState": "Succeeded", "diskState": state, "encryption": map[string]any{"type": "EncryptionAtRestWithPlatformKey"},
		"networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled", "tier": "P10"}
	if d.OSType != "" {
		props["osType"] = d.OSType
	}
	body := map[string]any{"id": d.ID, "name": d.Name, "type": typeDisk, "location": d.Location,
		"tags": tagsOrEmpty(v.Tags), "sku": map[string]any{"name": d.SKU, "tier": "Premium"}, "properties": props}
	if managedBy != "" {
		body["managedBy"] = managedBy
	}
	return body
}

func publicIPJSON(eni *world.ENI) map[string]any {
	id := publicIPID(eni)
	return map[string]any{"id": id, "name": lastSeg(id), "type": typePublicIP, "location": eni.Region,
		"etag": `W/"` + uniqueID(id+eni.PublicIP) + `"`, "tags": map[string]string{},
		"sku": map[string]any{"name": "Standard", "tier": "Regional"},
		"properties": map[string]any{"provisioningState": "Succeeded", "resourceGuid": uniqueID(id), "ipAddress": eni.PublicIP,
			"publicIPAddressVersion": "IPv4", "publicIPAllocationMethod": "Static", "idleTimeoutInMinutes": 4,
			"ipConfiguration": map[string]any{"id": eni.ID + "/ipConfigurations/ipconfig1"}}}
}

func (s *Server) subnetJSON(sn *world.Subnet) map[string]any {
	props := map[string]any{"provisioningState": "Succeeded", "addressPrefix": sn.CIDR,
		"privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled"}
	var cfgs []any
	for _, id := range s.World.ENIs.Keys() {
		if e := s.World.ENIs.Lookup(id); strings.EqualFold(e.Subnet, sn.ID) {
			cfgs = append(cfgs, map[string]any{"id": e.ID + "/ipConfigurations/ipconfig1"})
		}
	}
	if len(cfgs) > 0 {
		props["ipConfigurations"] = cfgs
	}
	return map[string]any{"id": sn.ID, "name": lastSeg(sn.ID), "type": typeSubnet,
		"etag": `W/"` + uniqueID(sn.ID) + `"`, "properties": props}
}

func (s *Server) vnetJSON(v *world.VPC) map[string]any {
	var subnets []any
	for _, sn := range s.subnetsOfLocked(v.ID) {
		subnets = append(subnets, s.subnetJSON(sn))
	}
	return map[string]any{"id": v.ID, "name": lastSeg(v.ID), "type": typeVNet, "location": v.Region,
		"etag": `W/"` + uniqueID(v.ID) + `"`, "tags": tagsOrEmpty(v.Tags),
		"properties": map[string]any{"provisioningState": "Succeeded", "resourceGuid": uniqueID(v.ID),
			"addressSpace": map[string]any{"addressPrefixes": []string{v.CIDR}}, "subnets": nonNil(subnets),
			"virtualNetworkPeerings": []any{}, "enableDdosProtection": false, "enableVmProtection": false}}
}

func storageAccountJSON(sa *azureworld.StorageAccount) map[string]any {
	return map[string]any{"id": sa.ID(), "name": sa.Name, "type": typeStorage, "location": sa.Location, "kind": "StorageV2",
		"tags": map[string]string{}, "sku": map[string]any{"name": "Standard_LRS", "tier": "Standard"},
		"properties": map[string]any{"provisioningState": "Succeeded", "accessTier": "Hot", "allowBlobPublicAccess": false,
			"minimumTlsVersion": "TLS1_2", "supportsHttpsTrafficOnly": true}}
}

// ---- resource groups, subscriptions, tenants ---------------------------------

func resourceGroupJSON(sub string, rg *azureworld.ResourceGroup) map[string]any {
	return map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + rg.Name, "name": rg.Name,
		"type": "Microsoft.Resources/resourceGroups", "location": rg.Location, "tags": tagsOrEmpty(rg.Tags),
		"properties": map[string]any{"provisioningState": "Succeeded"}}
}

// listResourceGroups serves ResourceGroups.List, by name.
func (s *Server) listResourceGroups(c *call) (*response, error) {
	sub := azureworld.Of(s.World).Subscriptions.Lookup(c.sub)
	var rgs []map[string]any
	for _, k := range world.SortedKeys(sub.ResourceGroups) {
		rg := sub.ResourceGroups[k]
		if c.visible("/subscriptions/" + sub.ID + "/resourceGroups/" + rg.Name) {
			rgs = append(rgs, resourceGroupJSON(sub.ID, rg))
		}
	}
	if c.filterAction != "" && len(rgs) == 0 {
		return nil, c.authorizationFailed()
	}
	return c.page(len(rgs), func(i int) any { return rgs[i] })
}

// getResourceGroup serves ResourceGroups.Get (the group exists: routing
// checked it).
func (s *Server) getResourceGroup(c *call) (*response, error) {
	sub := azureworld.Of(s.World).Subscriptions.Lookup(c.sub)
	rg := sub.ResourceGroups[strings.ToLower(c.vars["resourceGroupName"])]
	c.touch("Microsoft.Resources/resourceGroups", c.scope)
	return ok(resourceGroupJSON(sub.ID, rg)), nil
}

func subscriptionJSON(sub *azureworld.Subscription) map[string]any {
	return map[string]any{"id": "/subscriptions/" + sub.ID, "subscriptionId": sub.ID, "tenantId": sub.Tenant,
		"displayName": sub.Name, "state": "Enabled", "authorizationSource": "RoleBased", "managedByTenants": []any{},
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"}}
}

// listSubscriptions serves Subscriptions.List: the subscriptions in which
// the caller holds any role assignment.
func (s *Server) listSubscriptions(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	var subs []map[string]any
	for _, id := range az.Subscriptions.Keys() {
		for _, ra := range az.RoleAssignmentsOf(c.token.ObjectID) {
			if azureworld.ScopeCovers("/subscriptions/"+id, ra.Scope) || azureworld.ScopeCovers(ra.Scope, "/subscriptions/"+id) {
				subs = append(subs, subscriptionJSON(az.Subscriptions.Lookup(id)))
				break
			}
		}
	}
	return c.page(len(subs), func(i int) any { return subs[i] })
}

// getSubscription serves Subscriptions.Get for a subscription the caller
// can see.
func (s *Server) getSubscription(c *call) (*response, error) {
	return ok(subscriptionJSON(azureworld.Of(s.World).Subscriptions.Lookup(c.sub))), nil
}

// listTenants serves Tenants.List: the simulated directory.
func (s *Server) listTenants(c *call) (*response, error) {
	t := azureworld.Of(s.World).Tenant
	return c.page(1, func(int) any {
		return map[string]any{"id": "/tenants/" + t, "tenantId": t, "tenantCategory": "Home", "displayName": "firedrill simulated tenant",
			"defaultDomain": "firedrill.onmicrosoft.com", "domains": []string{"firedrill.onmicrosoft.com"}, "countryCode": "US"}
	})
}
