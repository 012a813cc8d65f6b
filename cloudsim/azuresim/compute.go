package azuresim

import (
	"maps"
	"net/http"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// onVM wraps a VM operation: the VM of the path must exist (checked after
// authorization, as ARM does) and is recorded as the resource touched.
func (s *Server) onVM(h func(c *call, vm *azureworld.VM) (*response, error)) func(c *call) (*response, error) {
	return func(c *call) (*response, error) {
		vm := azureworld.Of(s.World).VM(c.scope)
		if vm == nil || vm.Deleted {
			return nil, notFoundResource("Microsoft.Compute/virtualMachines", c.vars["vmName"], c.vars["resourceGroupName"])
		}
		c.location = vm.Location
		c.touch("Microsoft.Compute/virtualMachines", vm.ID)
		return h(c, vm)
	}
}

func (s *Server) getVM(c *call, vm *azureworld.VM) (*response, error) {
	return ok(s.vmJSON(vm, strings.EqualFold(c.query.Get("$expand"), "instanceView"))), nil
}

func (s *Server) getInstanceView(_ *call, vm *azureworld.VM) (*response, error) {
	return ok(s.instanceViewJSON(vm)), nil
}

// powerOff serves deallocate (deallocate true) and powerOff: 202 with
// monitors whose first poll is Succeeded.
func (s *Server) powerOff(deallocate bool) func(c *call, vm *azureworld.VM) (*response, error) {
	return func(c *call, vm *azureworld.VM) (*response, error) {
		if l := azureworld.Of(s.World).LockBlocking(vm.ID, true); l != nil {
			return nil, scopeLocked(vm.ID, l, "write")
		}
		hibernate := strings.EqualFold(c.query.Get("hibernate"), "true")
		c.param("hibernate", c.query.Get("hibernate"))
		c.param("skipShutdown", c.query.Get("skipShutdown"))
		if err := azureworld.Of(s.World).PowerOff(vm, deallocate, hibernate); err != nil {
			return nil, err
		}
		return &response{status: http.StatusAccepted, headers: s.asyncOp(c, "Microsoft.Compute", "operations", vm.ID, "")}, nil
	}
}

// startVM starts a stopped or deallocated VM: 202 with monitors whose
// first poll is Succeeded while the VM boots (PowerState/starting).
func (s *Server) startVM(c *call, vm *azureworld.VM) (*response, error) {
	if l := azureworld.Of(s.World).LockBlocking(vm.ID, true); l != nil {
		return nil, scopeLocked(vm.ID, l, "write")
	}
	if err := azureworld.Of(s.World).StartVM(vm); err != nil {
		return nil, err
	}
	return &response{status: http.StatusAccepted, headers: s.asyncOp(c, "Microsoft.Compute", "operations", vm.ID, "")}, nil
}

func scopeLocked(id string, l *azureworld.Lock, op string) *armError {
	return errf(http.StatusConflict, "ScopeLocked",
		"The scope '%s' cannot perform %s operation because following scope(s) are locked: '%s'. Please remove the lock and try again.", id, op, l.Scope)
}

// vmUpdate is the part of VirtualMachineUpdate the simulator applies.
type vmUpdate struct {
	Tags     *map[string]string `json:"tags"`
	Identity *struct {
		Type string `json:"type"`
	} `json:"identity"`
	Properties *struct {
		StorageProfile *struct {
			OSDisk *struct {
				DeleteOption string `json:"deleteOption"`
			} `json:"osDisk"`
			DataDisks []struct {
				Lun          int    `json:"lun"`
				DeleteOption string `json:"deleteOption"`
			} `json:"dataDisks"`
		} `json:"storageProfile"`
	} `json:"properties"`
}

// patchVM applies a VirtualMachines.BeginUpdate: tags (replaced wholesale,
// as PATCH does), identity type, disk delete options. It answers 200 with
// the VM "Updating" and an Azure-AsyncOperation monitor whose first poll
// is Succeeded.
func (s *Server) patchVM(c *call, vm *azureworld.VM) (*response, error) {
	var u vmUpdate
	if err := c.decodeBody(&u); err != nil {
		return nil, err
	}
	if l := azureworld.Of(s.World).LockBlocking(vm.ID, true); l != nil {
		return nil, scopeLocked(vm.ID, l, "write")
	}
	inst := s.World.Instances.Lookup(vm.ID)
	if u.Identity != nil {
		typ := u.Identity.Type
		if strings.EqualFold(typ, "none") {
			typ = "None"
		} else if strings.EqualFold(typ, "systemassigned") {
			typ = "SystemAssigned"
		}
		if err := azureworld.Of(s.World).SetVMIdentity(vm, typ); err != nil {
			return nil, err
		}
		c.param("identityType", typ)
	}
	if u.Tags != nil {
		inst.Tags = world.Tags{}
		maps.Copy(inst.Tags, *u.Tags)
	}
	if u.Properties != nil && u.Properties.StorageProfile != nil {
		sp := u.Properties.StorageProfile
		az := azureworld.Of(s.World)
		set := func(diskID, opt string) error {
			if opt == "" {
				return nil
			}
			if opt != "Delete" && opt != "Detach" {
				return errf(http.StatusBadRequest, "InvalidParameter", "The value '%s' of parameter 'deleteOption' is invalid. Allowed values are 'Delete' and 'Detach'.", opt)
			}
			if d := az.Disks.Lookup(strings.ToLower(diskID)); d != nil {
				d.DeleteOption = opt
				for i := range inst.BlockDevices {
					if strings.EqualFold(inst.BlockDevices[i].VolumeID, diskID) {
						inst.BlockDevices[i].DeleteOnTermination = opt == "Delete"
					}
				}
			}
			return nil
		}
		if sp.OSDisk != nil {
			if err := set(vm.OSDisk, sp.OSDisk.DeleteOption); err != nil {
				return nil, err
			}
		}
		for _, dd := range sp.DataDisks {
			if dd.Lun < 0 || dd.Lun >= len(vm.DataDisks) {
				return nil, errf(http.StatusBadRequest, "InvalidParameter", "Data disk with lun %d is not attached to VM '%s'.", dd.Lun, vm.Name)
			}
			if err := set(vm.DataDisks[dd.Lun], dd.DeleteOption); err != nil {
				return nil, err
			}
		}
	}
	body := s.vmJSON(vm, false)
	body["properties"].(map[string]any)["provisioningState"] = "Updating"
	h := s.asyncOp(c, "Microsoft.Compute", "operations", vm.ID, "")
	delete(h, "Location")
	return &response{status: http.StatusOK, body: body, headers: h}, nil
}

// runCommand starts an action Run Command: 202 with monitors; the status
// stays InProgress until the script has run on the VM.
func (s *Server) runCommand(c *call, vm *azureworld.VM) (*response, error) {
	var in struct {
		CommandID string   `json:"commandId"`
		Script    []string `json:"script"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if in.CommandID != "RunShellScript" && in.CommandID != "RunPowerShellScript" {
		return nil, errf(http.StatusBadRequest, "InvalidParameter", "The value '%s' of parameter 'commandId' is invalid; the simulator runs RunShellScript.", in.CommandID)
	}
	if in.CommandID == "RunPowerShellScript" {
		return nil, errf(http.StatusBadRequest, "InvalidParameter", "Command 'RunPowerShellScript' is not supported for OS type 'Linux'.")
	}
	rc, err := azureworld.Of(s.World).StartRunCommand(vm, in.CommandID, in.Script, c.token.ObjectID, s.RunCommand)
	if err != nil {
		if ce, ok := world.ComputeErrorOf(err); ok && ce.Kind == world.KindIncorrectState {
			code := "OperationNotAllowed"
			if strings.HasPrefix(ce.Msg, "Run command extension execution is in progress") {
				code = "Conflict"
			}
			return nil, errf(http.StatusConflict, code, "%s", ce.Msg)
		}
		return nil, err
	}
	c.param("commandId", in.CommandID)
	c.param("runCommand", rc.ID)
	return &response{status: http.StatusAccepted, headers: s.asyncOp(c, "Microsoft.Compute", "operations", vm.ID, rc.ID)}, nil
}

func powerCode(state string) (string, string) {
	switch state {
	case "starting":
		return "PowerState/starting", "VM starting"
	case "running":
		return "PowerState/running", "VM running"
	case "stopping":
		return "PowerState/stopping", "VM stopping"
	case "stopped":
		return "PowerState/stopped", "VM stopped"
	case "deallocating":
		return "PowerState/deallocating", "VM deallocating"
	case "deallocated":
		return "PowerState/deallocated", "VM deallocated"
	}
	return "PowerState/unknown", "VM status unknown"
}

func (s *Server) instanceViewJSON(vm *azureworld.VM) map[string]any {
	now := s.World.Now()
	code, display := powerCode(vm.PowerState)
	agent := map[string]any{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
		"message": "Guest Agent is running", "time": timeStr(now)}
	if ok, why := azureworld.Of(s.World).AgentReachable(vm); !ok {
		agent = map[string]any{"code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
			"message": "VM Agent is unresponsive. " + why, "time": timeStr(now)}
	}
	var disks []any
	for _, d := range append([]string{vm.OSDisk}, vm.DataDisks...) {
		disks = append(disks, map[string]any{"name": lastSeg(d), "statuses": []any{map[string]any{
			"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": timeStr(vm.TimeCreated)}}})
	}
	return map[string]any{
		"computerName": vm.ComputerName, "osName": "ubuntu", "osVersion": "24.04",
		"hyperVGeneration": "V2",
		"vmAgent":          map[string]any{"vmAgentVersion": "2.12.0.2", "statuses": []any{agent}},
		"disks":            disks,
		"statuses": []any{
			map[string]any{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": timeStr(vm.TimeCreated)},
			map[string]any{"code": code, "level": "Info", "displayStatus": display},
		},
	}
}

func lastSeg(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func (s *Server) vmJSON(vm *azureworld.VM, expand bool) map[string]any {
	w := s.World
	inst := w.Instances.Lookup(vm.ID)
	az := azureworld.Of(w)
	diskJSON := func(id string, lun int) map[string]any {
		d := az.Disks.Lookup(strings.ToLower(id))
		size := 0
		if v := w.Volumes.Lookup(id); v != nil {
			size = v.SizeGiB
		}
		m := map[string]any{"name": lastSeg(id), "caching": "ReadWrite", "diskSizeGB": size,
			"managedDisk": map[string]any{"id": id, "storageAccountType": "Premium_LRS"}}
		if d != nil {
			m["deleteOption"] = d.DeleteOption
		}
		if lun < 0 {
			m["osType"], m["createOption"] = "Linux", "FromImage"
		} else {
			m["lun"], m["createOption"], m["caching"] = lun, "Empty", "None"
		}
		return m
	}
	var dataDisks []any
	for i, d := range vm.DataDisks {
		dataDisks = append(dataDisks, diskJSON(d, i))
	}
	var nics []any
	for i, n := range inst.ENIs {
		nics = append(nics, map[string]any{"id": n, "properties": map[string]any{"primary": i == 0, "deleteOption": nicDeleteOption(w, n)}})
	}
	props := map[string]any{
		"vmId": vm.VMID, "provisioningState": "Succeeded", "timeCreated": timeStr(vm.TimeCreated),
		"hardwareProfile": map[string]any{"vmSize": vm.Size},
		"storageProfile": map[string]any{
			"imageReference": map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest", "exactVersion": "24.04.202611010"},
			"osDisk":         diskJSON(vm.OSDisk, -1), "dataDisks": nonNil(dataDisks)},
		"osProfile":              map[string]any{"computerName": vm.ComputerName, "adminUsername": "azureuser", "linuxConfiguration": map[string]any{"disablePasswordAuthentication": true, "provisionVMAgent": true}},
		"networkProfile":         map[string]any{"networkInterfaces": nonNil(nics)},
		"additionalCapabilities": map[string]any{"hibernationEnabled": vm.HibernationEnabled},
	}
	if vm.ScaleSet != "" {
		props["virtualMachineScaleSet"] = map[string]any{"id": vm.ScaleSet}
	}
	if expand {
		props["instanceView"] = s.instanceViewJSON(vm)
	}
	out := map[string]any{"id": vm.ID, "name": vm.Name, "type": "Microsoft.Compute/virtualMachines", "location": vm.Location,
		"tags": tagsOrEmpty(inst.Tags), "properties": props}
	if vm.IdentityType == "SystemAssigned" {
		out["identity"] = map[string]any{"type": "SystemAssigned", "principalId": vm.PrincipalID, "tenantId": az.Tenant}
	}
	return out
}

func nicDeleteOption(w *world.World, nicID string) string {
	if e := w.ENIs.Lookup(nicID); e != nil && e.DeleteOnTermination {
		return "Delete"
	}
	return "Detach"
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func tagsOrEmpty(t world.Tags) map[string]string {
	out := map[string]string{}
	maps.Copy(out, t)
	return out
}

// ---- scale-set VMs -----------------------------------------------------------

// onScaleSetVM wraps a scale-set VM operation: the scale set and its VM
// must exist (checked after authorization) and both are recorded.
func (s *Server) onScaleSetVM(h func(c *call, ss *azureworld.ScaleSet, vm *azureworld.VM) (*response, error)) func(c *call) (*response, error) {
	return func(c *call) (*response, error) {
		rg, ssName, instanceID := c.vars["resourceGroupName"], c.vars["vmScaleSetName"], c.vars["instanceId"]
		ssID := azureworld.ResourceID(c.sub, rg, "Microsoft.Compute", "virtualMachineScaleSets", ssName)
		ss := azureworld.Of(s.World).ScaleSet(ssID)
		if ss == nil {
			return nil, notFoundResource("Microsoft.Compute/virtualMachineScaleSets", ssName, rg)
		}
		vm := azureworld.Of(s.World).ScaleSetVM(ssID, instanceID)
		if vm == nil {
			return nil, notFoundResource("Microsoft.Compute/virtualMachineScaleSets/virtualMachines", ssName+"/"+instanceID, rg)
		}
		c.location = vm.Location
		c.touch("Microsoft.Compute/virtualMachineScaleSets/virtualMachines", ss.ID+"/virtualMachines/"+instanceID)
		c.touch("Microsoft.Compute/virtualMachines", vm.ID)
		return h(c, ss, vm)
	}
}

func (s *Server) getScaleSetVM(c *call, ss *azureworld.ScaleSet, vm *azureworld.VM) (*response, error) {
	return ok(s.scaleSetVMJSON(ss, vm, strings.EqualFold(c.query.Get("$expand"), "instanceView"))), nil
}

// putScaleSetVM applies a scale-set VM update: its protection policy.
func (s *Server) putScaleSetVM(c *call, ss *azureworld.ScaleSet, vm *azureworld.VM) (*response, error) {
	var in struct {
		Properties *struct {
			ProtectionPolicy *struct {
				ProtectFromScaleIn         *bool `json:"protectFromScaleIn"`
				ProtectFromScaleSetActions *bool `json:"protectFromScaleSetActions"`
			} `json:"protectionPolicy"`
		} `json:"properties"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if l := azureworld.Of(s.World).LockBlocking(vm.ID, true); l != nil {
		return nil, scopeLocked(vm.ID, l, "write")
	}
	if in.Properties != nil && in.Properties.ProtectionPolicy != nil {
		pp := in.Properties.ProtectionPolicy
		if pp.ProtectFromScaleIn != nil {
			vm.ProtectFromScaleIn = *pp.ProtectFromScaleIn
		}
		if pp.ProtectFromScaleSetActions != nil {
			vm.ProtectFromScaleSetActions = *pp.ProtectFromScaleSetActions
		}
		c.param("protectFromScaleIn", boolStr(vm.ProtectFromScaleIn))
		c.param("protectFromScaleSetActions", boolStr(vm.ProtectFromScaleSetActions))
	}
	h := s.asyncOp(c, "Microsoft.Compute", "operations", vm.ID, "")
	delete(h, "Location")
	return &response{status: http.StatusOK, body: s.scaleSetVMJSON(ss, vm, false), headers: h}, nil
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) scaleSetVMJSON(ss *azureworld.ScaleSet, vm *azureworld.VM, expand bool) map[string]any {
	full := s.vmJSON(vm, expand)
	props := full["properties"].(map[string]any)
	props["latestModelApplied"] = true
	props["protectionPolicy"] = map[string]any{"protectFromScaleIn": vm.ProtectFromScaleIn, "protectFromScaleSetActions": vm.ProtectFromScaleSetActions}
	delete(props, "virtualMachineScaleSet")
	return map[string]any{"id": ss.ID + "/virtualMachines/" + vm.InstanceID, "name": ss.Name + "_" + vm.InstanceID,
		"instanceId": vm.InstanceID, "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
		"location": vm.Location, "tags": full["tags"], "identity": full["identity"], "properties": props}
}

// ---- disks and snapshots -----------------------------------------------------

func (s *Server) getDisk(c *call) (*response, error) {
	id := c.scope
	d, _ := azureworld.Of(s.World).Disk(id)
	if d == nil {
		return nil, notFoundResource("Microsoft.Compute/disks", lastSeg(id), resourceGroupOf(id))
	}
	c.touch("Microsoft.Compute/disks", d.ID)
	c.location = d.Location
	return ok(s.diskJSON(d)), nil
}

// listScaleSetVMs serves VirtualMachineScaleSetVMs.List of an existing
// scale set.
func (s *Server) listScaleSetVMs(c *call) (*response, error) {
	if azureworld.Of(s.World).ScaleSet(c.scope) == nil {
		return nil, notFoundResource(typeScaleSet, c.vars["vmScaleSetName"], c.vars["resourceGroupName"])
	}
	return s.list(typeScaleSetVM)(c)
}

func resourceGroupOf(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) >= 4 {
		return segs[3]
	}
	return ""
}

// uniqueID derives a stable GUID-looking id from a resource id.
func uniqueID(id string) string {
	h := uint64(14695981039346656037)
	for _, b := range []byte(strings.ToLower(id)) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	g := h ^ (h>>29)*0x9E3779B97F4A7C15
	return strings.ToLower(strings.Join([]string{hex(h>>32, 8), hex(h>>16, 4), hex(h, 4), hex(g>>48, 4), hex(g, 12)}, "-"))
}

func hex(v uint64, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b)
}

