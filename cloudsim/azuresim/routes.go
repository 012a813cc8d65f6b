package azuresim

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// route is one ARM operation of the route table: the request it answers, how
// it is authorized, what it costs and what it does. Adding an operation is
// one entry in armRoutes plus its handler.
type route struct {
	// method is the HTTP method answered; "" answers any method.
	method string
	// path is the ARM path template. Literal segments match
	// case-insensitively (ARM ids are case-insensitive) and name the
	// canonical case; {name} binds one segment as sent. A leading {scope}
	// binds the scope an extension resource hangs off (subscription, resource
	// group or resource), {resourceUri} such a scope below the subscription;
	// both end at the path's last "providers" segment, because ARM parses
	// extension resources from the right. A trailing {*} binds whatever
	// segments remain, for the catch-alls.
	path string
	// action is the RBAC action checked; its first segment is the resource
	// provider namespace used by the Activity Log and fault rules.
	action string
	// scope is the template of the authorization scope, rendered from the
	// path's variables with canonical subscription, resource group and
	// scope ids, so role assignments and audit records match Azure's casing.
	scope string
	// latency is the modelled base latency; 0 means the default by verb.
	latency time.Duration
	// anyCaller skips RBAC: operation status monitors are readable by any
	// authenticated caller that knows the URL (the one that started it),
	// and tenant-level lists show what the caller holds a role on.
	anyCaller bool
	// filtered marks a list that a caller who cannot read its whole scope
	// still gets, narrowed to the items it can read, as ARM lists.
	filtered bool
	// handle performs the operation, after authorization; existence of the
	// target is its concern, as ARM checks access before existence.
	handle func(c *call) (*response, error)
	// unserved, set instead of handle, answers a path ARM knows but the
	// simulator does not serve with ARM's error, before authorization.
	unserved func(c *call) *armError

	segs      []string // path split; literals lower-cased
	scopeSegs []string // scope split
	namespace string   // from action
	// subProvider marks /subscriptions/{subscriptionId}/providers/… routes,
	// which like {scope} routes bind at the last "providers" segment.
	subProvider bool
	// tenant marks routes above any subscription (/subscriptions, /tenants).
	tenant bool
}

// Path templates shared by the table.
const (
	subscriptionPath    = "/subscriptions/{subscriptionId}"
	rgPath              = subscriptionPath + "/resourceGroups/{resourceGroupName}"
	rgProvidersPath     = rgPath + "/providers"
	vmPath              = rgProvidersPath + "/Microsoft.Compute/virtualMachines/{vmName}"
	scaleSetVMPath      = scaleSetPath + "/virtualMachines/{instanceId}"
	diskPath            = rgProvidersPath + "/Microsoft.Compute/disks/{diskName}"
	snapshotPath        = rgProvidersPath + "/Microsoft.Compute/snapshots/{snapshotName}"
	nicPath             = rgProvidersPath + "/Microsoft.Network/networkInterfaces/{networkInterfaceName}"
	nsgPath             = rgProvidersPath + "/Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}"
	nsgRulePath         = nsgPath + "/securityRules/{securityRuleName}"
	roleAssignmentsPath = "{scope}/providers/Microsoft.Authorization/roleAssignments"
	roleDefinitionsPath = "{scope}/providers/Microsoft.Authorization/roleDefinitions"
	scaleSetPath        = rgProvidersPath + "/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}"
	vnetPath            = rgProvidersPath + "/Microsoft.Network/virtualNetworks/{virtualNetworkName}"
	locksPath           = "{scope}/providers/Microsoft.Authorization/locks"
	tagsPath            = "{scope}/providers/Microsoft.Resources/tags/default"
	subProvidersPath    = subscriptionPath + "/providers"
)

