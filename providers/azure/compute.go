package azure

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/firedrill-ir/firedrill/providers"
)

const (
	// EvidenceLockName is the CanNotDelete lock ProtectFromTermination puts
	// on a VM and its disks.
	EvidenceLockName = "firedrill-evidence"
	locksAPIVersion  = "2020-05-01"
	tagsAPIVersion   = "2021-04-01"
)

func (p *Provider) getVM(ctx context.Context, op string, ref vmRef, expand bool) (*armcompute.VirtualMachine, error) {
	var o *armcompute.VirtualMachinesClientGetOptions
	if expand {
		o = &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)}
	}
	out, err := p.vms.Get(ctx, ref.rg, ref.name, o)
	if err != nil {
		return nil, wrapErr(op+" (compute:VirtualMachines.Get)", ref.id, err)
	}
	return &out.VirtualMachine, nil
}

// powerState reads "running", "stopped", "deallocated", … from an instance view.
func powerState(iv *armcompute.VirtualMachineInstanceView) string {
	if iv == nil {
		return ""
	}
	for _, s := range iv.Statuses {
		if c, ok := strings.CutPrefix(str(s.Code), "PowerState/"); ok {
			return c
		}
	}
	return ""
}

// vmDisks lists the VM's managed disks, OS disk first.
func vmDisks(vm *armcompute.VirtualMachine) []providers.Disk {
	var out []providers.Disk
	if vm.Properties == nil || vm.Properties.StorageProfile == nil {
		return nil
	}
	sp := vm.Properties.StorageProfile
	if d := sp.OSDisk; d != nil && d.ManagedDisk != nil {
		out = append(out, providers.Disk{ID: str(d.ManagedDisk.ID), Device: "os", SizeGiB: int(to32(d.DiskSizeGB)),
			DeleteOnTermination: d.DeleteOption != nil && *d.DeleteOption == armcompute.DiskDeleteOptionTypesDelete, Encrypted: true})
	}
	for _, d := range sp.DataDisks {
		if d.ManagedDisk == nil {
			continue
		}
		out = append(out, providers.Disk{ID: str(d.ManagedDisk.ID), Device: fmt.Sprintf("lun%d", to32(d.Lun)), SizeGiB: int(to32(d.DiskSizeGB)),
			DeleteOnTermination: d.DeleteOption != nil && *d.DeleteOption == armcompute.DiskDeleteOptionTypesDelete, Encrypted: true})
	}
	return out
}