func (s *Server) snapshotJSON(snap *world.Snapshot) map[string]any {
	now := s.World.Now()
	pct := float64(snap.Progress(now))
	if snap.State(now) == "completed" {
		pct = 100
	}
	name := lastSeg(snap.ID)
	return map[string]any{"id": snap.ID, "name": name, "type": "Microsoft.Compute/snapshots", "location": snap.Region,
		"tags": tagsOrEmpty(snap.Tags), "sku": map[string]any{"name": "Standard_LRS", "tier": "Standard"},
		"properties": map[string]any{
			"creationData": map[string]any{"createOption": "Copy", "sourceResourceId": snap.VolumeID, "sourceUniqueId": uniqueID(snap.VolumeID)},
			"diskSizeGB":   snap.VolumeSizeGiB, "diskSizeBytes": int64(snap.VolumeSizeGiB) << 30, "uniqueId": uniqueID(snap.ID),
			"timeCreated": timeStr(snap.StartTime), "provisioningState": "Succeeded", "diskState": "Unattached",
			"incremental": true, "completionPercent": pct, "encryption": map[string]any{"type": "EncryptionAtRestWithPlatformKey"},
			"networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled", "dataAccessAuthMode": "None"}}
}

func (s *Server) getSnapshot(c *call) (*response, error) {
	id := c.scope
	snap := azureworld.Of(s.World).Snapshot(id)
	if snap == nil {
		return nil, notFoundResource("Microsoft.Compute/snapshots", lastSeg(id), resourceGroupOf(id))
	}
	c.touch("Microsoft.Compute/snapshots", snap.ID)
	return ok(s.snapshotJSON(snap)), nil
}

