package world

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Modelled durations of Azure compute work (jittered per use).
const (
	azurePowerOffTime   = 30 * time.Second // stopping -> stopped (VM still allocated)
	azureDeallocateTime = 75 * time.Second // deallocating -> deallocated
	azureDeleteTime     = 45 * time.Second // scale-in delete of one VM
)

// AzureResourceID builds a canonical ARM resource id.
func AzureResourceID(sub, rg, provider, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s", sub, rg, provider, typ, name)
}

// AzureVMLocked finds a VM by id, case-insensitively; nil if unknown.
func (w *World) AzureVMLocked(id string) *AzureVM {
	return w.AzureLocked().VMs[strings.ToLower(strings.TrimSuffix(id, "/"))]
}

// AzureDiskLocked finds a managed disk by id (nil if unknown or deleted).
func (w *World) AzureDiskLocked(id string) (*AzureDisk, *Volume) {
	d := w.AzureLocked().Disks[strings.ToLower(id)]
	if d == nil {
		return nil, nil
	}
	v := w.Volumes[d.ID]
	if v == nil || v.State == "deleted" {
		return nil, nil
	}
	return d, v
}

// AzureNICLocked finds a network interface by id.
func (w *World) AzureNICLocked(id string) *ENI {
	if canon, ok := w.AzureLocked().NICs[strings.ToLower(id)]; ok {
		return w.ENIs[canon]
	}
	return nil
}

// AzureNSGLocked finds a network security group by id.
func (w *World) AzureNSGLocked(id string) *AzureNSG {
	return w.AzureLocked().NSGs[strings.ToLower(id)]
}

// AzureSnapshotLocked finds a snapshot by id.
func (w *World) AzureSnapshotLocked(id string) *Snapshot {
	if canon, ok := w.AzureLocked().Snapshots[strings.ToLower(id)]; ok {
		if s := w.Snapshots[canon]; s != nil && !s.Deleted {
			return s
		}
	}
	return nil
}

// AzureScaleSetLocked finds a scale set by id.
func (w *World) AzureScaleSetLocked(id string) *AzureScaleSet {
	return w.AzureLocked().ScaleSets[strings.ToLower(id)]
}

// ---- networks ------------------------------------------------------------

// AddAzureVNetLocked creates a virtual network with one subnet and returns
// the VPC and Subnet whose ids are the ARM ids.
func (w *World) AddAzureVNetLocked(sub, rg, location, name, cidr, subnetName, subnetCIDR string) (*VPC, *Subnet) {
	az := w.AzureLocked()
	id := AzureResourceID(sub, rg, "Microsoft.Network", "virtualNetworks", name)
	v := &VPC{ID: id, Account: sub, Region: location, CIDR: cidr, Tags: Tags{}}
	w.VPCs[id] = v
	az.VNets[strings.ToLower(id)] = id
	s := &Subnet{ID: id + "/subnets/" + subnetName, VPC: id, AZ: location, CIDR: subnetCIDR}
	w.Subnets[s.ID] = s
	az.Subnets[strings.ToLower(s.ID)] = s.ID
	return v, s
}

// PutAzureNSGLocked creates or replaces an NSG's rules. Existing flows are
// not re-evaluated ("Existing connections may not be interrupted when you
// remove a security rule"), unless the NSG has flushConnection enabled:
// then every flow of every NIC using it is re-evaluated against the new
// rules and the ones they deny are cut ("flows created from Network
// Security Group connections will be re-evaluated when rules are updated.
// Initial enablement will trigger re-evaluation."). It reports whether the
// NSG was created.
func (w *World) PutAzureNSGLocked(nsg *AzureNSG) (*AzureNSG, bool, error) {
	if err := validateAzureRules(nsg.Rules); err != nil {
		return nil, false, err
	}
	az := w.AzureLocked()
	key := strings.ToLower(nsg.ID)
	old, existed := az.NSGs[key]
	if existed {
		old.Rules, old.FlushConnection, old.Tags = nsg.Rules, nsg.FlushConnection, nsg.Tags
		nsg = old
	} else {
		az.NSGs[key] = nsg
	}
	nsg.ETag = fmt.Sprintf(`W/"%s"`, w.GUIDLocked())
	if nsg.Tags == nil {
		nsg.Tags = Tags{}
	}
	if nsg.FlushConnection {
		for _, id := range SortedKeys(w.ENIs) {
			if e := w.ENIs[id]; len(e.Groups) > 0 && strings.EqualFold(e.Groups[0], nsg.ID) {
				w.flushAzureFlowsLocked(e, nsg, "flushConnection: rules of "+nsg.Name+" updated")
			}
		}
	}
	return nsg, !existed, nil
}