func to32(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// scaleSetInstance returns the VM's scale set id and instance id (the
// suffix of a flexible-orchestration VM's name, <scale set>_<instance>).
func scaleSetInstance(vm *armcompute.VirtualMachine) (ssID, ssRG, ssName, instanceID string) {
	if vm.Properties == nil || vm.Properties.VirtualMachineScaleSet == nil || vm.Properties.VirtualMachineScaleSet.ID == nil {
		return "", "", "", ""
	}
	ssID = *vm.Properties.VirtualMachineScaleSet.ID
	r, err := arm.ParseResourceID(ssID)
	if err != nil {
		return ssID, "", "", ""
	}
	name := str(vm.Name)
	if i := strings.LastIndex(name, "_"); i >= 0 {
		instanceID = name[i+1:]
	}
	return ssID, r.ResourceGroupName, r.Name, instanceID
}

// DescribeInstance reads the VM with its instance view, NICs (private and
// public addresses, NSG), disks, managed identity, scale-set membership
// and protection, and evidence locks. Enrichment failures land in
// Warnings: metadata is the first evidence a playbook takes.
func (c *Provider) DescribeInstance(ctx context.Context, id string) (*providers.Instance, error) {
	p := c
	ref, err := p.parseVM("DescribeInstance", id)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "DescribeInstance", ref, true)
	if err != nil {
		return nil, err
	}
	inst := &providers.Instance{ID: str(vm.ID), Name: str(vm.Name), Account: p.sub, Region: str(vm.Location), Zone: str(vm.Location),
		Tags: map[string]string{}}
	for k, v := range vm.Tags {
		inst.Tags[k] = str(v)
	}
	warn := func(what string, err error) {
		if err == nil {
			return
		}
		inst.Warnings = append(inst.Warnings, fmt.Sprintf("%s: %v", what, err))
		p.log.Warn("instance metadata incomplete", "instance", inst.ID, "what", what, "error", err)
	}
	if pr := vm.Properties; pr != nil {
		inst.State = powerState(pr.InstanceView)
		if pr.HardwareProfile != nil && pr.HardwareProfile.VMSize != nil {
			inst.Type = string(*pr.HardwareProfile.VMSize)
		}
		if pr.TimeCreated != nil {
			inst.LaunchTime = pr.TimeCreated.UTC()
		}
		if pr.NetworkProfile != nil {
			for i, ni := range pr.NetworkProfile.NetworkInterfaces {
				nic, subnet, err := p.describeNIC(ctx, str(ni.ID))
				warn("network interface "+str(ni.ID), err)
				if nic == nil {
					nic = &providers.NIC{ID: str(ni.ID)}
				}
				nic.Primary = i == 0
				inst.NICs = append(inst.NICs, *nic)
				if i == 0 && subnet != "" {
					inst.Subnet = subnet
					if j := strings.Index(strings.ToLower(subnet), "/subnets/"); j > 0 {
						inst.VPC = subnet[:j]
					}
				}
			}
		}
	}
	if len(inst.NICs) > 0 {
		inst.PrivateIP, inst.PublicIP = inst.NICs[0].PrivateIP, inst.NICs[0].PublicIP
	}
	inst.Disks = vmDisks(vm)
	if vm.Identity != nil && vm.Identity.Type != nil && *vm.Identity.Type != armcompute.ResourceIdentityTypeNone {
		inst.Identity = &providers.InstanceIdentity{ProfileARN: string(*vm.Identity.Type), RoleName: str(vm.Identity.PrincipalID)}
	}
	if ssID, ssRG, ssName, iid := scaleSetInstance(vm); ssID != "" {
		inst.ScalingGroup = ssID
		out, err := p.vmssVMs.Get(ctx, ssRG, ssName, iid, nil)
		if err != nil {
			warn("scale-set membership", wrapErr("compute:VirtualMachineScaleSetVMs.Get", ssID+"/virtualMachines/"+iid, err))
		} else if out.Properties != nil {
			inst.ScalingLifecycle = str(out.Properties.ProvisioningState)
			if pp := out.Properties.ProtectionPolicy; pp != nil {
				inst.ScaleInProtected = derefBool(pp.ProtectFromScaleIn) || derefBool(pp.ProtectFromScaleSetActions)
			}
		}
	}
	locked, err := p.hasDeleteLock(ctx, inst.ID)
	warn("management locks", err)
	inst.TerminationProtected = locked
	return inst, nil
}

func derefBool(b *bool) bool { return b != nil && *b }

// describeNIC reads one NIC with its public IP expanded, and its subnet.
func (p *Provider) describeNIC(ctx context.Context, id string) (*providers.NIC, string, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, "", opErr("network:Interfaces.Get", id, providers.ErrInvalid, "", "not a resource id")
	}
	out, err := p.nics.Get(ctx, r.ResourceGroupName, r.Name, &armnetwork.InterfacesClientGetOptions{Expand: to.Ptr("ipConfigurations/publicIPAddress")})
	if err != nil {
		return nil, "", wrapErr("network:Interfaces.Get", id, err)
	}
	subnet := ""
	nic := &providers.NIC{ID: str(out.ID)}
	if pr := out.Properties; pr != nil {
		if pr.NetworkSecurityGroup != nil {
			nic.Groups = []string{str(pr.NetworkSecurityGroup.ID)}
		}
		for _, ipc := range pr.IPConfigurations {
			if ipc.Properties == nil {
				continue
			}
			if nic.PrivateIP == "" {
				nic.PrivateIP = str(ipc.Properties.PrivateIPAddress)
				if ipc.Properties.Subnet != nil {
					subnet = str(ipc.Properties.Subnet.ID)
				}
			}
			if pip := ipc.Properties.PublicIPAddress; pip != nil && pip.Properties != nil && nic.PublicIP == "" {
				nic.PublicIP = str(pip.Properties.IPAddress)
			}
		}
	}
	return nic, subnet, nil
}

