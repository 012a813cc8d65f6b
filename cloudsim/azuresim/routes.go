package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// resolve maps an ARM path (case-insensitively) to its operation: the RBAC
// action, the scope it is authorized on, and the handler. Existence of the
// target is checked by the handler, after authorization, as ARM does.
func (s *Server) resolve(c *call) (*route, *armError) {
	l, segs := c.lsegs, c.segs
	n := len(l)
	if n < 2 || l[0] != "subscriptions" {
		return nil, errf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found. The simulator serves subscription-scoped ARM paths only.", c.path)
	}
	az := s.World.AzureLocked()
	var sub *world.AzureSubscription
	for _, id := range world.SortedKeys(az.Subscriptions) {
		if strings.EqualFold(id, segs[1]) {
			sub = az.Subscriptions[id]
		}
	}
	if sub == nil {
		return nil, errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", segs[1])
	}
	c.sub, c.location = sub.ID, sub.Location
	subScope := "/subscriptions/" + sub.ID

	// Extension resources ({scope}/providers/Microsoft.Authorization/…,
	// Microsoft.Resources/tags, Microsoft.Insights/metrics) hang off any
	// scope: find the last "providers" segment that starts one.
	for i := n - 2; i >= 2; i-- {
		if l[i] != "providers" {
			continue
		}
		ns := l[i+1]
		rest := l[i+2:]
		scope := "/" + strings.Join(segs[:i], "/")
		scope = canonicalScope(s.World, sub, scope)
		switch {
		case ns == "microsoft.authorization" && len(rest) >= 1 && rest[0] == "roleassignments":
			return s.roleAssignmentRoute(c, scope, segs[i+2:])
		case ns == "microsoft.authorization" && len(rest) >= 1 && rest[0] == "locks":
			return s.lockRoute(c, scope, segs[i+2:])
		case ns == "microsoft.resources" && len(rest) == 2 && rest[0] == "tags" && rest[1] == "default":
			return s.tagsRoute(c, scope)
		case ns == "microsoft.insights" && len(rest) == 1 && rest[0] == "metrics" && i > 2:
			return &route{action: "Microsoft.Insights/Metrics/Read", scope: scope, namespace: "Microsoft.Insights",
				handle: func(c *call) (*response, error) { return s.metrics(c, scope) }}, nil
		}
		if i != 2 {
			break
		}
		// Subscription-level provider routes.
		switch {
		case ns == "microsoft.insights" && strings.Join(rest, "/") == "eventtypes/management/values" && c.r.Method == http.MethodGet:
			return &route{action: "Microsoft.Insights/eventtypes/values/Read", scope: subScope, namespace: "Microsoft.Insights",
				latency: 450 * time.Millisecond, handle: s.activityLog}, nil
		case ns == "microsoft.insights" && strings.Join(rest, "/") == "metricalerts" && c.r.Method == http.MethodGet:
			return &route{action: "Microsoft.Insights/metricAlerts/read", scope: subScope, namespace: "Microsoft.Insights", handle: s.metricAlerts}, nil
		case ns == "microsoft.security" && strings.Join(rest, "/") == "alerts" && c.r.Method == http.MethodGet:
			return &route{action: "Microsoft.Security/alerts/read", scope: subScope, namespace: "Microsoft.Security",
				latency: 300 * time.Millisecond, handle: s.securityAlerts}, nil
		case (ns == "microsoft.compute" || ns == "microsoft.network") && len(rest) == 4 && rest[0] == "locations" &&
			(rest[2] == "operations" || rest[2] == "diskoperations") && c.r.Method == http.MethodGet:
			nsName := "Microsoft.Compute"
			if ns == "microsoft.network" {
				nsName = "Microsoft.Network"
			}
			opID := segs[i+5]
			return &route{action: nsName + "/locations/operations/read", scope: subScope, namespace: nsName, latency: 60 * time.Millisecond, anyCaller: true,
				handle: func(c *call) (*response, error) { return s.operationStatus(c, opID) }}, nil
		}
		break
	}

	if n < 4 || l[2] != "resourcegroups" {
		return nil, errf(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found in path '%s'.", c.path)
	}
	rg := sub.ResourceGroups[l[3]]
	if rg == nil {
		return nil, errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", segs[3])
	}
	if n < 8 || l[4] != "providers" {
		return nil, errf(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found in path '%s'.", c.path)
	}
	ns, typ, name, rest := l[5], l[6], segs[7], l[8:]
	rgName := rg.Name
	method := c.r.Method
	switch ns + "/" + typ {
	case "microsoft.compute/virtualmachines":
		return s.vmRoute(c, sub, rgName, name, rest, method)
	case "microsoft.compute/virtualmachinescalesets":
		if len(rest) == 2 && rest[0] == "virtualmachines" {
			return s.scaleSetVMRoute(c, sub, rgName, name, segs[9], method)
		}
	case "microsoft.compute/disks":
		if len(rest) == 0 && method == http.MethodGet {
			id := world.AzureResourceID(sub.ID, rgName, "Microsoft.Compute", "disks", name)
			return &route{action: "Microsoft.Compute/disks/read", scope: id, namespace: "Microsoft.Compute",
				handle: func(c *call) (*response, error) { return s.getDisk(c, id) }}, nil
		}
	case "microsoft.compute/snapshots":
		id := world.AzureResourceID(sub.ID, rgName, "Microsoft.Compute", "snapshots", name)
		if len(rest) == 0 && method == http.MethodGet {
			return &route{action: "Microsoft.Compute/snapshots/read", scope: id, namespace: "Microsoft.Compute",
				handle: func(c *call) (*response, error) { return s.getSnapshot(c, id) }}, nil
		}
		if len(rest) == 0 && method == http.MethodPut {
			return &route{action: "Microsoft.Compute/snapshots/write", scope: id, namespace: "Microsoft.Compute", latency: 600 * time.Millisecond,
				handle: func(c *call) (*response, error) { return s.putSnapshot(c, sub, rgName, name, id) }}, nil
		}
	case "microsoft.network/networkinterfaces":
		id := world.AzureResourceID(sub.ID, rgName, "Microsoft.Network", "networkInterfaces", name)
		if len(rest) == 0 && method == http.MethodGet {
			return &route{action: "Microsoft.Network/networkInterfaces/read", scope: id, namespace: "Microsoft.Network",
				handle: func(c *call) (*response, error) { return s.getNIC(c, id) }}, nil
		}
		if len(rest) == 0 && method == http.MethodPut {
			return &route{action: "Microsoft.Network/networkInterfaces/write", scope: id, namespace: "Microsoft.Network", latency: 500 * time.Millisecond,
				handle: func(c *call) (*response, error) { return s.putNIC(c, id) }}, nil
		}
	case "microsoft.network/networksecuritygroups":
		id := world.AzureResourceID(sub.ID, rgName, "Microsoft.Network", "networkSecurityGroups", name)
		if len(rest) == 0 && method == http.MethodGet {
			return &route{action: "Microsoft.Network/networkSecurityGroups/read", scope: id, namespace: "Microsoft.Network",
				handle: func(c *call) (*response, error) { return s.getNSG(c, id) }}, nil
		}
		if len(rest) == 0 && method == http.MethodPut {
			return &route{action: "Microsoft.Network/networkSecurityGroups/write", scope: id, namespace: "Microsoft.Network", latency: 700 * time.Millisecond,
				handle: func(c *call) (*response, error) { return s.putNSG(c, sub, rgName, name, id) }}, nil
		}
	}
	return nil, errf(http.StatusNotFound, "InvalidResourceType",
		"The resource type '%s/%s' (or the operation %s %s) is not served by the firedrill simulator.", segs[5], segs[6], method, strings.Join(segs[8:], "/"))
}

// canonicalScope returns the canonical-case id of a known resource scope
// (ARM ids are case-insensitive; records keep Azure's casing).
func canonicalScope(w *world.World, sub *world.AzureSubscription, scope string) string {
	az := w.AzureLocked()
	key := strings.ToLower(scope)
	if vm := az.VMs[key]; vm != nil {
		return vm.ID
	}
	if d := az.Disks[key]; d != nil {
		return d.ID
	}
	for _, m := range []map[string]string{az.NICs, az.Snapshots, az.VNets, az.Subnets} {
		if v, ok := m[key]; ok {
			return v
		}
	}
	if g := az.NSGs[key]; g != nil {
		return g.ID
	}
	if ss := az.ScaleSets[key]; ss != nil {
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
func scopeExists(w *world.World, sub *world.AzureSubscription, scope string) bool {
	segs := strings.Split(strings.Trim(strings.ToLower(scope), "/"), "/")
	switch {
	case len(segs) == 2:
		return true
	case len(segs) == 4:
		return sub.ResourceGroups[segs[3]] != nil
	}
	az := w.AzureLocked()
	key := strings.ToLower(scope)
	if vm := az.VMs[key]; vm != nil {
		return !vm.Deleted
	}
	if d, _ := w.AzureDiskLocked(scope); d != nil {
		return true
	}
	if w.AzureSnapshotLocked(scope) != nil || w.AzureNICLocked(scope) != nil || az.NSGs[key] != nil || az.ScaleSets[key] != nil {
		return true
	}
	_, ok := az.VNets[key]
	return ok
}

func notFoundResource(typ, name, rg string) *armError {
	return errf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

// asyncOp registers an operation status monitor and returns the headers of
// an asynchronous ARM answer: absolute Azure-AsyncOperation and Location URLs.
func (s *Server) asyncOp(c *call, namespace, kind, resource, runCommand string) map[string]string {
	az := s.World.AzureLocked()
	op := &world.AzureOperation{ID: s.World.GUIDLocked(), Resource: resource, Namespace: namespace, Location: c.location,
		Subscription: c.sub, Started: c.now, RunCommand: runCommand}
	az.Operations[op.ID] = op
	u := fmt.Sprintf("%s/subscriptions/%s/providers/%s/locations/%s/%s/%s", c.base, c.sub, namespace, c.location, kind, op.ID)
	v := c.query.Get("api-version")
	return map[string]string{"Azure-AsyncOperation": u + "?p=" + op.ID[:8] + "&api-version=" + v,
		"Location": u + "?p=" + op.ID[:8] + "&monitor=true&api-version=" + v}
}

// operationStatus answers a status poll. Ordinary operations are already
// done (first poll terminal, so SDK pollers never sleep); Run Command
// reports InProgress until its script has run.
func (s *Server) operationStatus(c *call, opID string) (*response, error) {
	az := s.World.AzureLocked()
	op := az.Operations[opID]
	if op == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "The operation '%s' was not found.", opID)
	}
	c.readOnly = true
	monitor := c.query.Get("monitor") == "true"
	body := map[string]any{"name": op.ID, "startTime": timeStr(op.Started)}
	status := world.AzureOpSucceeded
	var rc *world.AzureRunCommand
	if op.RunCommand != "" {
		rc = az.RunCommands[op.RunCommand]
		status = rc.Status
	}
	if op.FailCode != "" {
		status = world.AzureOpFailed
	}
	body["status"] = status
	if status != world.AzureOpInProgress {
		end := c.now
		if rc != nil && !rc.Done.IsZero() {
			end = rc.Done
		}
		body["endTime"] = timeStr(end)
	}
	switch {
	case status == world.AzureOpFailed:
		code, msg := op.FailCode, op.FailMessage
		if rc != nil {
			code, msg = rc.ErrorCode, rc.ErrorMessage
		}
		body["error"] = map[string]any{"code": code, "message": msg}
	case rc != nil && status == world.AzureOpSucceeded:
		body["properties"] = map[string]any{"output": runCommandResult(rc)}
	}
	if monitor {
		switch {
		case status == world.AzureOpInProgress:
			return &response{status: http.StatusAccepted, headers: map[string]string{"Location": c.base + c.r.URL.RequestURI(), "Retry-After": "10"}}, nil
		case rc != nil && status == world.AzureOpSucceeded:
			return ok(runCommandResult(rc)), nil
		case status == world.AzureOpFailed:
			return nil, errf(http.StatusConflict, body["error"].(map[string]any)["code"].(string), "%s", body["error"].(map[string]any)["message"])
		}
		return &response{status: http.StatusOK}, nil
	}
	return ok(body), nil
}

func runCommandResult(rc *world.AzureRunCommand) map[string]any {
	msg := "Enable succeeded: \n[stdout]\n" + world.Tail(rc.Stdout, world.AzureRunCommandOutputLimit) +
		"\n[stderr]\n" + world.Tail(rc.Stderr, world.AzureRunCommandOutputLimit)
	return map[string]any{"value": []any{map[string]any{"code": "ProvisioningState/succeeded", "level": "Info",
		"displayStatus": "Provisioning succeeded", "message": msg}}}
}
