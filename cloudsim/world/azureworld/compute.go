package azureworld

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Modelled durations of Azure compute work (jittered per use).
const (
	azurePowerOffTime   = 30 * time.Second // stopping -> stopped (VM still allocated)
	azureDeallocateTime = 75 * time.Second // deallocating -> deallocated
	azureDeleteTime     = 45 * time.Second // scale-in delete of one VM
	azureStartTime      = 40 * time.Second // starting -> running
)

// ResourceID builds a canonical ARM resource id.
func ResourceID(sub, rg, provider, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s", sub, rg, provider, typ, name)
}

// VM finds a VM by id, case-insensitively; nil if unknown.
func (s *State) VM(id string) *VM {
	return s.VMs.Lookup(strings.ToLower(strings.TrimSuffix(id, "/")))
}

// Disk finds a managed disk by id (nil if unknown or deleted).
func (s *State) Disk(id string) (*Disk, *world.Volume) {
	d := s.Disks.Lookup(strings.ToLower(id))
	if d == nil {
		return nil, nil
	}
	v := s.w.Volumes.Lookup(d.ID)
	if v == nil || v.State == "deleted" {
		return nil, nil
	}
	return d, v
}

// NIC finds a network interface by id.
func (s *State) NIC(id string) *world.ENI {
	if canon, ok := s.NICs.Get(strings.ToLower(id)); ok {
		return s.w.ENIs.Lookup(canon)
	}
	return nil
}

// NSG finds a network security group by id.
func (s *State) NSG(id string) *NSG {
	return s.NSGs.Lookup(strings.ToLower(id))
}

// Snapshot finds a snapshot by id.
func (s *State) Snapshot(id string) *world.Snapshot {
	if canon, ok := s.Snapshots.Get(strings.ToLower(id)); ok {
		if snap := s.w.Snapshots.Lookup(canon); snap != nil && !snap.Deleted {
			return snap
		}
	}
	return nil
}

// ScaleSet finds a scale set by id.
func (s *State) ScaleSet(id string) *ScaleSet {
	return s.ScaleSets.Lookup(strings.ToLower(id))
}

// ---- networks ------------------------------------------------------------

// AddVNet creates a virtual network with one subnet and returns
// the VPC and Subnet whose ids are the ARM ids.
func (s *State) AddVNet(sub, rg, location, name, cidr, subnetName, subnetCIDR string) (*world.VPC, *world.Subnet) {
	id := ResourceID(sub, rg, "Microsoft.Network", "virtualNetworks", name)
	v := &world.VPC{ID: id, Account: sub, Region: location, CIDR: cidr, Tags: world.Tags{}}
	s.w.VPCs.Put(id, v)
	s.VNets.Put(strings.ToLower(id), id)
	subnet := &world.Subnet{ID: id + "/subnets/" + subnetName, VPC: id, AZ: location, CIDR: subnetCIDR}
	s.w.Subnets.Put(subnet.ID, subnet)
	s.Subnets.Put(strings.ToLower(subnet.ID), subnet.ID)
	return v, subnet
}

// PutNSG creates or replaces an NSG's rules. Existing flows are
// not re-evaluated ("Existing connections may not be interrupted when you
// remove a security rule"), unless the NSG has flushConnection enabled:
// then every flow of every NIC using it is re-evaluated against the new
// rules and the ones they deny are cut ("flows created from Network
// Security Group connections will be re-evaluated when rules are updated.
// Initial enablement will trigger re-evaluation."). It reports whether the
// NSG was created.
func (s *State) PutNSG(nsg *NSG) (*NSG, bool, error) {
	if err := validateAzureRules(nsg.Rules); err != nil {
		return nil, false, err
	}
	key := strings.ToLower(nsg.ID)
	old, existed := s.NSGs.Get(key)
	if existed {
		old.Rules, old.FlushConnection, old.Tags = nsg.Rules, nsg.FlushConnection, nsg.Tags
		nsg = old
	} else {
		s.NSGs.Put(key, nsg)
	}
	nsg.ETag = fmt.Sprintf(`W/"%s"`, s.w.GUIDLocked())
	if nsg.Tags == nil {
		nsg.Tags = world.Tags{}
	}
	if nsg.FlushConnection {
		for _, e := range s.w.ENIs.All() {
			if len(e.Groups) > 0 && strings.EqualFold(e.Groups[0], nsg.ID) {
				s.flushFlows(e, nsg, "flushConnection: rules of "+nsg.Name+" updated")
			}
		}
	}
	return nsg, !existed, nil
}