// armRoutes is the ARM surface of the simulator. The first route that
// matches the method and path wins, so a catch-all (unserved) follows the
// routes it stands behind, and extension routes precede resource-group
// routes, as ARM resolves extension resources before the resource group.
func (s *Server) armRoutes() []*route {
	const ms = time.Millisecond
	get, put, patch, post, del := http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodPost, http.MethodDelete
	rts := []*route{
		// Above any subscription.
		{method: get, path: "/subscriptions", action: "Microsoft.Resources/subscriptions/read", scope: "/", anyCaller: true, handle: s.listSubscriptions},
		{method: get, path: "/tenants", action: "Microsoft.Resources/tenants/read", scope: "/", anyCaller: true, handle: s.listTenants},

		// Extension resources at any scope.
		{method: get, path: roleAssignmentsPath, action: "Microsoft.Authorization/roleAssignments/read", scope: "{scope}", handle: s.listRoleAssignments},
		{method: get, path: roleAssignmentsPath + "/{roleAssignmentName}", action: "Microsoft.Authorization/roleAssignments/read", scope: "{scope}", handle: s.roleAssignment},
		{method: put, path: roleAssignmentsPath + "/{roleAssignmentName}", action: "Microsoft.Authorization/roleAssignments/write", scope: "{scope}", handle: s.putRoleAssignment},
		{method: del, path: roleAssignmentsPath + "/{roleAssignmentName}", action: "Microsoft.Authorization/roleAssignments/delete", scope: "{scope}", handle: s.roleAssignment},
		{path: roleAssignmentsPath + "/{*}", unserved: methodNotAllowed("The simulator serves role assignment list, get, put and delete.")},
		{method: get, path: roleDefinitionsPath, action: "Microsoft.Authorization/roleDefinitions/read", scope: "{scope}", handle: s.listRoleDefinitions},
		{method: get, path: roleDefinitionsPath + "/{roleDefinitionId}", action: "Microsoft.Authorization/roleDefinitions/read", scope: "{scope}", handle: s.getRoleDefinition},
		{path: roleDefinitionsPath + "/{*}", unserved: methodNotAllowed("The simulator serves role definition list and get.")},
		{method: get, path: locksPath, action: "Microsoft.Authorization/locks/read", scope: "{scope}", handle: s.listLocks},
		{method: put, path: locksPath + "/{lockName}", action: "Microsoft.Authorization/locks/write", scope: "{scope}", handle: s.putLock},
		{method: get, path: locksPath + "/{lockName}", action: "Microsoft.Authorization/locks/read", scope: "{scope}", handle: s.lock},
		{method: del, path: locksPath + "/{lockName}", action: "Microsoft.Authorization/locks/delete", scope: "{scope}", handle: s.lock},
		{path: locksPath + "/{*}", unserved: methodNotAllowed("The simulator serves lock list, get, put and delete.")},
		{method: get, path: tagsPath, action: "Microsoft.Resources/tags/read", scope: "{scope}", handle: s.tags},
		{path: tagsPath, action: "Microsoft.Resources/tags/write", scope: "{scope}", handle: s.tags}, // every other method writes
		{path: "{resourceUri}/providers/Microsoft.Insights/metrics", action: "Microsoft.Insights/Metrics/Read", scope: "{resourceUri}", handle: s.metrics},

		// The subscription, its resource groups and their resources.
		{method: get, path: subscriptionPath, action: "Microsoft.Resources/subscriptions/read", scope: subscriptionPath, handle: s.getSubscription},
		{method: get, path: subscriptionPath + "/resourceGroups", action: "Microsoft.Resources/subscriptions/resourceGroups/read", scope: subscriptionPath,
			filtered: true, handle: s.listResourceGroups},
		{method: get, path: rgPath, action: "Microsoft.Resources/subscriptions/resourceGroups/read", scope: rgPath, handle: s.getResourceGroup},
		{method: get, path: subscriptionPath + "/resources", action: "Microsoft.Resources/subscriptions/resources/read", scope: subscriptionPath,
			filtered: true, handle: s.list("")},
		{method: get, path: rgPath + "/resources", action: "Microsoft.Resources/subscriptions/resourceGroups/resources/read", scope: rgPath,
			filtered: true, handle: s.list("")},

		// Subscription-level provider operations.
		{method: get, path: subProvidersPath + "/Microsoft.Insights/eventtypes/management/values", action: "Microsoft.Insights/eventtypes/values/Read",
			scope: subscriptionPath, latency: 450 * ms, handle: s.activityLog},
		{method: get, path: subProvidersPath + "/Microsoft.Insights/metricAlerts", action: "Microsoft.Insights/metricAlerts/read", scope: subscriptionPath, handle: s.metricAlerts},
		{method: get, path: subProvidersPath + "/Microsoft.Security/alerts", action: "Microsoft.Security/alerts/read", scope: subscriptionPath,
			latency: 300 * ms, handle: s.securityAlerts},
		s.operationStatusRoute("Microsoft.Compute", "operations"),
		s.operationStatusRoute("Microsoft.Compute", "diskOperations"),
		s.operationStatusRoute("Microsoft.Network", "operations"),
		s.operationStatusRoute("Microsoft.Network", "diskOperations"),

		// Virtual machines.
		{method: get, path: vmPath, action: "Microsoft.Compute/virtualMachines/read", scope: vmPath, handle: s.onVM(s.getVM)},
		{method: patch, path: vmPath, action: "Microsoft.Compute/virtualMachines/write", scope: vmPath, latency: 400 * ms, handle: s.onVM(s.patchVM)},
		{method: get, path: vmPath + "/instanceView", action: "Microsoft.Compute/virtualMachines/instanceView/read", scope: vmPath, handle: s.onVM(s.getInstanceView)},
		{method: post, path: vmPath + "/deallocate", action: "Microsoft.Compute/virtualMachines/deallocate/action", scope: vmPath,
			latency: 300 * ms, handle: s.onVM(s.powerOff(true))},
		{method: post, path: vmPath + "/powerOff", action: "Microsoft.Compute/virtualMachines/powerOff/action", scope: vmPath,
			latency: 300 * ms, handle: s.onVM(s.powerOff(false))},
		{method: post, path: vmPath + "/start", action: "Microsoft.Compute/virtualMachines/start/action", scope: vmPath,
			latency: 300 * ms, handle: s.onVM(s.startVM)},
		{method: post, path: vmPath + "/runCommand", action: "Microsoft.Compute/virtualMachines/runCommand/action", scope: vmPath,
			latency: 400 * ms, handle: s.onVM(s.runCommand)},
		{path: vmPath + "/{*}", unserved: func(c *call) *armError {
			op := strings.TrimSuffix("virtualMachines/"+strings.ToLower(c.vars["*"]), "/")
			return errf(http.StatusNotFound, "InvalidResourceType", "The operation %s %s is not served by the firedrill simulator.", c.r.Method, op)
		}},

		// Scale sets.
		s.getRoute(scaleSetPath, typeScaleSet),
		{method: get, path: scaleSetPath + "/virtualMachines", action: typeScaleSetVM + "/read", scope: scaleSetPath, filtered: true, handle: s.listScaleSetVMs},

		// Scale-set VMs (flexible orchestration: protection policy).
		{method: get, path: scaleSetVMPath, action: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read", scope: scaleSetVMPath,
			handle: s.onScaleSetVM(s.getScaleSetVM)},
		{method: put, path: scaleSetVMPath, action: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write", scope: scaleSetVMPath,
			latency: 500 * ms, handle: s.onScaleSetVM(s.putScaleSetVM)},
		{path: scaleSetVMPath, unserved: func(c *call) *armError {
			return errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method %s is not allowed on scale-set VMs by the simulator.", c.r.Method)
		}},

		// Disks and snapshots.
		{method: get, path: diskPath, action: "Microsoft.Compute/disks/read", scope: diskPath, handle: s.getDisk},
		{method: get, path: snapshotPath, action: "Microsoft.Compute/snapshots/read", scope: snapshotPath, handle: s.getSnapshot},
		{method: put, path: snapshotPath, action: "Microsoft.Compute/snapshots/write", scope: snapshotPath, latency: 600 * ms, handle: s.putSnapshot},

		// Network interfaces and security groups.
		{method: get, path: nicPath, action: "Microsoft.Network/networkInterfaces/read", scope: nicPath, handle: s.getNIC},
		{method: put, path: nicPath, action: "Microsoft.Network/networkInterfaces/write", scope: nicPath, latency: 500 * ms, handle: s.putNIC},
		{method: get, path: nsgPath, action: "Microsoft.Network/networkSecurityGroups/read", scope: nsgPath, handle: s.getNSG},
		{method: put, path: nsgPath, action: "Microsoft.Network/networkSecurityGroups/write", scope: nsgPath, latency: 700 * ms, handle: s.putNSG},
		{method: get, path: nsgRulePath, action: "Microsoft.Network/networkSecurityGroups/securityRules/read", scope: nsgRulePath,
			handle: s.getNSGRule},
		{method: put, path: nsgRulePath, action: "Microsoft.Network/networkSecurityGroups/securityRules/write", scope: nsgRulePath,
			latency: 600 * ms, handle: s.putNSGRule},
		{method: del, path: nsgRulePath, action: "Microsoft.Network/networkSecurityGroups/securityRules/delete", scope: nsgRulePath,
			latency: 600 * ms, handle: s.deleteNSGRule},

		// Virtual networks, their subnets, and public IPs.
		s.getRoute(vnetPath, typeVNet),
		s.getRoute(vnetPath+"/subnets/{subnetName}", typeSubnet),
		{method: get, path: vnetPath + "/subnets", action: typeSubnet + "/read", scope: vnetPath, filtered: true, handle: s.listSubnets},
		s.getRoute(rgProvidersPath+"/Microsoft.Network/publicIPAddresses/{publicIpAddressName}", typePublicIP),
	}
	// Every list at subscription and resource-group scope.
	for _, typ := range []string{typeVM, typeScaleSet, typeDisk, typeSnapshot, typeNIC, typeNSG, typeVNet, typePublicIP, typeStorage} {
		rts = append(rts, s.listRoutes(typ)...)
	}
	return append(rts,
		// Anything else under a provider of the subscription or of an
		// existing resource group.
		&route{path: subProvidersPath + "/{namespace}/{*}", unserved: unservedProvider},
		&route{path: rgProvidersPath + "/{namespace}/{*}", unserved: unservedProvider},
		// Last, so that any other path under a resource group still answers
		// ResourceGroupNotFound for a missing group (canonicalVars) first.
		&route{path: rgPath + "/{*}", unserved: typeNotInPath},
	)
}