// hasDeleteLock reports whether a CanNotDelete or ReadOnly lock covers id.
func (p *Provider) hasDeleteLock(ctx context.Context, id string) (bool, error) {
	var out struct {
		Value []struct {
			Properties struct {
				Level string `json:"level"`
			} `json:"properties"`
		} `json:"value"`
	}
	if err := p.armDo(ctx, "authorization:ManagementLocks.ListByScope", http.MethodGet, id+"/providers/Microsoft.Authorization/locks",
		locksAPIVersion, nil, &out, http.StatusOK); err != nil {
		return false, err
	}
	return len(out.Value) > 0, nil
}

// SnapshotDisks snapshots every managed disk of the VM (incremental
// snapshots, copied from each disk), tagged with tags. Azure has no
// multi-disk crash-consistent snapshot outside restore points; the
// snapshots are started back to back. The returned evidence is pending
// until its copy completes (see WaitForSnapshots).
func (c *Provider) SnapshotDisks(ctx context.Context, instanceID string, tags map[string]string) ([]providers.Evidence, error) {
	p := c
	ref, err := p.parseVM("SnapshotDisks", instanceID)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "SnapshotDisks", ref, false)
	if err != nil {
		return nil, err
	}
	all := maps.Clone(tags)
	if all == nil {
		all = map[string]string{}
	}
	all["firedrill-source-instance"] = str(vm.ID)
	stamp := p.sleeper.Now().UTC().Format("20060102T150405Z")
	by := p.collector(ctx)
	var ev []providers.Evidence
	for _, d := range vmDisks(vm) {
		dr, err := arm.ParseResourceID(d.ID)
		if err != nil {
			return ev, opErr("SnapshotDisks", d.ID, providers.ErrInvalid, "", "disk id is not a resource id")
		}
		name := dr.Name
		if len(name) > 60 {
			name = name[:60]
		}
		name += "-fd-" + stamp
		stags := map[string]*string{}
		for _, k := range slices.Sorted(maps.Keys(all)) {
			stags[k] = to.Ptr(all[k])
		}
		stags["firedrill-source-disk"] = to.Ptr(d.ID)
		poller, err := p.snaps.BeginCreateOrUpdate(ctx, ref.rg, name, armcompute.Snapshot{
			Location: vm.Location, Tags: stags,
			Properties: &armcompute.SnapshotProperties{Incremental: to.Ptr(true),
				CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: to.Ptr(d.ID)}},
		}, nil)
		if err != nil {
			return ev, wrapErr("compute:Snapshots.BeginCreateOrUpdate", d.ID, err)
		}
		res, err := waitLRO(ctx, p, poller, "compute:Snapshots.BeginCreateOrUpdate", d.ID, lroTimeout)
		if err != nil {
			return ev, err
		}
		ev = append(ev, snapshotEvidence(&res.Snapshot, by))
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].ID < ev[j].ID })
	p.log.Info("snapshots started", "instance", ref.id, "count", len(ev))
	return ev, nil
}

func snapshotEvidence(s *armcompute.Snapshot, by string) providers.Evidence {
	e := providers.Evidence{Kind: providers.EvidenceDiskSnapshot, ID: str(s.ID), Location: str(s.ID), CollectedBy: by,
		State: "pending", Tags: map[string]string{}}
	for k, v := range s.Tags {
		e.Tags[k] = str(v)
	}
	if pr := s.Properties; pr != nil {
		if pr.CreationData != nil {
			e.Source = str(pr.CreationData.SourceResourceID)
		}
		if pr.DiskSizeGB != nil {
			e.Size = int64(*pr.DiskSizeGB) << 30
		}
		if pr.TimeCreated != nil {
			e.CollectedAt = pr.TimeCreated.UTC()
		}
		done := pr.ProvisioningState != nil && *pr.ProvisioningState == "Succeeded" &&
			(pr.CompletionPercent == nil || *pr.CompletionPercent >= 100)
		switch {
		case pr.ProvisioningState != nil && *pr.ProvisioningState == "Failed":
			e.State = "error"
		case done:
			e.State = "completed"
		}
	}
	return e
}