func validateAzureRules(rules []Rule) error {
	seen := map[string]string{}
	for _, r := range rules {
		invalid := func(msg string) error {
			return &world.ComputeError{Kind: world.KindInvalid, Resource: "securityRule", ID: r.Name, Msg: msg}
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
		if other, dup := seen[k]; dup {
			return &world.ComputeError{Kind: world.KindDuplicate, Resource: "securityRule", ID: r.Name,
				Msg: fmt.Sprintf("Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.", r.Name, other)}
		}
		seen[k] = r.Name
	}
	return nil
}

// DefaultRules are the rules every NSG ends with (priorities 65000+).
func DefaultRules() []Rule {
	any := []string{"*"}
	return []Rule{
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

// RunCommandEndpoint is the address the Run Command handler on a VM
// must reach over HTTPS to fetch scripts and report results.
const RunCommandEndpoint = "20.150.40.36"

func azurePrefixMatches(prefix, ip string, vnet *world.VPC) bool {
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

// NSGDecision evaluates an NSG for one packet direction: rules by
// priority (lowest number first), then the default rules. It returns the
// deciding rule. A nil NSG allows everything (no NSG on the NIC).
func (s *State) NSGDecision(nsg *NSG, vnet *world.VPC, direction, proto, srcIP string, srcPort int, dstIP string, dstPort int) (bool, string) {
	if nsg == nil {
		return true, ""
	}
	rules := append([]Rule(nil), nsg.Rules...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	rules = append(rules, DefaultRules()...)
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

func anyPrefix(prefixes []string, ip string, vnet *world.VPC) bool {
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

// flowAllowed evaluates a flow's opening packet on its NIC's NSG.
func (s *State) flowAllowed(eni *world.ENI, nsg *NSG, f *world.Flow) (bool, string) {
	vnet := s.w.VPCs.Lookup(eni.VPC)
	if f.Direction == "egress" {
		return s.NSGDecision(nsg, vnet, "Outbound", f.Protocol, eni.PrivateIP, f.LocalPort, f.RemoteIP, f.RemotePort)
	}
	return s.NSGDecision(nsg, vnet, "Inbound", f.Protocol, f.RemoteIP, f.RemotePort, eni.PrivateIP, f.LocalPort)
}

func (s *State) nsgOf(eni *world.ENI) *NSG {
	if len(eni.Groups) == 0 {
		return nil
	}
	return s.NSG(eni.Groups[0])
}

// OpenFlow opens a connection on an Azure VM's primary NIC if its
// NSG permits it. NSGs are stateful: the flow's return traffic is allowed,
// and the flow survives later rule changes unless connections are flushed.
func (s *State) OpenFlow(vmID string, spec world.FlowSpec) (*world.Flow, error) {
	f, err := s.admitFlow(vmID, spec, true)
	if err != nil {
		return nil, err
	}
	s.w.StartFlowLocked(f)
	return f, nil
}

// AdmitFlow says whether OpenFlow would open the connection spec
// describes now, without opening it: nil, or the error OpenFlow would
// return. Nothing is drawn, so the spec gives both ports.
func (s *State) AdmitFlow(vmID string, spec world.FlowSpec) error {
	_, err := s.admitFlow(vmID, spec, false)
	return err
}

// admitFlow builds the (tracked) flow spec describes on the running VM's
// primary NIC, drawing the ephemeral ports the spec left open when draw is
// set, and checks that the NIC's NSG lets it open.
func (s *State) admitFlow(vmID string, spec world.FlowSpec, draw bool) (*world.Flow, error) {
	vm := s.VM(vmID)
	if vm == nil || vm.Deleted {
		return nil, world.NotFound("virtual-machine", vmID)
	}
	inst := s.w.Instances.Lookup(vm.ID)
	if inst == nil || vm.PowerState != "running" {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("VM %s is %s, not running", vm.Name, vm.PowerState)}
	}
	if len(inst.ENIs) == 0 {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID, Msg: "VM has no network interface"}
	}
	eni := s.w.ENIs.Lookup(inst.ENIs[0])
	f, err := world.NewFlow(vm.ID, eni.ID, spec)
	if err != nil {
		return nil, err
	}
	f.Tracked = true
	if draw {
		s.w.DrawEphemeralPortsLocked(f)
	}
	nsg := s.nsgOf(eni)
	if ok, rule := s.flowAllowed(eni, nsg, f); !ok {
		return nil, &world.ComputeError{Kind: world.KindBlocked, Resource: "flow", ID: vm.ID,
			Msg: fmt.Sprintf("security rule %s of %s denies %s %s to %s:%d", rule, eni.Groups[0], f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	return f, nil
}

// flushFlows re-evaluates the NIC's active flows against nsg and
// cuts those it denies.
func (s *State) flushFlows(eni *world.ENI, nsg *NSG, reason string) {
	for _, f := range s.w.ActiveFlowsLocked(eni.Instance) {
		if f.ENI != eni.ID {
			continue
		}
		if ok, rule := s.flowAllowed(eni, nsg, f); !ok {
			s.w.EndFlowLocked(f, fmt.Sprintf("connection flushed (%s; denied by %s)", reason, rule), s.w.Now())
		}
	}
}

// SetNIC applies a NIC update: its NSG (empty to remove it) and
// whether it keeps its public IP. Swapping the NSG re-evaluates existing
// flows only when the new NSG has flushConnection; otherwise they survive
// the swap, as on Azure. Removing the public IP ends internet flows.
func (s *State) SetNIC(nicID, nsgID string, keepPublicIP bool) (*world.ENI, error) {
	eni := s.NIC(nicID)
	if eni == nil {
		return nil, world.NotFound("network-interface", nicID)
	}
	var nsg *NSG
	if nsgID != "" {
		if nsg = s.NSG(nsgID); nsg == nil {
			return nil, world.NotFound("network-security-group", nsgID)
		}
		eni.Groups = []string{nsg.ID}
	} else {
		eni.Groups = nil
	}
	if !keepPublicIP && eni.PublicIP != "" {
		eni.PublicIP = ""
		if inst := s.w.Instances.Lookup(eni.Instance); inst != nil {
			inst.PublicIP = ""
			s.w.EndInternetFlowsLocked(inst, "public IP address dissociated from "+eni.ID)
		}
	}
	if nsg != nil && nsg.FlushConnection {
		s.flushFlows(eni, nsg, "NIC moved to "+nsg.Name)
	}
	return eni, nil
}

// ---- VMs -------------------------------------------------------------------

// VMSpec describes a VM to create.
type VMSpec struct {
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
	Processes                                   []world.Process
	CPU                                         []world.CPUPoint
	Tags                                        world.Tags
	Created                                     time.Time // default now
}

// AddVM creates a running VM with its NIC, OS disk, data disks
// and (optionally) a system-assigned managed identity. Disks of scale-set
// VMs are deleted with the VM (deleteOption Delete), as flexible scale sets
// create them.
func (s *State) AddVM(spec VMSpec) (*VM, *world.Instance, error) {
	subnet := s.w.Subnets.Lookup(spec.Subnet)
	if subnet == nil {
		return nil, nil, world.NotFound("subnet", spec.Subnet)
	}
	created := spec.Created
	if created.IsZero() {
		created = s.w.Now()
	}
	id := ResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Compute", "virtualMachines", spec.Name)
	if s.VMs.Lookup(strings.ToLower(id)) != nil {
		return nil, nil, &world.ComputeError{Kind: world.KindDuplicate, Resource: "virtual-machine", ID: id, Msg: "VM " + spec.Name + " already exists"}
	}
	vm := &VM{ID: id, Name: spec.Name, ResourceGroup: spec.ResourceGroup, Subscription: spec.Subscription,
		Location: spec.Location, Size: cmp.Or(spec.Size, "Standard_D2s_v5"), VMID: s.w.GUIDLocked(),
		ComputerName: spec.Name, IdentityType: "None", PowerState: "running", TimeCreated: created}
	inst := &world.Instance{ID: id, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, Type: vm.Size,
		ImageID: "Canonical:ubuntu-24_04-lts:server:latest", State: world.StateRunning, LaunchTime: created,
		VPC: subnet.VPC, Subnet: subnet.ID, Tags: world.Tags{}, ShutdownBehavior: "stop", SSMAgent: false, Platform: "Linux",
		MemoryGiB: spec.MemoryGiB, Processes: append([]world.Process(nil), spec.Processes...), CPU: append([]world.CPUPoint(nil), spec.CPU...)}
	for k, v := range spec.Tags {
		inst.Tags[k] = v
	}
	nicID := ResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Network", "networkInterfaces", spec.Name+"-nic")
	eni := &world.ENI{ID: nicID, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, VPC: subnet.VPC,
		Subnet: subnet.ID, Instance: id, PrivateIP: s.w.PrivateIPLocked(subnet), MAC: strings.ToUpper(strings.ReplaceAll(s.w.MACLocked(), ":", "-")),
		Description: "ipconfig1", Status: "in-use", DeleteOnTermination: spec.ScaleSet != "", Tags: world.Tags{}}
	if spec.NSG != "" {
		nsg := s.NSG(spec.NSG)
		if nsg == nil {
			return nil, nil, world.NotFound("network-security-group", spec.NSG)
		}
		eni.Groups = []string{nsg.ID}
	}
	if spec.PublicIP {
		eni.PublicIP = s.publicIP()
	}
	s.w.ENIs.Put(nicID, eni)
	s.NICs.Put(strings.ToLower(nicID), nicID)
	inst.ENIs = []string{nicID}
	inst.PrivateIP, inst.PublicIP = eni.PrivateIP, eni.PublicIP

	delOpt := "Detach"
	if spec.ScaleSet != "" {
		delOpt = "Delete"
	}
	addDisk := func(name string, size, lun int, dev string) *Disk {
		did := ResourceID(spec.Subscription, spec.ResourceGroup, "Microsoft.Compute", "disks", name)
		v := &world.Volume{ID: did, Account: spec.Subscription, Region: spec.Location, AZ: spec.Location, SizeGiB: size,
			Type: "Premium_LRS", State: "in-use", Encrypted: true, CreateTime: created, Attached: id, Device: dev, Tags: world.Tags{}}
		s.w.Volumes.Put(did, v)
		d := &Disk{ID: did, Name: name, ResourceGroup: spec.ResourceGroup, Subscription: spec.Subscription,
			Location: spec.Location, SKU: "Premium_LRS", DeleteOption: delOpt, LUN: lun}
		if lun < 0 {
			d.OSType = "Linux"
		}
		s.Disks.Put(strings.ToLower(did), d)
		inst.BlockDevices = append(inst.BlockDevices, world.BlockDevice{Device: dev, VolumeID: did, DeleteOnTermination: delOpt == "Delete"})
		return d
	}
	os := addDisk(spec.Name+"_OsDisk_1", cmp.Or(max(spec.OSDiskGiB, 0), 30), -1, "/dev/sda")
	vm.OSDisk = os.ID
	for i, size := range spec.DataDiskGiB {
		d := addDisk(fmt.Sprintf("%s_DataDisk_%d", spec.Name, i), size, i, fmt.Sprintf("/dev/sd%c", 'c'+i))
		vm.DataDisks = append(vm.DataDisks, d.ID)
	}
	if spec.SystemAssignedIdentity {
		p := &Principal{ObjectID: s.w.GUIDLocked(), AppID: s.w.GUIDLocked(), DisplayName: spec.Name,
			Kind: ManagedIdentity, VM: id}
		s.Principals.Put(p.ObjectID, p)
		vm.IdentityType, vm.PrincipalID = "SystemAssigned", p.ObjectID
	}
	if spec.ScaleSet != "" {
		ss := s.ScaleSet(spec.ScaleSet)
		if ss == nil {
			return nil, nil, world.NotFound("virtual-machine-scale-set", spec.ScaleSet)
		}
		vm.ScaleSet = ss.ID
		vm.InstanceID = strings.TrimPrefix(spec.Name, ss.Name+"_")
		ss.Members = append(ss.Members, id)
		inst.ASG = ss.ID
	}
	s.w.Instances.Put(id, inst)
	s.VMs.Put(strings.ToLower(id), vm)
	return vm, inst, nil
}

func (s *State) publicIP() string {
	firsts := []int{20, 40, 52, 104}
	return fmt.Sprintf("%d.%d.%d.%d", firsts[s.w.IDRandLocked().IntN(len(firsts))], s.w.IDRandLocked().IntN(256), s.w.IDRandLocked().IntN(256), 1+s.w.IDRandLocked().IntN(254))
}

// SetVMIdentity sets the VM's identity type ("None" or
// "SystemAssigned"). Removing a system-assigned identity deletes its
// service principal; role assignments naming it stay (orphaned) and tokens
// already issued to it stay valid until they expire.
func (s *State) SetVMIdentity(vm *VM, typ string) error {
	switch typ {
	case "None":
		if p := s.Principals.Lookup(vm.PrincipalID); p != nil {
			p.Deleted = true
		}
		vm.IdentityType, vm.PrincipalID = "None", ""
	case "SystemAssigned":
		if vm.IdentityType == "SystemAssigned" {
			return nil
		}
		p := &Principal{ObjectID: s.w.GUIDLocked(), AppID: s.w.GUIDLocked(), DisplayName: vm.Name, Kind: ManagedIdentity, VM: vm.ID}
		s.Principals.Put(p.ObjectID, p)
		vm.IdentityType, vm.PrincipalID = "SystemAssigned", p.ObjectID
	default:
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "identity", ID: vm.ID,
			Msg: fmt.Sprintf("Identity type '%s' is not supported by the simulator; use None or SystemAssigned.", typ)}
	}
	return nil
}

// PowerOff powers a running VM off (deallocate also releases
// its host, temp disk and dynamic public IP). The guest stops at once, so its
// connections end and RAM is lost; the power state settles after a modelled
// delay. Powering off a stopped VM is a no-op.
func (s *State) PowerOff(vm *VM, deallocate, hibernate bool) error {
	inst := s.w.Instances.Lookup(vm.ID)
	if inst == nil || vm.Deleted {
		return world.NotFound("virtual-machine", vm.ID)
	}
	if hibernate && !vm.HibernationEnabled {
		return &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("Hibernation is not enabled on VM '%s'. Enable hibernation capability on the VM to hibernate it.", vm.Name)}
	}
	now := s.w.Now()
	switch vm.PowerState {
	case "deallocated", "deallocating":
		return nil
	case "stopped", "stopping":
		if !deallocate {
			return nil
		}
	case "running":
		s.w.EndInstanceFlowsLocked(inst.ID, "VM powered off", nil, now)
		s.w.SetCPULocked(inst, now, 0)
	}
	final, d := "stopped", azurePowerOffTime
	vm.PowerState, inst.State = "stopping", world.StateStopping
	if deallocate {
		final, d = "deallocated", azureDeallocateTime
		vm.PowerState = "deallocating"
	}
	id := vm.ID
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, d, 0.3)), "azure-vm-"+final+":"+id, func(time.Time) {
		v := s.VM(id)
		if v == nil || v.Deleted || (v.PowerState != "stopping" && v.PowerState != "deallocating") {
			return
		}
		v.PowerState = final
		if i := s.w.Instances.Lookup(id); i != nil {
			i.State = world.StateStopped
			if final == "deallocated" {
				i.PublicIP = ""
				for _, nid := range i.ENIs {
					if e := s.w.ENIs.Lookup(nid); e != nil {
						if e.PublicIP != "" {
							s.ReleasedPublicIPs.Put(nid, true)
						}
						e.PublicIP = ""
					}
				}
			}
		}
	})
	return nil
}

// StartVM starts a stopped or deallocated VM: it is "starting" at once
// and running after a modelled boot delay. Its guest comes back with its
// disks but not its RAM; a deallocated VM's NIC gets a new public IP (the
// old dynamic one was released). A VM still settling into stopped or
// deallocated starts the same way (its power-off operation already answered
// Succeeded, so a client may start it at once); starting a running or
// starting VM is a no-op.
func (s *State) StartVM(vm *VM) error {
	inst := s.w.Instances.Lookup(vm.ID)
	if inst == nil || vm.Deleted {
		return world.NotFound("virtual-machine", vm.ID)
	}
	switch vm.PowerState {
	case "running", "starting":
		return nil
	case "deallocating":
		for _, nid := range inst.ENIs {
			if e := s.w.ENIs.Lookup(nid); e != nil && e.PublicIP != "" {
				s.ReleasedPublicIPs.Put(nid, true)
				e.PublicIP = ""
			}
		}
		inst.PublicIP = ""
		vm.PowerState = "deallocated"
	}
	if vm.PowerState == "deallocated" {
		for _, nid := range inst.ENIs {
			if e := s.w.ENIs.Lookup(nid); e != nil && e.PublicIP == "" && s.ReleasedPublicIPs.Lookup(nid) {
				s.ReleasedPublicIPs.Delete(nid)
				e.PublicIP = s.publicIP()
				if nid == inst.ENIs[0] {
					inst.PublicIP = e.PublicIP
				}
			}
		}
	}
	vm.PowerState, inst.State = "starting", world.StatePending
	id := vm.ID
	s.w.ScheduleLocked(s.w.Now().Add(s.w.JitterLocked(world.PurposeDuration, azureStartTime, 0.3)), "azure-vm-running:"+id, func(now time.Time) {
		v := s.VM(id)
		if v == nil || v.Deleted || v.PowerState != "starting" {
			return
		}
		v.PowerState = "running"
		if i := s.w.Instances.Lookup(id); i != nil {
			i.State = world.StateRunning
		}
	})
	return nil
}

// ---- scale sets ------------------------------------------------------------

// AddScaleSet creates an (initially empty) flexible scale set.
func (s *State) AddScaleSet(sub, rg, location, name string) *ScaleSet {
	ss := &ScaleSet{ID: ResourceID(sub, rg, "Microsoft.Compute", "virtualMachineScaleSets", name), Name: name,
		ResourceGroup: rg, Subscription: sub, Location: location, Autoscale: name + "-autoscale"}
	s.ScaleSets.Put(strings.ToLower(ss.ID), ss)
	return ss
}

// ScaleSetVM finds a scale-set member by instance id.
func (s *State) ScaleSetVM(ssID, instanceID string) *VM {
	ss := s.ScaleSet(ssID)
	if ss == nil {
		return nil
	}
	for _, id := range ss.Members {
		if vm := s.VM(id); vm != nil && !vm.Deleted && vm.InstanceID == instanceID {
			return vm
		}
	}
	return nil
}

// ScheduleScaleIn registers an autoscale scale-in to capacity at
// the given time. When it fires, unprotected members are deleted (Default
// scale-in policy: highest instance id first) with their NICs and every disk
// whose deleteOption is Delete, so evidence not captured by then is gone.
// Members protected from scale-in or from scale-set actions are skipped; a
// delete lock on a member makes its deletion fail (ScopeLocked), as ARM
// enforces locks on the autoscale engine's calls too.
func (s *State) ScheduleScaleIn(ssID string, at time.Time, capacity int) error {
	ss := s.ScaleSet(ssID)
	if ss == nil {
		return world.NotFound("virtual-machine-scale-set", ssID)
	}
	ss.ScaleIn = append(ss.ScaleIn, world.ScaleIn{At: at, Desired: capacity})
	id := ss.ID
	s.w.ScheduleLocked(at, "azure-scale-in:"+id, func(now time.Time) { s.scaleIn(id, capacity, now) })
	return nil
}

// ScaleInCandidates lists the members scale-in would delete, in
// order.
func (s *State) ScaleInCandidates(ss *ScaleSet) []*VM {
	var out []*VM
	for _, id := range ss.Members {
		vm := s.VM(id)
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

func (s *State) scaleIn(ssID string, capacity int, now time.Time) {
	ss := s.ScaleSet(ssID)
	if ss == nil {
		return
	}
	ss.Capacity = capacity
	live := 0
	for _, id := range ss.Members {
		if vm := s.VM(id); vm != nil && !vm.Deleted {
			live++
		}
	}
	for _, vm := range s.ScaleInCandidates(ss) {
		if live <= capacity {
			break
		}
		if l := s.LockBlocking(vm.ID, false); l != nil {
			s.auditScaleIn(ss, vm, now, "ScopeLocked",
				fmt.Sprintf("The scope '%s' cannot perform delete operation because following scope(s) are locked: '%s'. Please remove the lock and try again.", vm.ID, l.Scope))
			continue
		}
		s.deleteVM(vm, now)
		live--
		s.auditScaleIn(ss, vm, now, "", "")
	}
}

// deleteVM deletes a VM now: the guest ends at once, the
// resource disappears, and disks with deleteOption Delete are deleted
// unless locked. (Real deletion takes about a minute; nothing a responder
// can do in that minute saves the disks, so it is modelled as instant.)
func (s *State) deleteVM(vm *VM, now time.Time) {
	inst := s.w.Instances.Lookup(vm.ID)
	vm.Deleted, vm.PowerState = true, "deleted"
	if inst == nil {
		return
	}
	s.w.EndInstanceFlowsLocked(inst.ID, "VM deleted by scale-in", nil, now)
	inst.State, inst.TerminatedAt = world.StateTerminated, now
	for _, bd := range inst.BlockDevices {
		v := s.w.Volumes.Lookup(bd.VolumeID)
		if v == nil {
			continue
		}
		v.Attached, v.Device, v.State = "", "", "available"
		d := s.Disks.Lookup(strings.ToLower(bd.VolumeID))
		if d != nil && d.DeleteOption == "Delete" && s.LockBlocking(d.ID, false) == nil {
			v.State = "deleted"
		}
	}
	inst.BlockDevices = nil
	for _, nid := range inst.ENIs {
		s.w.ENIs.Delete(nid)
		s.NICs.Delete(strings.ToLower(nid))
	}
	inst.ENIs = nil
	if p := s.Principals.Lookup(vm.PrincipalID); p != nil {
		p.Deleted = true
	}
	if ss := s.ScaleSet(vm.ScaleSet); ss != nil {
		ss.Members = slices.DeleteFunc(ss.Members, func(id string) bool { return strings.EqualFold(id, vm.ID) })
	}
}

// auditScaleIn records a scale-in deletion in the Activity Log as
// the autoscale engine performs it.
func (s *State) auditScaleIn(ss *ScaleSet, vm *VM, now time.Time, code, msg string) {
	id := s.w.GUIDLocked()
	s.w.RecordAuditLocked(&world.AuditEvent{ID: id, RequestID: id, Time: now, DeliverAt: now.Add(s.w.JitterLocked(world.PurposeDelivery, 30*time.Second, 0.4)),
		Cloud: "azure", Account: ss.Subscription, Region: ss.Location, Service: "Microsoft.Compute",
		Operation:    "Microsoft.Compute/virtualMachineScaleSets/delete/action",
		PrincipalARN: "Microsoft.Insights/autoscaleSettings/" + ss.Autoscale, PrincipalID: "Microsoft.Insights/autoscaleSettings",
		UserName: ss.Autoscale, IdentityType: "Application", SourceIP: "", UserAgent: "Azure Autoscale",
		Resources: []world.AuditResource{{Type: "Microsoft.Compute/virtualMachineScaleSets", Name: ss.ID},
			{Type: "Microsoft.Compute/virtualMachines", Name: vm.ID}},
		ErrorCode: code, ErrorMessage: msg,
		Params: map[string]string{"resourceGroup": ss.ResourceGroup, "instanceIds": vm.InstanceID, "cause": "autoscale scale-in"}})
}

// ---- snapshots -------------------------------------------------------------

// CreateSnapshot creates (or, when it exists, returns) a snapshot
// of a managed disk. The ARM operation finishes at once; the data copy
// (completionPercent) completes after a modelled delay, like EBS. A deleted
// disk cannot be snapshotted: that evidence is gone.
func (s *State) CreateSnapshot(sub, rg, name, location, diskID, createdBy string, tags world.Tags) (*world.Snapshot, bool, error) {
	id := ResourceID(sub, rg, "Microsoft.Compute", "snapshots", name)
	if snap := s.Snapshot(id); snap != nil {
		for k, v := range tags {
			snap.Tags[k] = v
		}
		return snap, false, nil
	}
	d, v := s.Disk(diskID)
	if d == nil {
		return nil, false, world.NotFound("disk", diskID)
	}
	now := s.w.Now()
	dur := s.w.JitterLocked(world.PurposeDuration, world.SnapshotBase+time.Duration(v.SizeGiB)*world.SnapshotPerGiB/4, 0.2)
	snap := &world.Snapshot{ID: id, Account: sub, Region: cmp.Or(location, d.Location), VolumeID: d.ID, VolumeSizeGiB: v.SizeGiB,
		Description: "snapshot of " + d.Name, StartTime: now, CompleteAt: now.Add(dur), Encrypted: true, Tags: world.Tags{}, CreatedBy: createdBy}
	for k, val := range tags {
		snap.Tags[k] = val
	}
	s.w.Snapshots.Put(id, snap)
	s.Snapshots.Put(strings.ToLower(id), id)
	return snap, true, nil
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