// putSnapshot creates a snapshot: 202 with Azure-AsyncOperation and
// Location (DiskOperations) for a new one, whose first poll is Succeeded;
// 200 with the body for an existing one. Never 201: the SDK rejects it.
func (s *Server) putSnapshot(c *call) (*response, error) {
	id := c.scope
	var in struct {
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags"`
		Properties *struct {
			CreationData *struct {
				CreateOption     string `json:"createOption"`
				SourceResourceID string `json:"sourceResourceId"`
			} `json:"creationData"`
		} `json:"properties"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if in.Location == "" {
		return nil, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if in.Properties == nil || in.Properties.CreationData == nil || !strings.EqualFold(in.Properties.CreationData.CreateOption, "Copy") ||
		in.Properties.CreationData.SourceResourceID == "" {
		return nil, errf(http.StatusBadRequest, "InvalidParameter", "The simulator creates snapshots with creationData.createOption 'Copy' from a managed disk (sourceResourceId).")
	}
	src := in.Properties.CreationData.SourceResourceID
	if !azureworld.Of(s.World).Authorize(c.token.ObjectID, "Microsoft.Compute/disks/beginGetAccess/action", src, false) &&
		!azureworld.Of(s.World).Authorize(c.token.ObjectID, "Microsoft.Compute/disks/read", src, false) {
		return nil, errf(http.StatusForbidden, "LinkedAuthorizationFailed",
			"The client '%s' with object id '%s' has permission to perform action 'Microsoft.Compute/snapshots/write' on scope '%s'; however, it does not have permission to perform action 'Microsoft.Compute/disks/read' on the linked scope(s) '%s'.",
			c.token.AppID, c.token.ObjectID, id, src)
	}
	snap, created, err := azureworld.Of(s.World).CreateSnapshot(c.sub, c.vars["resourceGroupName"], c.vars["snapshotName"], in.Location, src, c.token.ObjectID, in.Tags)
	if err != nil {
		if ce, ok := world.ComputeErrorOf(err); ok && ce.Kind == world.KindNotFound {
			return nil, notFoundResource("Microsoft.Compute/disks", lastSeg(src), resourceGroupOf(src))
		}
		return nil, err
	}
	c.location = snap.Region
	c.touch("Microsoft.Compute/snapshots", snap.ID)
	c.touch("Microsoft.Compute/disks", snap.VolumeID)
	if !created {
		return ok(s.snapshotJSON(snap)), nil
	}
	return &response{status: http.StatusAccepted, headers: s.asyncOp(c, "Microsoft.Compute", "DiskOperations", snap.ID, "")}, nil
}

// sortedIDs returns map keys in order (helper for deterministic listings).