// WaitForSnapshots polls each snapshot on the Sleeper until its copy is
// complete (provisioningState Succeeded and completionPercent 100).
func (c *Provider) WaitForSnapshots(ctx context.Context, ids []string, timeout time.Duration) ([]providers.Evidence, error) {
	p := c
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Sorted(slices.Values(ids))
	deadline := p.sleeper.Now().Add(timeout)
	by := p.collector(ctx)
	for {
		var ev []providers.Evidence
		done := true
		for _, id := range ids {
			r, err := arm.ParseResourceID(id)
			if err != nil {
				return nil, opErr("WaitForSnapshots", id, providers.ErrInvalid, "", "not a snapshot resource id")
			}
			out, err := p.snaps.Get(ctx, r.ResourceGroupName, r.Name, nil)
			if err != nil {
				return ev, wrapErr("compute:Snapshots.Get", id, err)
			}
			e := snapshotEvidence(&out.Snapshot, by)
			if e.State == "error" {
				return ev, opErr("compute:Snapshots.Get", id, providers.ErrFailed, "Failed", "snapshot provisioning failed")
			}
			if e.State != "completed" {
				done = false
			}
			ev = append(ev, e)
		}
		if done {
			return ev, nil
		}
		if !p.sleeper.Now().Before(deadline) {
			return ev, opErr("compute:Snapshots.Get", strings.Join(ids, ","), providers.ErrTimeout, "",
				fmt.Sprintf("snapshots not completed within %v", timeout))
		}
		if err := p.sleeper.Sleep(ctx, min(p.poll, deadline.Sub(p.sleeper.Now()))); err != nil {
			return ev, fmt.Errorf("waiting for snapshots: %w", err)
		}
	}
}

// ProtectFromTermination makes every disk survive the VM's deletion
// (deleteOption Detach: scale-set VMs delete theirs by default) and puts a
// CanNotDelete lock on the VM and on each disk. ARM enforces locks on
// every caller, the scale set's autoscale engine included.
func (c *Provider) ProtectFromTermination(ctx context.Context, instanceID string) (*providers.TerminationProtection, error) {
	p := c
	ref, err := p.parseVM("ProtectFromTermination", instanceID)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "ProtectFromTermination", ref, false)
	if err != nil {
		return nil, err
	}
	res := &providers.TerminationProtection{Instance: str(vm.ID), PreviousDeleteOnTermination: map[string]bool{}}
	disks := vmDisks(vm)
	change := false
	for _, d := range disks {
		res.PreviousDeleteOnTermination[d.ID] = d.DeleteOnTermination
		change = change || d.DeleteOnTermination
	}
	if change && vm.Properties != nil && vm.Properties.StorageProfile != nil {
		sp := vm.Properties.StorageProfile
		upd := &armcompute.StorageProfile{}
		if sp.OSDisk != nil {
			upd.OSDisk = &armcompute.OSDisk{DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDetach)}
		}
		for _, dd := range sp.DataDisks {
			upd.DataDisks = append(upd.DataDisks, &armcompute.DataDisk{Lun: dd.Lun, Name: dd.Name, ManagedDisk: dd.ManagedDisk,
				CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesAttach), DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDetach)})
		}
		poller, err := p.vms.BeginUpdate(ctx, ref.rg, ref.name, armcompute.VirtualMachineUpdate{
			Properties: &armcompute.VirtualMachineProperties{StorageProfile: upd}}, nil)
		if err != nil {
			return res, wrapErr("compute:VirtualMachines.BeginUpdate(deleteOption)", ref.id, err)
		}
		if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginUpdate(deleteOption)", ref.id, lroTimeout); err != nil {
			return res, err
		}
	}
	for _, scope := range append([]string{str(vm.ID)}, diskIDs(disks)...) {
		if err := p.lock(ctx, scope, "firedrill: evidence of an incident; do not delete"); err != nil {
			return res, err
		}
	}
	p.log.Info("protected from termination", "instance", ref.id, "disks", len(disks))
	return res, nil
}