// servedNamespaces are the resource providers the simulator serves some
// operations of.
var servedNamespaces = []string{"Microsoft.Authorization", "Microsoft.Compute", "Microsoft.Insights", "Microsoft.Network",
	"Microsoft.Resources", "Microsoft.Security", "Microsoft.Storage"}

// unservedProvider answers an operation of a provider the simulator does
// not serve: NoRegisteredProviderFound for an unknown namespace,
// InvalidResourceType for an unserved type of a served one, as ARM does,
// naming the operation.
func unservedProvider(c *call) *armError {
	ns := c.vars["namespace"]
	parts := strings.Split(c.vars["*"], "/")
	typ := parts[0]
	for i := 2; i < len(parts); i += 2 {
		typ += "/" + parts[i]
	}
	op := c.r.Method + " " + ns + "/" + typ
	for _, known := range servedNamespaces {
		if strings.EqualFold(known, ns) {
			return errf(http.StatusNotFound, "InvalidResourceType",
				"The resource type '%s' could not be found in the namespace '%s' for api version '%s': the firedrill simulator does not serve the operation '%s'.",
				typ, known, c.query.Get("api-version"), op)
		}
	}
	return errf(http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for location '%s' and API version '%s' for type '%s': the firedrill simulator does not serve the operation '%s'. It serves the namespaces %s.",
		c.location, c.query.Get("api-version"), typ, op, strings.Join(servedNamespaces, ", "))
}