func validateAzureRules(rules []AzureRule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		invalid := func(msg string) error {
			return &ComputeError{Kind: KindInvalid, Resource: "securityRule", ID: r.Name, Msg: msg}
		}
		if r.Priority < 100 || r.Priority > 4096 {
			return invalid(fmt.Sprintf("Security rule %s has invalid Priority %d. Value provided: %d Allowed range 100-4096.", r.Name, r.Priority, r.Priority))
		}
		if r.Direction != "Inbound" && r.Direction != "Outbound" {
			return invalid(fmt.Sprintf("Security rule %s has invalid direction '%s'.", r.Name, r.Direction))
		}
		if r.Access != "Allow" && r.Access != "Deny" {
			return invalid(fmt.Sprintf("Security rule %s has invalid access '%s'.", r.Name, r.Access))
		}
		k := r.Direction + strconv.Itoa(r.Priority)
		if seen[k] {
			return invalid(fmt.Sprintf("Security rule %s conflicts with another rule: rules cannot have the same Priority and Direction (%s %d).", r.Name, r.Direction, r.Priority))
		}
		seen[k] = true
	}
	return nil
}

// AzureDefaultRules are the rules every NSG ends with (priorities 65000+).
func AzureDefaultRules() []AzureRule {
	any := []string{"*"}
	return []AzureRule{
		{Name: "AllowVnetInBound", Priority: 65000, Direction: "Inbound", Access: "Allow", Protocol: "*",
			SourcePrefixes: []string{"VirtualNetwork"}, SourcePorts: any, DestinationPrefixes: []string{"VirtualNetwork"}, DestinationPorts: any,
			Description: "Allow inbound traffic from all VMs in VNET"},
		{Name: "AllowAzureLoadBalancerInBound", Priority: 65001, Direction: "Inbound", Access: "Allow", Protocol: "*",
			SourcePrefixes: []string{"AzureLoadBalancer"}, SourcePorts: any, DestinationPrefixes: any, DestinationPorts: any,
			Description: "Allow inbound traffic from azure load balancer"},
		{Name: "DenyAllInBound", Priority: 65500, Direction: "Inbound", Access: "Deny", Protocol: "*",
			SourcePrefixes: any, SourcePorts: any, DestinationPrefixes: any, DestinationPorts: any, Description: "Deny all inbound traffic"},
		{Name: "AllowVnetOutBound", Priority: 65000, Direction: "Outbound", Access: "Allow", Protocol: "*",
			SourcePrefixes: []string{"VirtualNetwork"}, SourcePorts: any, DestinationPrefixes: []string{"VirtualNetwork"}, DestinationPorts: any,
			Description: "Allow outbound traffic from all VMs to all VMs in VNET"},
		{Name: "AllowInternetOutBound", Priority: 65001, Direction: "Outbound", Access: "Allow", Protocol: "*",
			SourcePrefixes: any, SourcePorts: any, DestinationPrefixes: []string{"Internet"}, DestinationPorts: any,
			Description: "Allow outbound traffic from all VMs to Internet"},
		{Name: "DenyAllOutBound", Priority: 65500, Direction: "Outbound", Access: "Deny", Protocol: "*",
			SourcePrefixes: any, SourcePorts: any, DestinationPrefixes: any, DestinationPorts: any, Description: "Deny all outbound traffic"},
	}
}

// azureCloudPrefixes stand for the AzureCloud service tag: the public
// ranges of Azure's own services (Run Command's endpoints among them).
var azureCloudPrefixes = []string{"13.64.0.0/11", "20.0.0.0/8", "40.64.0.0/10", "51.104.0.0/15", "52.224.0.0/11", "104.40.0.0/13"}