func diskIDs(ds []providers.Disk) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// lock puts the evidence CanNotDelete lock on scope (idempotent).
func (p *Provider) lock(ctx context.Context, scope, notes string) error {
	body := map[string]any{"properties": map[string]any{"level": "CanNotDelete", "notes": notes}}
	return p.armDo(ctx, "authorization:ManagementLocks.CreateOrUpdateByScope", http.MethodPut,
		scope+"/providers/Microsoft.Authorization/locks/"+EvidenceLockName, locksAPIVersion, body, nil, http.StatusOK, http.StatusCreated)
}

// ProtectFromScaling sets the scale-set VM's protection policy. Protect
// sets protectFromScaleIn; Standby and Detach have no Azure equivalent
// (flexible scale-set VMs cannot be detached), so they also set
// protectFromScaleSetActions, which keeps every scale-set action
// (scale-in, reimage, upgrade) off the VM. A VM outside a scale set is
// reported with an empty Group.
func (c *Provider) ProtectFromScaling(ctx context.Context, instanceID string, opts providers.ScalingOptions) (*providers.ScalingResult, error) {
	p := c
	ref, err := p.parseVM("ProtectFromScaling", instanceID)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "ProtectFromScaling", ref, false)
	if err != nil {
		return nil, err
	}
	ssID, ssRG, ssName, iid := scaleSetInstance(vm)
	if ssID == "" {
		return &providers.ScalingResult{}, nil
	}
	got, err := p.vmssVMs.Get(ctx, ssRG, ssName, iid, nil)
	if err != nil {
		return nil, wrapErr("compute:VirtualMachineScaleSetVMs.Get", ssID+"/virtualMachines/"+iid, err)
	}
	cur := got.VirtualMachineScaleSetVM
	pp := &armcompute.VirtualMachineScaleSetVMProtectionPolicy{}
	if cur.Properties != nil && cur.Properties.ProtectionPolicy != nil {
		pp = cur.Properties.ProtectionPolicy
	}
	res := &providers.ScalingResult{Group: ssID, WasProtected: derefBool(pp.ProtectFromScaleIn) || derefBool(pp.ProtectFromScaleSetActions),
		PreviousState: protectionState(pp)}
	want := &armcompute.VirtualMachineScaleSetVMProtectionPolicy{ProtectFromScaleIn: to.Ptr(true),
		ProtectFromScaleSetActions: to.Ptr(derefBool(pp.ProtectFromScaleSetActions) || opts.Mode != providers.ScalingProtect)}
	if derefBool(pp.ProtectFromScaleIn) == *want.ProtectFromScaleIn && derefBool(pp.ProtectFromScaleSetActions) == *want.ProtectFromScaleSetActions {
		res.LifecycleState = res.PreviousState
		return res, nil
	}
	if cur.Properties == nil {
		cur.Properties = &armcompute.VirtualMachineScaleSetVMProperties{}
	}
	cur.Properties.ProtectionPolicy = want
	poller, err := p.vmssVMs.BeginUpdate(ctx, ssRG, ssName, iid, armcompute.VirtualMachineScaleSetVM{
		Location: cur.Location, Properties: &armcompute.VirtualMachineScaleSetVMProperties{ProtectionPolicy: want}}, nil)
	if err != nil {
		return res, wrapErr("compute:VirtualMachineScaleSetVMs.BeginUpdate", ssID+"/virtualMachines/"+iid, err)
	}
	out, err := waitLRO(ctx, p, poller, "compute:VirtualMachineScaleSetVMs.BeginUpdate", ssID+"/virtualMachines/"+iid, lroTimeout)
	if err != nil {
		return res, err
	}
	res.LifecycleState = protectionState(want)
	if out.Properties != nil && out.Properties.ProtectionPolicy != nil {
		res.LifecycleState = protectionState(out.Properties.ProtectionPolicy)
	}
	p.log.Info("protected from scaling", "instance", ref.id, "scale_set", ssID, "state", res.LifecycleState)
	return res, nil
}