// operationStatusRoute is the status monitor of a provider's asynchronous
// operations (asyncOp), polled by SDK pollers.
func (s *Server) operationStatusRoute(namespace, kind string) *route {
	return &route{method: http.MethodGet, path: subProvidersPath + "/" + namespace + "/locations/{location}/" + kind + "/{operationId}",
		action: namespace + "/locations/operations/read", scope: subscriptionPath, latency: 60 * time.Millisecond, anyCaller: true,
		handle: s.operationStatus}
}

func methodNotAllowed(msg string) func(*call) *armError {
	return func(*call) *armError { return errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s", msg) }
}

func typeNotInPath(c *call) *armError {
	return errf(http.StatusNotFound, "InvalidResourceType",
		"The resource type could not be found in path '%s': the firedrill simulator does not serve the operation '%s %s'.", c.path, c.r.Method, c.path)
}

// compileRoutes splits the templates once. A malformed template is a
// programming error and panics when the server is built.
func compileRoutes(rts []*route) []*route {
	for _, rt := range rts {
		rt.segs = splitTemplate(rt.path)
		for i, sg := range rt.segs {
			name, isVar := templateVar(sg)
			switch {
			case !isVar:
				rt.segs[i] = strings.ToLower(sg)
			case (name == "scope" || name == "resourceUri") && i != 0, name == "*" && i != len(rt.segs)-1:
				panic("azuresim: route " + rt.path + ": " + sg + " out of place")
			}
		}
		rt.subProvider = len(rt.segs) > 2 && rt.segs[2] == "providers"
		rt.tenant = len(rt.segs) == 1
		if (rt.handle == nil) == (rt.unserved == nil) {
			panic("azuresim: route " + rt.path + " needs exactly one of handle and unserved")
		}
		if rt.handle == nil {
			continue
		}
		if rt.action == "" || rt.scope == "" {
			panic("azuresim: route " + rt.path + " needs an action and a scope")
		}
		rt.namespace, _, _ = strings.Cut(rt.action, "/")
		rt.scopeSegs = splitTemplate(rt.scope)
		for _, sg := range rt.scopeSegs {
			if _, isVar := templateVar(sg); isVar && !slices.Contains(rt.segs, sg) {
				panic("azuresim: route " + rt.path + ": scope variable " + sg + " is not in the path")
			}
		}
	}
	return rts
}

// splitTemplate splits a path template into segments; a leading slash is
// implied ({scope} templates have none).
func splitTemplate(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// templateVar names a template segment's variable, if it is one.
func templateVar(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// lastProviders is the index of the segment extension and provider routes
// bind at: the last "providers" before the final segment, or -1.
func lastProviders(l []string) int {
	for i := len(l) - 2; i >= 2; i-- {
		if l[i] == "providers" {
			return i
		}
	}
	return -1
}

// match reports whether rt answers method on the path, with the path's
// variables as sent (segs) and the provider anchor of lastProviders.
func (rt *route) match(method string, segs, l []string, anchor int) (map[string]string, bool) {
	if rt.method != "" && rt.method != method {
		return nil, false
	}
	vars := map[string]string{}
	tmpl, i := rt.segs, 0
	if name, _ := templateVar(tmpl[0]); name == "scope" || name == "resourceUri" {
		if anchor < 0 || (name == "resourceUri" && anchor == 2) {
			return nil, false
		}
		vars[name] = "/" + strings.Join(segs[:anchor], "/")
		tmpl, i = tmpl[1:], anchor
	} else if rt.subProvider && anchor != 2 {
		return nil, false
	}
	for _, t := range tmpl {
		name, isVar := templateVar(t)
		switch {
		case name == "*":
			vars[name] = strings.Join(segs[i:], "/")
			return vars, true
		case i >= len(l):
			return nil, false
		case isVar:
			vars[name] = segs[i]
		case t != l[i]:
			return nil, false
		}
		i++
	}
	return vars, i == len(l)
}

// resolve maps an ARM path to its route in ARM's order: the subscription
// must exist, then an extension resource binds at any scope, then the
// resource group must exist, then the provider's type. It leaves the path
// variables (canonical where ARM canonicalizes them) in c.vars and the
// rendered authorization scope in c.scope.
func (s *Server) resolve(c *call) (*route, *armError) {
	l, segs := c.lsegs, c.segs
	if len(l) < 2 || l[0] != "subscriptions" {
		for _, rt := range s.routes {
			if vars, ok := rt.match(c.r.Method, segs, l, -1); ok && rt.tenant {
				c.vars, c.scope = vars, "/"
				return rt, nil
			}
		}
		return nil, errf(http.StatusNotFound, "InvalidResourceType",
			"The resource type '%s' could not be found: the firedrill simulator does not serve the operation '%s %s'. It serves /subscriptions, /tenants and subscription-scoped ARM paths.",
			c.path, c.r.Method, c.path)
	}
	az := azureworld.Of(s.World)
	var sub *azureworld.Subscription
	for _, id := range az.Subscriptions.Keys() {
		if strings.EqualFold(id, segs[1]) {
			sub = az.Subscriptions.Lookup(id)
		}
	}
	if sub == nil {
		return nil, errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", segs[1])
	}
	c.sub, c.location = sub.ID, sub.Location

	anchor := lastProviders(l)
	for _, rt := range s.routes {
		vars, ok := rt.match(c.r.Method, segs, l, anchor)
		if !ok || rt.tenant {
			continue
		}
		if aerr := s.canonicalVars(sub, vars); aerr != nil {
			return nil, aerr
		}
		c.vars = vars
		if rt.unserved != nil {
			return nil, rt.unserved(c)
		}
		c.scope = rt.renderScope(vars)
		return rt, nil
	}
	return nil, typeNotInPath(c)
}

// renderScope fills the route's scope template with the (canonical) path
// variables; {scope} and {resourceUri} values carry their own leading slash.
func (rt *route) renderScope(vars map[string]string) string {
	out := make([]string, len(rt.scopeSegs))
	for i, sg := range rt.scopeSegs {
		if name, isVar := templateVar(sg); isVar {
			sg = strings.TrimPrefix(vars[name], "/")
		}
		out[i] = sg
	}
	return "/" + strings.Join(out, "/")
}

// canonicalVars replaces the variables ARM resolves with their canonical
// ids: the subscription, the resource group (which must exist: ARM answers
// ResourceGroupNotFound before looking at the provider), and scopes.
func (s *Server) canonicalVars(sub *azureworld.Subscription, vars map[string]string) *armError {
	if _, ok := vars["subscriptionId"]; ok {
		vars["subscriptionId"] = sub.ID
	}
	if v, ok := vars["resourceGroupName"]; ok {
		rg := sub.ResourceGroups[strings.ToLower(v)]
		if rg == nil {
			return errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", v)
		}
		vars["resourceGroupName"] = rg.Name
	}
	for _, name := range []string{"scope", "resourceUri"} {
		if v, ok := vars[name]; ok {
			vars[name] = canonicalScope(s.World, sub, v)
		}
	}
	return nil
}

// canonicalScope returns the canonical-case id of a known resource scope
// (ARM ids are case-insensitive; records keep Azure's casing).
func canonicalScope(w *world.World, sub *azureworld.Subscription, scope string) string {
	az := azureworld.Of(w)
	key := strings.ToLower(scope)
	if vm := az.VMs.Lookup(key); vm != nil {
		return vm.ID
	}
	if d := az.Disks.Lookup(key); d != nil {
		return d.ID
	}
	for _, t := range []*world.Table[string]{&az.NICs, &az.Snapshots, &az.VNets, &az.Subnets} {
		if v, ok := t.Get(key); ok {
			return v
		}
	}
	if g := az.NSGs.Lookup(key); g != nil {
		return g.ID
	}
	if ss := az.ScaleSets.Lookup(key); ss != nil {
		return ss.ID
	}
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		segs[0], segs[1] = "subscriptions", sub.ID
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			segs[2] = "resourceGroups"
			if rg := sub.ResourceGroups[strings.ToLower(segs[3])]; rg != nil {
				segs[3] = rg.Name
			}
		}
	}
	return "/" + strings.Join(segs, "/")
}

// scopeExists reports whether a lock or tag scope names a known resource.
func scopeExists(w *world.World, sub *azureworld.Subscription, scope string) bool {
	segs := strings.Split(strings.Trim(strings.ToLower(scope), "/"), "/")
	switch {
	case len(segs) == 2:
		return true
	case len(segs) == 4:
		return sub.ResourceGroups[segs[3]] != nil
	}
	az := azureworld.Of(w)
	key := strings.ToLower(scope)
	if vm := az.VMs.Lookup(key); vm != nil {
		return !vm.Deleted
	}
	if d, _ := azureworld.Of(w).Disk(scope); d != nil {
		return true
	}
	if azureworld.Of(w).Snapshot(scope) != nil || azureworld.Of(w).NIC(scope) != nil || az.NSGs.Lookup(key) != nil || az.ScaleSets.Lookup(key) != nil {
		return true
	}
	_, ok := az.VNets.Get(key)
	return ok
}

func notFoundResource(typ, name, rg string) *armError {
	return errf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

// asyncOp registers an operation status monitor and returns the headers of
// an asynchronous ARM answer: absolute Azure-AsyncOperation and Location URLs.
func (s *Server) asyncOp(c *call, namespace, kind, resource, runCommand string) map[string]string {
	az := azureworld.Of(s.World)
	op := &azureworld.Operation{ID: s.World.GUIDLocked(), Resource: resource, Namespace: namespace, Location: c.location,
		Subscription: c.sub, Started: c.now, RunCommand: runCommand}
	az.Operations.Put(op.ID, op)
	u := fmt.Sprintf("%s/subscriptions/%s/providers/%s/locations/%s/%s/%s", c.base, c.sub, namespace, c.location, kind, op.ID)
	v := c.query.Get("api-version")
	return map[string]string{"Azure-AsyncOperation": u + "?p=" + op.ID[:8] + "&api-version=" + v,
		"Location": u + "?p=" + op.ID[:8] + "&monitor=true&api-version=" + v}
}

// operationStatus answers a status poll. Ordinary operations are already
// done (first poll terminal, so SDK pollers never sleep); Run Command
// reports InProgress until its script has run.
func (s *Server) operationStatus(c *call) (*response, error) {
	opID := c.vars["operationId"]
	az := azureworld.Of(s.World)
	op := az.Operations.Lookup(opID)
	if op == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "The operation '%s' was not found.", opID)
	}
	c.readOnly = true
	monitor := c.query.Get("monitor") == "true"
	body := map[string]any{"name": op.ID, "startTime": timeStr(op.Started)}
	status := azureworld.OpSucceeded
	var rc *azureworld.RunCommand
	if op.RunCommand != "" {
		rc = az.RunCommands.Lookup(op.RunCommand)
		status = rc.Status
	}
	if op.FailCode != "" {
		status = azureworld.OpFailed
	}
	body["status"] = status
	if status != azureworld.OpInProgress {
		end := c.now
		if rc != nil && !rc.Done.IsZero() {
			end = rc.Done
		}
		body["endTime"] = timeStr(end)
	}
	switch {
	case status == azureworld.OpFailed:
		code, msg := op.FailCode, op.FailMessage
		if rc != nil {
			code, msg = rc.ErrorCode, rc.ErrorMessage
		}
		body["error"] = map[string]any{"code": code, "message": msg}
	case rc != nil && status == azureworld.OpSucceeded:
		body["properties"] = map[string]any{"output": runCommandResult(rc)}
	}
	if monitor {
		switch {
		case status == azureworld.OpInProgress:
			return &response{status: http.StatusAccepted, headers: map[string]string{"Location": c.base + c.r.URL.RequestURI(), "Retry-After": "10"}}, nil
		case rc != nil && status == azureworld.OpSucceeded:
			return ok(runCommandResult(rc)), nil
		case status == azureworld.OpFailed:
			return nil, errf(http.StatusConflict, body["error"].(map[string]any)["code"].(string), "%s", body["error"].(map[string]any)["message"])
		}
		return &response{status: http.StatusOK}, nil
	}
	return ok(body), nil
}