// AzureRunCommandEndpoint is the address the Run Command handler on a VM
// must reach over HTTPS to fetch scripts and report results.
const AzureRunCommandEndpoint = "20.150.40.36"

func azurePrefixMatches(prefix, ip string, vnet *VPC) bool {
	switch strings.ToLower(prefix) {
	case "*", "any", "0.0.0.0/0":
		return true
	case "virtualnetwork":
		return vnet != nil && azCIDRContains(vnet.CIDR, ip)
	case "internet":
		return (vnet == nil || !azCIDRContains(vnet.CIDR, ip)) && !azIsPrivateIP(ip)
	case "azurecloud":
		for _, p := range azureCloudPrefixes {
			if azCIDRContains(p, ip) {
				return true
			}
		}
		return false
	case "azureloadbalancer":
		return ip == "168.63.129.16"
	}
	if !strings.Contains(prefix, "/") {
		return prefix == ip
	}
	return azCIDRContains(prefix, ip)
}

func azurePortMatches(ranges []string, port int) bool {
	if len(ranges) == 0 {
		return true
	}
	for _, r := range ranges {
		if r == "*" {
			return true
		}
		lo, hi, found := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if found {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 == nil && err2 == nil && a <= port && port <= b {
			return true
		}
	}
	return false
}

// AzureNSGDecision evaluates an NSG for one packet direction: rules by
// priority (lowest number first), then the default rules. It returns the
// deciding rule. A nil NSG allows everything (no NSG on the NIC).
func (w *World) AzureNSGDecision(nsg *AzureNSG, vnet *VPC, direction, proto, srcIP string, srcPort int, dstIP string, dstPort int) (bool, string) {
	if nsg == nil {
		return true, ""
	}
	rules := append([]AzureRule(nil), nsg.Rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	rules = append(rules, AzureDefaultRules()...)
	for _, r := range rules {
		if r.Direction != direction {
			continue
		}
		if r.Protocol != "*" && !strings.EqualFold(r.Protocol, proto) {
			continue
		}
		if !anyPrefix(r.SourcePrefixes, srcIP, vnet) || !anyPrefix(r.DestinationPrefixes, dstIP, vnet) {
			continue
		}
		if proto != "icmp" && (!azurePortMatches(r.SourcePorts, srcPort) || !azurePortMatches(r.DestinationPorts, dstPort)) {
			continue
		}
		return r.Access == "Allow", r.Name
	}
	return false, "DenyAll"
}

func anyPrefix(prefixes []string, ip string, vnet *VPC) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if azurePrefixMatches(p, ip, vnet) {
			return true
		}
	}
	return false
}

// azureFlowAllowedLocked evaluates a flow's opening packet on its NIC's NSG.
func (w *World) azureFlowAllowedLocked(eni *ENI, nsg *AzureNSG, f *Flow) (bool, string) {
	vnet := w.VPCs[eni.VPC]
	if f.Direction == "egress" {
		return w.AzureNSGDecision(nsg, vnet, "Outbound", f.Protocol, eni.PrivateIP, f.LocalPort, f.RemoteIP, f.RemotePort)
	}
	return w.AzureNSGDecision(nsg, vnet, "Inbound", f.Protocol, f.RemoteIP, f.RemotePort, eni.PrivateIP, f.LocalPort)
}

func (w *World) nsgOfLocked(eni *ENI) *AzureNSG {
	if len(eni.Groups) == 0 {
		return nil
	}
	return w.AzureNSGLocked(eni.Groups[0])
}