func protectionState(pp *armcompute.VirtualMachineScaleSetVMProtectionPolicy) string {
	switch {
	case derefBool(pp.ProtectFromScaleSetActions):
		return "ProtectedFromScaleSetActions"
	case derefBool(pp.ProtectFromScaleIn):
		return "ProtectedFromScaleIn"
	}
	return "Unprotected"
}

// Stop powers the VM off (keeping its allocation, public IP and temp disk)
// or, with Hibernate, deallocates it with hibernation, which keeps RAM on
// the OS disk on VMs with hibernation enabled. Force skips the graceful
// guest shutdown.
func (c *Provider) StopInstance(ctx context.Context, instanceID string, opts providers.StopOptions) error {
	p := c
	ref, err := p.parseVM("Stop", instanceID)
	if err != nil {
		return err
	}
	if opts.Hibernate {
		poller, err := p.vms.BeginDeallocate(ctx, ref.rg, ref.name, &armcompute.VirtualMachinesClientBeginDeallocateOptions{Hibernate: to.Ptr(true)})
		if err != nil {
			return wrapErr("compute:VirtualMachines.BeginDeallocate(hibernate)", ref.id, err)
		}
		if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginDeallocate(hibernate)", ref.id, lroTimeout); err != nil {
			return err
		}
	} else {
		poller, err := p.vms.BeginPowerOff(ctx, ref.rg, ref.name, &armcompute.VirtualMachinesClientBeginPowerOffOptions{SkipShutdown: to.Ptr(opts.Force)})
		if err != nil {
			return wrapErr("compute:VirtualMachines.BeginPowerOff", ref.id, err)
		}
		if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginPowerOff", ref.id, lroTimeout); err != nil {
			return err
		}
	}
	p.log.Info("stop requested", "instance", ref.id, "hibernate", opts.Hibernate)
	return nil
}

// Tag merges tags into each resource through Microsoft.Resources/tags
// (operation Merge), which works on any taggable resource type.
func (c *Provider) Tag(ctx context.Context, resourceIDs []string, tags map[string]string) error {
	if len(resourceIDs) == 0 || len(tags) == 0 {
		return nil
	}
	body := map[string]any{"operation": "Merge", "properties": map[string]any{"tags": tags}}
	for _, id := range resourceIDs {
		if !strings.HasPrefix(id, "/subscriptions/") {
			return opErr("resources:Tags.UpdateAtScope", id, providers.ErrInvalid, "", "not an ARM resource id")
		}
		if err := c.armDo(ctx, "resources:Tags.UpdateAtScope", http.MethodPatch, id+"/providers/Microsoft.Resources/tags/default",
			tagsAPIVersion, body, nil, http.StatusOK); err != nil {
			return err
		}
	}
	return nil
}

// HaltInstance deallocates a VM (ARM ids are global: region is not
// needed): a deallocated VM stops billing for compute, a powered-off one
// does not.
func (p *Provider) HaltInstance(ctx context.Context, id, _ string) error {
	ref, err := p.parseVM("HaltInstance", id)
	if err != nil {
		return err
	}
	poller, err := p.vms.BeginDeallocate(ctx, ref.rg, ref.name, nil)
	if err != nil {
		return wrapErr("compute:VirtualMachines.BeginDeallocate", ref.id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginDeallocate", ref.id, lroTimeout); err != nil {
		return err
	}
	p.log.Info("VM deallocated", "vm", ref.id)
	return nil
}

// TerminateInstance deletes a VM (ARM ids are global: region is not
// needed). A delete lock refuses it, as it should.
func (p *Provider) TerminateInstance(ctx context.Context, id, _ string) error {
	ref, err := p.parseVM("TerminateInstance", id)
	if err != nil {
		return err
	}
	poller, err := p.vms.BeginDelete(ctx, ref.rg, ref.name, nil)
	if err != nil {
		return wrapErr("compute:VirtualMachines.BeginDelete", ref.id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "compute:VirtualMachines.BeginDelete", ref.id, lroTimeout); err != nil {
		return err
	}
	p.log.Info("VM deleted", "vm", ref.id)
	return nil
}