func runCommandResult(rc *azureworld.RunCommand) map[string]any {
	msg := "Enable succeeded: \n[stdout]\n" + azureworld.Tail(rc.Stdout, azureworld.RunCommandOutputLimit) +
		"\n[stderr]\n" + azureworld.Tail(rc.Stderr, azureworld.RunCommandOutputLimit)
	return map[string]any{"value": []any{map[string]any{"code": "ProvisioningState/succeeded", "level": "Info",
		"displayStatus": "Provisioning succeeded", "message": msg}}}
}

// blobActions are the authorization actions of the blob data plane
// (serveBlob), which has no ARM route.
var blobActions = []string{
	"Microsoft.Storage/storageAccounts/blobServices/containers/read",
	"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
	"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
}

// Operations lists every operation the simulated Azure serves, derived
// from the route table: Service is the resource provider namespace, Name
// the action as the Activity Log and RBAC name it without the namespace
// ("virtualMachines/read"), sorted and without repeats (a list and a get
// share their read action, as in Azure).
func Operations() []simcloud.Operation {
	seen := map[simcloud.Operation]bool{}
	add := func(action string) {
		ns, name, _ := strings.Cut(action, "/")
		seen[simcloud.Operation{Service: ns, Name: name}] = true
	}
	for _, rt := range New(nil).routes {
		if rt.handle != nil {
			add(rt.action)
		}
	}
	for _, a := range blobActions {
		add(a)
	}
	out := slices.Collect(maps.Keys(seen))
	slices.SortFunc(out, func(a, b simcloud.Operation) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Name, b.Name))
	})
	return out
}