// OpenAzureFlowLocked opens a connection on an Azure VM's primary NIC if its
// NSG permits it. NSGs are stateful: the flow's return traffic is allowed,
// and the flow survives later rule changes unless connections are flushed.
func (w *World) OpenAzureFlowLocked(vmID string, spec FlowSpec) (*Flow, error) {
	vm := w.AzureVMLocked(vmID)
	if vm == nil || vm.Deleted {
		return nil, notFound("virtual-machine", vmID)
	}
	inst := w.Instances[vm.ID]
	if inst == nil || vm.PowerState != "running" {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("VM %s is %s, not running", vm.Name, vm.PowerState)}
	}
	if len(inst.ENIs) == 0 {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "virtual-machine", ID: vm.ID, Msg: "VM has no network interface"}
	}
	eni := w.ENIs[inst.ENIs[0]]
	f, err := NewFlow(vm.ID, eni.ID, spec)
	if err != nil {
		return nil, err
	}
	f.Tracked = true
	w.DrawEphemeralPortsLocked(f)
	nsg := w.nsgOfLocked(eni)
	if ok, rule := w.azureFlowAllowedLocked(eni, nsg, f); !ok {
		return nil, &ComputeError{Kind: KindBlocked, Resource: "flow", ID: vm.ID,
			Msg: fmt.Sprintf("security rule %s of %s denies %s %s to %s:%d", rule, eni.Groups[0], f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	w.StartFlowLocked(f)
	return f, nil
}

// flushAzureFlowsLocked re-evaluates the NIC's active flows against nsg and
// cuts those it denies.
func (w *World) flushAzureFlowsLocked(eni *ENI, nsg *AzureNSG, reason string) {
	for _, f := range w.ActiveFlowsLocked(eni.Instance) {
		if f.ENI != eni.ID {
			continue
		}
		if ok, rule := w.azureFlowAllowedLocked(eni, nsg, f); !ok {
			w.EndFlowLocked(f, fmt.Sprintf("connection flushed (%s; denied by %s)", reason, rule), w.clock.Now())
		}
	}
}

// SetAzureNICLocked applies a NIC update: its NSG (empty to remove it) and
// whether it keeps its public IP. Swapping the NSG re-evaluates existing
// flows only when the new NSG has flushConnection; otherwise they survive
// the swap, as on Azure. Removing the public IP ends internet flows.
func (w *World) SetAzureNICLocked(nicID, nsgID string, keepPublicIP bool) (*ENI, error) {
	eni := w.AzureNICLocked(nicID)
	if eni == nil {
		return nil, notFound("network-interface", nicID)
	}
	var nsg *AzureNSG
	if nsgID != "" {
		if nsg = w.AzureNSGLocked(nsgID); nsg == nil {
			return nil, notFound("network-security-group", nsgID)
		}
		eni.Groups = []string{nsg.ID}
	} else {
		eni.Groups = nil
	}
	if !keepPublicIP && eni.PublicIP != "" {
		eni.PublicIP = ""
		if inst := w.Instances[eni.Instance]; inst != nil {
			inst.PublicIP = ""
			w.EndInternetFlowsLocked(inst, "public IP address dissociated from "+eni.ID)
		}
	}
	if nsg != nil && nsg.FlushConnection {
		w.flushAzureFlowsLocked(eni, nsg, "NIC moved to "+nsg.Name)
	}
	return eni, nil
}

// ---- VMs -------------------------------------------------------------------

// AzureVMSpec describes a VM to create.
type AzureVMSpec struct {
	Subscription, ResourceGroup, Location, Name string
	Size                                        string // default Standard_D2s_v5
	Subnet                                      string // canonical subnet id
	NSG                                         string // NSG for the NIC, optional
	PublicIP                                    bool
	OSDiskGiB                                   int // default 30
	DataDiskGiB                                 []int
	SystemAssignedIdentity                      bool
	ScaleSet                                    string // canonical scale-set id
	MemoryGiB                                   int
	Processes                                   []Process
	CPU                                         []CPUPoint
	Tags                                        Tags
	Created                                     time.Time // default now
}

// AddAzureVMLocked creates a running VM with its NIC, OS disk, data disks
// and (optionally) a system-assigned managed identity. Disks of scale-set
// VMs are deleted with the VM (deleteOption Delete), as flexible scale sets
// create them.
func (w *World) AddAzureVMLocked(spec AzureVMSpec) (*AzureVM, *Instance, error) {
	az := w.AzureLocked()
	subnet := w.Subnets[spec.Subnet]
	if subnet == nil {
		return nil, nil, notFound("subnet", spec.Subnet)
	}
	created := spec.Created
	if created.IsZero() {
		created = w.clock.Now()
	}
	id := AzureResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Compute", "virtualMachines", spec.Name)
	if az.VMs[strings.ToLower(id)] != nil {
		return nil, nil, &ComputeError{Kind: KindDuplicate, Resource: "virtual-machine", ID: id, Msg: "VM " + spec.Name + " already exists"}
	}
	vm := &AzureVM{ID: id, Name: spec.Name, ResourceGroup: spec.ResourceGroup, Subscription: spec.Subscription,
		Location: spec.Location, Size: orDefault(spec.Size, "Standard_D2s_v5"), VMID: w.GUIDLocked(),
		ComputerName: spec.Name, IdentityType: "None", PowerState: "running", TimeCreated: created}
	inst := &Instance{ID: id, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, Type: vm.Size,
		ImageID: "Canonical:ubuntu-24_04-lts:server:latest", State: StateRunning, LaunchTime: created,
		VPC: subnet.VPC, Subnet: subnet.ID, Tags: Tags{}, ShutdownBehavior: "stop", SSMAgent: false, Platform: "Linux",
		MemoryGiB: spec.MemoryGiB, Processes: append([]Process(nil), spec.Processes...), CPU: append([]CPUPoint(nil), spec.CPU...)}
	for k, v := range spec.Tags {
		inst.Tags[k] = v
	}
	nicID := AzureResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Network", "networkInterfaces", spec.Name+"-nic")
	eni := &ENI{ID: nicID, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, VPC: subnet.VPC,
		Subnet: subnet.ID, Instance: id, PrivateIP: w.PrivateIPLocked(subnet), MAC: strings.ToUpper(strings.ReplaceAll(w.MACLocked(), ":", "-")),
		Description: "ipconfig1", Status: "in-use", DeleteOnTermination: spec.ScaleSet != "", Tags: Tags{}}
	if spec.NSG != "" {
		nsg := w.AzureNSGLocked(spec.NSG)
		if nsg == nil {
			return nil, nil, notFound("network-security-group", spec.NSG)
		}
		eni.Groups = []string{nsg.ID}
	}
	if spec.PublicIP {
		eni.PublicIP = w.azurePublicIPLocked()
	}
	w.ENIs[nicID] = eni
	az.NICs[strings.ToLower(nicID)] = nicID
	inst.ENIs = []string{nicID}
	inst.PrivateIP, inst.PublicIP = eni.PrivateIP, eni.PublicIP

	delOpt := "Detach"
	if spec.ScaleSet != "" {
		delOpt = "Delete"
	}
	addDisk := func(name string, size, lun int, dev string) *AzureDisk {
		did := AzureResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Compute", "disks", name)
		v := &Volume{ID: did, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, SizeGiB: size,
			Type: "Premium_LRS", State: "in-use", Encrypted: true, CreateTime: created, Attached: id, Device: dev, Tags: Tags{}}
		w.Volumes[did] = v
		d := &AzureDisk{ID: did, Name: name, ResourceGroup: spec.ResourceGroup, Subscription: spec.Subscription,
			Location: spec.Location, SKU: "Premium_LRS", DeleteOption: delOpt, LUN: lun}
		if lun < 0 {
			d.OSType = "Linux"
		}
		az.Disks[strings.ToLower(did)] = d
		inst.BlockDevices = append(inst.BlockDevices, BlockDevice{Device: dev, VolumeID: did, DeleteOnTermination: delOpt == "Delete"})
		return d
	}
	os := addDisk(spec.Name+"_OsDisk_1", orDefaultInt(spec.OSDiskGiB, 30), -1, "/dev/sda")
	vm.OSDisk = os.ID
	for i, size := range spec.DataDiskGiB {
		d := addDisk(fmt.Sprintf("%s_DataDisk_%d", spec.Name, i), size, i, fmt.Sprintf("/dev/sd%c", 'c'+i))
		vm.DataDisks = append(vm.DataDisks, d.ID)
	}
	if spec.SystemAssignedIdentity {
		p := &AzurePrincipal{ObjectID: w.GUIDLocked(), AppID: w.GUIDLocked(), DisplayName: spec.Name,
			Kind: AzureManagedIdentity, VM: id}
		az.Principals[p.ObjectID] = p
		vm.IdentityType, vm.PrincipalID = "SystemAssigned", p.ObjectID
	}
	if spec.ScaleSet != "" {
		ss := w.AzureScaleSetLocked(spec.ScaleSet)
		if ss == nil {
			return nil, nil, notFound("virtual-machine-scale-set", spec.ScaleSet)
		}
		vm.ScaleSet = ss.ID
		vm.InstanceID = strings.TrimPrefix(spec.Name, ss.Name+"_")
		ss.Members = append(ss.Members, id)
		inst.ASG = ss.ID
	}
	w.Instances[id] = inst
	az.VMs[strings.ToLower(id)] = vm
	return vm, inst, nil
}

func (w *World) azurePublicIPLocked() string {
	firsts := []int{20, 40, 52, 104}
	return fmt.Sprintf("%d.%d.%d.%d", firsts[w.ids.IntN(len(firsts))], w.ids.IntN(256), w.ids.IntN(256), 1+w.ids.IntN(254))
}

// SetAzureVMIdentityLocked sets the VM's identity type ("None" or
// "SystemAssigned"). Removing a system-assigned identity deletes its
// service principal; role assignments naming it stay (orphaned) and tokens
// already issued to it stay valid until they expire.
func (w *World) SetAzureVMIdentityLocked(vm *AzureVM, typ string) error {
	az := w.AzureLocked()
	switch typ {
	case "None":
		if p := az.Principals[vm.PrincipalID]; p != nil {
			p.Deleted = true
		}
		vm.IdentityType, vm.PrincipalID = "None", ""
	case "SystemAssigned":
		if vm.IdentityType == "SystemAssigned" {
			return nil
		}
		p := &AzurePrincipal{ObjectID: w.GUIDLocked(), AppID: w.GUIDLocked(), DisplayName: vm.Name, Kind: AzureManagedIdentity, VM: vm.ID}
		az.Principals[p.ObjectID] = p
		vm.IdentityType, vm.PrincipalID = "SystemAssigned", p.ObjectID
	default:
		return &ComputeError{Kind: KindInvalid, Resource: "identity", ID: vm.ID,
			Msg: fmt.Sprintf("Identity type '%s' is not supported by the simulator; use None or SystemAssigned.", typ)}
	}
	return nil
}

// AzurePowerOffLocked powers a running VM off (deallocate also releases
// its host, temp disk and dynamic public IP). The guest stops at once, so its
// connections end and RAM is lost; the power state settles after a modelled
// delay. Powering off a stopped VM is a no-op.
func (w *World) AzurePowerOffLocked(vm *AzureVM, deallocate, hibernate bool) error {
	inst := w.Instances[vm.ID]
	if inst == nil || vm.Deleted {
		return notFound("virtual-machine", vm.ID)
	}
	if hibernate && !vm.HibernationEnabled {
		return &ComputeError{Kind: KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("Hibernation is not enabled on VM '%s'. Enable hibernation capability on the VM to hibernate it.", vm.Name)}
	}
	now := w.clock.Now()
	switch vm.PowerState {
	case "deallocated", "deallocating":
		return nil
	case "stopped", "stopping":
		if !deallocate {
			return nil
		}
	case "running":
		w.EndInstanceFlowsLocked(inst.ID, "VM powered off", nil, now)
		w.SetCPULocked(inst, now, 0)
	}
	final, d := "stopped", azurePowerOffTime
	vm.PowerState, inst.State = "stopping", StateStopping
	if deallocate {
		final, d = "deallocated", azureDeallocateTime
		vm.PowerState = "deallocating"
	}
	id := vm.ID
	w.ScheduleLocked(now.Add(w.JitterLocked(PurposeDuration, d, 0.3)), "azure-vm-"+final+":"+id, func(time.Time) {
		v := w.AzureVMLocked(id)
		if v == nil || v.Deleted || (v.PowerState != "stopping" && v.PowerState != "deallocating") {
			return
		}
		v.PowerState = final
		if i := w.Instances[id]; i != nil {
			i.State = StateStopped
			if final == "deallocated" {
				i.PublicIP = ""
				for _, nid := range i.ENIs {
					if e := w.ENIs[nid]; e != nil {
						e.PublicIP = ""
					}
				}
			}
		}
	})
	return nil
}

// ---- scale sets ------------------------------------------------------------

// AddAzureScaleSetLocked creates an (initially empty) flexible scale set.
func (w *World) AddAzureScaleSetLocked(sub, rg, location, name string) *AzureScaleSet {
	ss := &AzureScaleSet{ID: AzureResourceID(sub, rg, "Microsoft.Compute", "virtualMachineScaleSets", name), Name: name,
		ResourceGroup: rg, Subscription: sub, Location: location, Autoscale: name + "-autoscale"}
	w.AzureLocked().ScaleSets[strings.ToLower(ss.ID)] = ss
	return ss
}

// AzureScaleSetVMLocked finds a scale-set member by instance id.
func (w *World) AzureScaleSetVMLocked(ssID, instanceID string) *AzureVM {
	ss := w.AzureScaleSetLocked(ssID)
	if ss == nil {
		return nil
	}
	for _, id := range ss.Members {
		if vm := w.AzureVMLocked(id); vm != nil && !vm.Deleted && vm.InstanceID == instanceID {
			return vm
		}
	}
	return nil
}

// ScheduleAzureScaleInLocked registers an autoscale scale-in to capacity at
// the given time. When it fires, unprotected members are deleted (Default
// scale-in policy: highest instance id first) with their NICs and every disk
// whose deleteOption is Delete, so evidence not captured by then is gone.
// Members protected from scale-in or from scale-set actions are skipped; a
// delete lock on a member makes its deletion fail (ScopeLocked), as ARM
// enforces locks on the autoscale engine's calls too.
func (w *World) ScheduleAzureScaleInLocked(ssID string, at time.Time, capacity int) error {
	ss := w.AzureScaleSetLocked(ssID)
	if ss == nil {
		return notFound("virtual-machine-scale-set", ssID)
	}
	ss.ScaleIn = append(ss.ScaleIn, ScaleIn{At: at, Desired: capacity})
	id := ss.ID
	w.ScheduleLocked(at, "azure-scale-in:"+id, func(now time.Time) { w.azureScaleInLocked(id, capacity, now) })
	return nil
}

// AzureScaleInCandidatesLocked lists the members scale-in would delete, in
// order.
func (w *World) AzureScaleInCandidatesLocked(ss *AzureScaleSet) []*AzureVM {
	var out []*AzureVM
	for _, id := range ss.Members {
		vm := w.AzureVMLocked(id)
		if vm == nil || vm.Deleted || vm.ProtectFromScaleIn || vm.ProtectFromScaleSetActions {
			continue
		}
		out = append(out, vm)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].InstanceID)
		b, _ := strconv.Atoi(out[j].InstanceID)
		return a > b
	})
	return out
}

func (w *World) azureScaleInLocked(ssID string, capacity int, now time.Time) {
	ss := w.AzureScaleSetLocked(ssID)
	if ss == nil {
		return
	}
	ss.Capacity = capacity
	live := 0
	for _, id := range ss.Members {
		if vm := w.AzureVMLocked(id); vm != nil && !vm.Deleted {
			live++
		}
	}
	for _, vm := range w.AzureScaleInCandidatesLocked(ss) {
		if live <= capacity {
			break
		}
		if l := w.AzureLockBlockingLocked(vm.ID, false); l != nil {
			w.auditAzureScaleInLocked(ss, vm, now, "ScopeLocked",
				fmt.Sprintf("The scope '%s' cannot perform delete operation because following scope(s) are locked: '%s'. Please remove the lock and try again.", vm.ID, l.Scope))
			continue
		}
		w.deleteAzureVMLocked(vm, now)
		live--
		w.auditAzureScaleInLocked(ss, vm, now, "", "")
	}
}

// deleteAzureVMLocked deletes a VM now: the guest ends at once, the
// resource disappears, and disks with deleteOption Delete are deleted
// unless locked. (Real deletion takes about a minute; nothing a responder
// can do in that minute saves the disks, so it is modelled as instant.)
func (w *World) deleteAzureVMLocked(vm *AzureVM, now time.Time) {
	inst := w.Instances[vm.ID]
	vm.Deleted, vm.PowerState = true, "deleted"
	if inst == nil {
		return
	}
	w.EndInstanceFlowsLocked(inst.ID, "VM deleted by scale-in", nil, now)
	inst.State, inst.TerminatedAt = StateTerminated, now
	az := w.AzureLocked()
	for _, bd := range inst.BlockDevices {
		v := w.Volumes[bd.VolumeID]
		if v == nil {
			continue
		}
		v.Attached, v.Device, v.State = "", "", "available"
		d := az.Disks[strings.ToLower(bd.VolumeID)]
		if d != nil && d.DeleteOption == "Delete" && w.AzureLockBlockingLocked(d.ID, false) == nil {
			v.State = "deleted"
		}
	}
	inst.BlockDevices = nil
	for _, nid := range inst.ENIs {
		delete(w.ENIs, nid)
		delete(az.NICs, strings.ToLower(nid))
	}
	inst.ENIs = nil
	if p := az.Principals[vm.PrincipalID]; p != nil {
		p.Deleted = true
	}
	if ss := w.AzureScaleSetLocked(vm.ScaleSet); ss != nil {
		ss.Members = slices.DeleteFunc(ss.Members, func(id string) bool { return strings.EqualFold(id, vm.ID) })
	}
}

// auditAzureScaleInLocked records a scale-in deletion in the Activity Log as
// the autoscale engine performs it.
func (w *World) auditAzureScaleInLocked(ss *AzureScaleSet, vm *AzureVM, now time.Time, code, msg string) {
	id := w.GUIDLocked()
	w.RecordAuditLocked(&AuditEvent{ID: id, RequestID: id, Time: now, DeliverAt: now.Add(w.JitterLocked(PurposeDelivery, 30*time.Second, 0.4)),
		Cloud: "azure", Account: ss.Subscription, Region: ss.Location, Service: "Microsoft.Compute",
		Operation:    "Microsoft.Compute/virtualMachineScaleSets/delete/action",
		PrincipalARN: "Microsoft.Insights/autoscaleSettings/" + ss.Autoscale, PrincipalID: "Microsoft.Insights/autoscaleSettings",
		UserName: ss.Autoscale, IdentityType: "Application", SourceIP: "", UserAgent: "Azure Autoscale",
		Resources: []AuditResource{{Type: "Microsoft.Compute/virtualMachineScaleSets", Name: ss.ID},
			{Type: "Microsoft.Compute/virtualMachines", Name: vm.ID}},
		ErrorCode: code, ErrorMessage: msg,
		Params: map[string]string{"resourceGroup": ss.ResourceGroup, "instanceIds": vm.InstanceID, "cause": "autoscale scale-in"}})
}

// ---- snapshots -------------------------------------------------------------

// CreateAzureSnapshotLocked creates (or, when it exists, returns) a snapshot
// of a managed disk. The ARM operation finishes at once; the data copy
// (completionPercent) completes after a modelled delay, like EBS. A deleted
// disk cannot be snapshotted: that evidence is gone.
func (w *World) CreateAzureSnapshotLocked(sub, rg, name, location, diskID, createdBy string, tags Tags) (*Snapshot, bool, error) {
	az := w.AzureLocked()
	id := AzureResourceID(sub, rg, "Microsoft.Compute", "snapshots", name)
	if s := w.AzureSnapshotLocked(id); s != nil {
		for k, v := range tags {
			s.Tags[k] = v
		}
		return s, false, nil
	}
	d, v := w.AzureDiskLocked(diskID)
	if d == nil {
		return nil, false, notFound("disk", diskID)
	}
	now := w.clock.Now()
	dur := w.JitterLocked(PurposeDuration, snapshotBase+time.Duration(v.SizeGiB)*snapshotPerGiB/4, 0.2)
	s := &Snapshot{ID: id, Account: sub, Region: orDefault(location, d.Location), VolumeID: d.ID, VolumeSizeGiB: v.SizeGiB,
		Description: "snapshot of " + d.Name, StartTime: now, CompleteAt: now.Add(dur), Encrypted: true, Tags: Tags{}, CreatedBy: createdBy}
	for k, val := range tags {
		s.Tags[k] = val
	}
	w.Snapshots[id] = s
	az.Snapshots[strings.ToLower(id)] = id
	return s, true, nil
}

func azCIDRContains(cidr, ip string) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && p.Contains(a)
}

func azIsPrivateIP(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast())
}

func azIsIP(ip string) bool {
	_, err := netip.ParseAddr(ip)
	return err == nil
}
