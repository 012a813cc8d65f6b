package gcpworld

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Error is a GCP-side failure with the HTTP status and googleapi reason
// the Compute API answers with, so the wire front end can render it.
type Error struct {
	Status int    // HTTP status
	Reason string // googleapi reason, e.s. "notFound", "conditionNotMet"
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func notFound(key string) *Error {
	return &Error{Status: 404, Reason: "notFound", Msg: fmt.Sprintf("The resource '%s' was not found", key)}
}

// AddNetwork creates a VPC network.
func (s *State) AddNetwork(project, name string) *Network {
	n := &Network{Key: NetworkKey(project, name), Name: name, Project: project,
		ID: s.NumericID(), Created: s.w.Now()}
	s.Networks.Put(n.Key, n)
	return n
}

// AddSubnet creates a subnetwork of a network.
func (s *State) AddSubnet(project, region, name, network, cidr string) (*Subnet, error) {
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return nil, fmt.Errorf("subnet %s: bad CIDR %q: %w", name, cidr, err)
	}
	if s.Networks.Lookup(network) == nil {
		return nil, fmt.Errorf("subnet %s: network %s does not exist", name, network)
	}
	sub := &Subnet{Key: SubnetKey(project, region, name), Name: name, Project: project, Region: region,
		Network: network, CIDR: cidr, ID: s.NumericID(), next: 2}
	s.Subnets.Put(sub.Key, sub)
	return sub, nil
}

// nextIP allocates the subnet's next address (GCE reserves the first two).
func (sub *Subnet) nextIP() string {
	p := netip.MustParsePrefix(sub.CIDR)
	a := p.Addr()
	for i := 0; i < sub.next; i++ {
		a = a.Next()
	}
	sub.next++
	return a.String()
}

// AddFirewall validates and creates a firewall rule.
func (s *State) AddFirewall(fw *Firewall) (*Firewall, error) {
	fw.Key = FirewallKey(fw.Project, fw.Name)
	if _, ok := s.Firewalls.Get(fw.Key); ok {
		return nil, &Error{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", fw.Key)}
	}
	if err := validateFirewall(fw, s); err != nil {
		return nil, err
	}
	fw.ID = s.NumericID()
	fw.Created = s.w.Now()
	s.Firewalls.Put(fw.Key, fw)
	return fw, nil
}

func validateFirewall(fw *Firewall, s *State) error {
	bad := func(format string, args ...any) error {
		return &Error{Status: 400, Reason: "invalid", Msg: fmt.Sprintf(format, args...)}
	}
	if fw.Name == "" {
		return bad("Invalid value for field 'resource.name': ''. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	if s.Networks.Lookup(fw.Network) == nil {
		return bad("Invalid value for field 'resource.network': '%s'. The referenced network resource cannot be found.", fw.Network)
	}
	switch fw.Direction {
	case "":
		fw.Direction = "INGRESS"
	case "INGRESS", "EGRESS":
	default:
		return bad("Invalid value for field 'resource.direction': '%s'.", fw.Direction)
	}
	if fw.Priority < 0 || fw.Priority > 65535 {
		return bad("Invalid value for field 'resource.priority': '%d'. Must be between 0 and 65535.", fw.Priority)
	}
	if (len(fw.Allowed) == 0) == (len(fw.Denied) == 0) {
		return bad("Exactly one of 'allowed' or 'denied' must be specified.")
	}
	for _, r := range append(append([]FirewallRule(nil), fw.Allowed...), fw.Denied...) {
		switch strings.ToLower(r.Protocol) {
		case "all", "tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip":
		default:
			if _, err := strconv.Atoi(r.Protocol); err != nil {
				return bad("Invalid value for field 'resource.allowed[0].IPProtocol': '%s'.", r.Protocol)
			}
		}
		for _, p := range r.Ports {
			if _, _, ok := parsePortRange(p); !ok {
				return bad("Invalid value for field 'resource.allowed[0].ports[0]': '%s'.", p)
			}
		}
	}
	for _, c := range append(append([]string(nil), fw.SourceRanges...), fw.DestinationRanges...) {
		if _, err := netip.ParsePrefix(normalizeCIDR(c)); err != nil {
			return bad("Invalid value for field 'resource.sourceRanges[0]': '%s'. Must be a CIDR address range.", c)
		}
	}
	if fw.Direction == "EGRESS" && (len(fw.SourceTags) > 0) {
		return bad("Source tags cannot be specified for an EGRESS firewall rule.")
	}
	return nil
}

func normalizeCIDR(c string) string {
	if !strings.Contains(c, "/") {
		if a, err := netip.ParseAddr(c); err == nil {
			return netip.PrefixFrom(a, a.BitLen()).String()
		}
	}
	return c
}

func parsePortRange(p string) (int, int, bool) {
	lo, hi, found := strings.Cut(p, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 0 || a > 65535 {
		return 0, 0, false
	}
	if !found {
		return a, a, true
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 {
		return 0, 0, false
	}
	return a, b, true
}

// InstanceSpec describes a VM to create.
type InstanceSpec struct {
	Project, Zone, Name string
	MachineType         string
	Subnet              string // subnet key
	ExternalIP          bool   // give nic0 an ONE_TO_ONE_NAT access config
	Tags                []string
	Labels              map[string]string
	ServiceAccount      string
	Scopes              []string
	BootDiskGb          int
	DataDisksGb         []int
	DataDiskAutoDelete  bool
	Image               string
	MIG                 string // key of the managing MIG, set by the MIG itself
	Processes           []world.Process
}

// AddInstance creates a running VM with a boot disk (auto-delete,
// as GCE defaults) and optional data disks, and its world Instance.
func (s *State) AddInstance(spec InstanceSpec) (*Instance, error) {
	proj := s.Projects.Lookup(spec.Project)
	if proj == nil {
		return nil, fmt.Errorf("project %q does not exist", spec.Project)
	}
	key := InstanceKey(spec.Project, spec.Zone, spec.Name)
	if _, ok := s.Instances.Get(key); ok {
		return nil, &Error{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", key)}
	}
	sub := s.Subnets.Lookup(spec.Subnet)
	if sub == nil {
		return nil, fmt.Errorf("instance %s: subnet %q does not exist", spec.Name, spec.Subnet)
	}
	if spec.ServiceAccount != "" && s.ServiceAccounts.Lookup(spec.ServiceAccount) == nil {
		return nil, fmt.Errorf("instance %s: service account %s does not exist", spec.Name, spec.ServiceAccount)
	}
	now := s.w.Now()
	inst := &Instance{Key: key, Name: spec.Name, Project: spec.Project, Zone: spec.Zone,
		ID: s.NumericID(), MachineType: cmp.Or(spec.MachineType, "e2-standard-2"), Status: StatusRunning,
		Tags: slices.Compact(slices.Sorted(slices.Values(spec.Tags))), TagsFingerprint: s.Fingerprint(),
		Labels: copyTags(spec.Labels), LabelFingerprint: s.Fingerprint(),
		ServiceAccount: spec.ServiceAccount, Scopes: append([]string(nil), spec.Scopes...),
		Metadata: map[string]string{}, MetadataFingerprint: s.Fingerprint(),
		MIG: spec.MIG, Created: now, LastStart: now}
	if spec.ServiceAccount != "" && len(inst.Scopes) == 0 {
		inst.Scopes = []string{"https://www.googleapis.com/auth/cloud-platform"}
	}
	if spec.MIG != "" {
		inst.Metadata["created-by"] = fmt.Sprintf("projects/%d/%s", proj.Number, strings.TrimPrefix(spec.MIG, "projects/"+spec.Project+"/"))
	}
	nic := &NIC{Name: "nic0", Network: sub.Network, Subnet: sub.Key, NetworkIP: sub.nextIP(),
		Fingerprint: s.Fingerprint()}
	if spec.ExternalIP {
		nic.AccessConfigs = []*AccessConfig{{Name: "External NAT", Type: "ONE_TO_ONE_NAT",
			NatIP: s.w.PublicIPLocked(), NetworkTier: "PREMIUM"}}
	}
	inst.NICs = []*NIC{nic}
	boot := s.addDisk(spec.Project, spec.Zone, spec.Name, cmp.Or(max(spec.BootDiskGb, 0), 10),
		"pd-balanced", cmp.Or(spec.Image, "projects/debian-cloud/global/images/debian-12-bookworm-v20261014"), key)
	inst.Disks = append(inst.Disks, &AttachedDisk{DeviceName: "persistent-disk-0", Disk: boot.Key, Boot: true, AutoDelete: true, Mode: "READ_WRITE"})
	for i, size := range spec.DataDisksGb {
		d := s.addDisk(spec.Project, spec.Zone, fmt.Sprintf("%s-data-%d", spec.Name, i+1), size, "pd-ssd", "", key)
		inst.Disks = append(inst.Disks, &AttachedDisk{DeviceName: fmt.Sprintf("persistent-disk-%d", i+1), Disk: d.Key,
			AutoDelete: spec.DataDiskAutoDelete, Index: i + 1, Mode: "READ_WRITE"})
	}
	s.Instances.Put(key, inst)

	wi := &world.Instance{ID: key, Account: spec.Project, Region: ZoneRegion(spec.Zone), AZ: spec.Zone,
		Type: inst.MachineType, ImageID: spec.Image, State: world.StateRunning, LaunchTime: now,
		VPC: sub.Network, Subnet: sub.Key, PrivateIP: nic.NetworkIP, Tags: copyTags(spec.Labels),
		ShutdownBehavior: "stop", Platform: "Linux", MemoryGiB: 8, Processes: append([]world.Process(nil), spec.Processes...)}
	if spec.ExternalIP {
		wi.PublicIP = nic.AccessConfigs[0].NatIP
	}
	for _, d := range inst.Disks {
		wi.BlockDevices = append(wi.BlockDevices, world.BlockDevice{Device: d.DeviceName, VolumeID: d.Disk, DeleteOnTermination: d.AutoDelete})
	}
	s.w.Instances.Put(key, wi)
	return inst, nil
}

func copyTags(in map[string]string) world.Tags {
	out := world.Tags{}
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (s *State) addDisk(project, zone, name string, size int, typ, image, user string) *Disk {
	now := s.w.Now()
	d := &Disk{Key: DiskKey(project, zone, name), Name: name, Project: project, Zone: zone,
		ID: s.NumericID(), SizeGb: size, Type: typ, SourceImage: image, Labels: map[string]string{},
		LabelFingerprint: s.Fingerprint(), Created: now}
	if user != "" {
		d.Users = []string{user}
	}
	s.Disks.Put(d.Key, d)
	v := &world.Volume{ID: d.Key, Account: project, Region: ZoneRegion(zone), AZ: zone, SizeGiB: size, Type: typ,
		State: "in-use", Encrypted: true, CreateTime: now, Attached: user, Tags: world.Tags{}}
	if user == "" {
		v.State = "available"
	}
	s.w.Volumes.Put(d.Key, v)
	return d
}

// FindInstance finds a VM by project, zone and name or numeric id.
func (s *State) FindInstance(project, zone, nameOrID string) (*Instance, error) {
	if inst := s.Instances.Lookup(InstanceKey(project, zone, nameOrID)); inst != nil {
		return inst, nil
	}
	if id, err := strconv.ParseUint(nameOrID, 10, 64); err == nil {
		for _, i := range s.Instances.All() {
			if i.ID == id && i.Project == project && i.Zone == zone {
				return i, nil
			}
		}
	}
	return nil, notFound(InstanceKey(project, zone, nameOrID))
}

// Stop stops a VM: RUNNING -> STOPPING -> TERMINATED after a short
// guest shutdown. Flows end; disks and the instance stay. It returns when
// the VM will be TERMINATED (now if it already is).
func (s *State) Stop(inst *Instance) time.Time {
	if inst.Status == StatusTerminated || inst.Status == StatusStopping {
		return inst.stopAt
	}
	now := s.w.Now()
	inst.Status = StatusStopping
	if wi := s.w.Instances.Lookup(inst.Key); wi != nil {
		wi.State = world.StateStopping
		s.w.EndInstanceFlowsLocked(inst.Key, "instance stopped", nil, now)
	}
	key := inst.Key
	inst.stopAt = now.Add(s.w.JitterLocked(world.PurposeDuration, 20*time.Second, 0.3).Round(time.Millisecond))
	s.w.ScheduleLocked(inst.stopAt, "gce stop "+key, func(at time.Time) {
		i := s.Instances.Lookup(key)
		if i == nil || i.Status != StatusStopping {
			return
		}
		i.Status = StatusTerminated
		i.LastStop = at
		if wi := s.w.Instances.Lookup(key); wi != nil {
			wi.State = world.StateStopped
		}
	})
	return inst.stopAt
}

// Start starts a stopped VM (TERMINATED -> STAGING -> RUNNING) and
// returns when it will be RUNNING.
func (s *State) Start(inst *Instance) (time.Time, error) {
	switch inst.Status {
	case StatusRunning, StatusStaging, StatusProvisioning:
		return inst.startAt, nil
	case StatusStopping:
		return time.Time{}, &Error{Status: 400, Reason: "resourceNotReady",
			Msg: fmt.Sprintf("The resource '%s' is not ready", inst.Key)}
	}
	now := s.w.Now()
	inst.Status = StatusStaging
	if wi := s.w.Instances.Lookup(inst.Key); wi != nil {
		wi.State = world.StatePending
	}
	key := inst.Key
	inst.startAt = now.Add(s.w.JitterLocked(world.PurposeDuration, 15*time.Second, 0.3).Round(time.Millisecond))
	s.w.ScheduleLocked(inst.startAt, "gce start "+key, func(at time.Time) {
		i := s.Instances.Lookup(key)
		if i == nil || i.Status != StatusStaging {
			return
		}
		i.Status = StatusRunning
		i.LastStart = at
		if wi := s.w.Instances.Lookup(key); wi != nil {
			wi.State = world.StateRunning
		}
	})
	return inst.startAt, nil
}

// Delete deletes a VM at time at, with its auto-delete disks;
// disks with auto-delete off survive, detached. Deletion protection
// refuses it.
func (s *State) Delete(inst *Instance, at time.Time) error {
	if inst.DeletionProtection {
		return &Error{Status: 400, Reason: "resourceInUseByAnotherResource",
			Msg: "Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'."}
	}
	s.w.EndInstanceFlowsLocked(inst.Key, "instance deleted", nil, at)
	for _, ad := range inst.Disks {
		d := s.Disks.Lookup(ad.Disk)
		if d == nil {
			continue
		}
		d.Users = removeString(d.Users, inst.Key)
		v := s.w.Volumes.Lookup(d.Key)
		if ad.AutoDelete {
			d.Deleted = true
			s.Disks.Delete(d.Key)
			if v != nil {
				v.State = "deleted"
				v.Attached = ""
			}
		} else if v != nil {
			v.State = "available"
			v.Attached = ""
		}
	}
	if inst.MIG != "" {
		if m := s.MIGs.Lookup(inst.MIG); m != nil {
			m.Members = removeString(m.Members, inst.Key)
		}
	}
	inst.Status = StatusTerminated
	inst.Deleted = at
	s.Instances.Delete(inst.Key)
	s.DeletedInstances.Put(inst.Key, inst)
	if wi := s.w.Instances.Lookup(inst.Key); wi != nil {
		wi.State = world.StateTerminated
		wi.TerminatedAt = at
		wi.StateReason = "deleted"
	}
	return nil
}

func removeString(in []string, s string) []string {
	out := in[:0:0]
	for _, x := range in {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// CreateSnapshot snapshots a disk. The snapshot is READY after a
// time that grows with the disk size (tens of seconds to minutes).
func (s *State) CreateSnapshot(diskKey, name, description, createdBy string, labels map[string]string) (*Snapshot, error) {
	d := s.Disks.Lookup(diskKey)
	if d == nil {
		return nil, notFound(diskKey)
	}
	key := SnapshotKey(d.Project, name)
	if _, ok := s.Snapshots.Get(key); ok {
		return nil, &Error{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", key)}
	}
	now := s.w.Now()
	took := s.w.JitterLocked(world.PurposeDuration, 40*time.Second+time.Duration(d.SizeGb)*3*time.Second, 0.3).Round(time.Second)
	snap := &Snapshot{Key: key, Name: name, Project: d.Project, ID: s.NumericID(), SourceDisk: d.Key,
		SourceDiskID: d.ID, DiskSizeGb: d.SizeGb, Description: description, Labels: copyTags(labels),
		LabelFingerprint: s.Fingerprint(), StorageLocations: []string{multiRegion(d.Zone)},
		Created: now, CompleteAt: now.Add(took), CreatedBy: createdBy}
	s.Snapshots.Put(key, snap)
	s.w.Snapshots.Put(key, &world.Snapshot{ID: key, Account: d.Project, Region: ZoneRegion(d.Zone), VolumeID: d.Key,
		VolumeSizeGiB: d.SizeGb, Description: description, StartTime: now, CompleteAt: snap.CompleteAt,
		Encrypted: true, Tags: copyTags(labels), CreatedBy: createdBy})
	return snap, nil
}

func multiRegion(zone string) string {
	switch {
	case strings.HasPrefix(zone, "europe"):
		return "eu"
	case strings.HasPrefix(zone, "asia"), strings.HasPrefix(zone, "australia"):
		return "asia"
	}
	return "us"
}

// DeleteAccessConfig removes an external IP from an interface. The
// one-to-one NAT goes away with it, so every established connection through
// the external address breaks: the only API-level way on GCP to cut flows a
// firewall change leaves up (the VPC firewall is stateful).
func (s *State) DeleteAccessConfig(inst *Instance, nicName, acName string) error {
	nic := inst.nic(nicName)
	if nic == nil {
		return &Error{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'networkInterface': '%s'.", nicName)}
	}
	idx := -1
	for i, ac := range nic.AccessConfigs {
		if ac.Name == acName {
			idx = i
		}
	}
	if idx < 0 {
		return &Error{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'accessConfig': '%s'. Access config not found.", acName)}
	}
	nic.AccessConfigs = append(nic.AccessConfigs[:idx], nic.AccessConfigs[idx+1:]...)
	nic.Fingerprint = s.Fingerprint()
	now := s.w.Now()
	if wi := s.w.Instances.Lookup(inst.Key); wi != nil {
		wi.PublicIP = inst.publicIP()
	}
	s.w.EndInstanceFlowsLocked(inst.Key, "external access config deleted", func(f *world.Flow) bool { return !isPrivateIP(f.RemoteIP) }, now)
	return nil
}

// AddAccessConfig gives an interface a (new, ephemeral) external IP.
func (s *State) AddAccessConfig(inst *Instance, nicName string, ac AccessConfig) (*AccessConfig, error) {
	nic := inst.nic(nicName)
	if nic == nil {
		return nil, &Error{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'networkInterface': '%s'.", nicName)}
	}
	if len(nic.AccessConfigs) > 0 {
		return nil, &Error{Status: 400, Reason: "invalid",
			Msg: fmt.Sprintf("At most one access config currently supported (network interface %s already has one).", nicName)}
	}
	if ac.Name == "" {
		ac.Name = "External NAT"
	}
	if ac.Type == "" {
		ac.Type = "ONE_TO_ONE_NAT"
	}
	if ac.NetworkTier == "" {
		ac.NetworkTier = "PREMIUM"
	}
	if ac.NatIP == "" {
		ac.NatIP = s.w.PublicIPLocked()
	}
	nic.AccessConfigs = append(nic.AccessConfigs, &ac)
	nic.Fingerprint = s.Fingerprint()
	if wi := s.w.Instances.Lookup(inst.Key); wi != nil {
		wi.PublicIP = inst.publicIP()
	}
	return &ac, nil
}

func (inst *Instance) nic(name string) *NIC {
	for _, n := range inst.NICs {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (inst *Instance) publicIP() string {
	for _, n := range inst.NICs {
		for _, ac := range n.AccessConfigs {
			if ac.NatIP != "" {
				return ac.NatIP
			}
		}
	}
	return ""
}

// PublicIP is the VM's first external address, "" when it has none.
func (inst *Instance) PublicIP() string { return inst.publicIP() }

func isPrivateIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast())
}

// FirewallDecision evaluates the VPC firewall for a packet of a new
// connection: the applicable rules of the VM's network in priority order
// (deny wins a tie), then the implied rules (allow egress, deny ingress). It
// returns whether the packet is allowed and the deciding rule's name.
func (s *State) FirewallDecision(inst *Instance, direction, proto string, port int, remoteIP string) (bool, string) {
	if len(inst.NICs) == 0 {
		return false, ""
	}
	network := inst.NICs[0].Network
	best := -1
	bestAllow, bestName := false, ""
	for _, fw := range s.Firewalls.All() {
		if fw.Network != network || fw.Disabled || fw.Direction != direction || !fw.appliesTo(inst) {
			continue
		}
		ranges := fw.SourceRanges
		if direction == "EGRESS" {
			ranges = fw.DestinationRanges
			if len(ranges) == 0 {
				ranges = []string{"0.0.0.0/0"}
			}
		}
		if direction == "INGRESS" && len(ranges) == 0 && len(fw.SourceTags) == 0 {
			continue
		}
		if !anyRangeContains(ranges, remoteIP) && !s.sourceTagMatch(fw, remoteIP) {
			continue
		}
		allow := len(fw.Allowed) > 0
		entries := fw.Allowed
		if !allow {
			entries = fw.Denied
		}
		if !firewallEntriesCover(entries, proto, port) {
			continue
		}
		if best < 0 || fw.Priority < best || (fw.Priority == best && !allow && bestAllow) {
			best, bestAllow, bestName = fw.Priority, allow, fw.Name
		}
	}
	if best >= 0 {
		return bestAllow, bestName
	}
	if direction == "EGRESS" {
		return true, "implied-allow-egress"
	}
	return false, "implied-deny-ingress"
}

func (fw *Firewall) appliesTo(inst *Instance) bool {
	if len(fw.TargetTags) == 0 && len(fw.TargetServiceAccounts) == 0 {
		return true
	}
	for _, t := range fw.TargetTags {
		for _, it := range inst.Tags {
			if t == it {
				return true
			}
		}
	}
	for _, sa := range fw.TargetServiceAccounts {
		if sa == inst.ServiceAccount {
			return true
		}
	}
	return false
}

func (s *State) sourceTagMatch(fw *Firewall, ip string) bool {
	if len(fw.SourceTags) == 0 {
		return false
	}
	for _, inst := range s.Instances.All() {
		if len(inst.NICs) == 0 || inst.NICs[0].NetworkIP != ip {
			continue
		}
		for _, t := range fw.SourceTags {
			for _, it := range inst.Tags {
				if t == it {
					return true
				}
			}
		}
	}
	return false
}

func anyRangeContains(ranges []string, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, r := range ranges {
		p, err := netip.ParsePrefix(normalizeCIDR(r))
		if err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

func firewallEntriesCover(entries []FirewallRule, proto string, port int) bool {
	for _, e := range entries {
		p := strings.ToLower(e.Protocol)
		if p != "all" && p != proto && !(p == "6" && proto == "tcp") && !(p == "17" && proto == "udp") && !(p == "1" && proto == "icmp") {
			continue
		}
		if len(e.Ports) == 0 || proto == "icmp" {
			return true
		}
		for _, r := range e.Ports {
			if lo, hi, ok := parsePortRange(r); ok && port >= lo && port <= hi {
				return true
			}
		}
	}
	return false
}

// OpenFlow opens a connection of a VM if the VPC firewall lets its
// first packet through. Internet flows need an external access config. The
// flow is tracked: later firewall changes do not cut it (GCP keeps the
// connection-tracking entry while packets flow, at least one per 10 min).
func (s *State) OpenFlow(instanceKey string, spec world.FlowSpec) (*world.Flow, error) {
	f, err := s.admitFlow(instanceKey, spec, true)
	if err != nil {
		return nil, err
	}
	s.w.StartFlowLocked(f)
	return f, nil
}

// AdmitFlow says whether OpenFlow would open the connection spec
// describes now, without opening it: nil, or the error OpenFlow would
// return. Nothing is drawn, so the spec gives both ports.
func (s *State) AdmitFlow(instanceKey string, spec world.FlowSpec) error {
	_, err := s.admitFlow(instanceKey, spec, false)
	return err
}

// admitFlow builds the (tracked) flow spec describes on the running VM,
// drawing the ephemeral ports the spec left open when draw is set, and
// checks that the VM can reach the internet if the flow goes there and
// that the VPC firewall lets its first packet through.
func (s *State) admitFlow(instanceKey string, spec world.FlowSpec, draw bool) (*world.Flow, error) {
	inst := s.Instances.Lookup(instanceKey)
	if inst == nil {
		return nil, notFound(instanceKey)
	}
	if inst.Status != StatusRunning {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceKey,
			Msg: fmt.Sprintf("instance %s is %s, not RUNNING", instanceKey, inst.Status)}
	}
	f, err := world.NewFlow(instanceKey, instanceKey+"/nic0", spec)
	if err != nil {
		return nil, err
	}
	if !isPrivateIP(f.RemoteIP) && inst.publicIP() == "" {
		return nil, &world.ComputeError{Kind: world.KindBlocked, Resource: "flow", ID: instanceKey,
			Msg: fmt.Sprintf("instance %s has no external IP (access config) to reach %s", instanceKey, f.RemoteIP)}
	}
	if draw {
		s.w.DrawEphemeralPortsLocked(f)
	}
	dir, port := "EGRESS", f.RemotePort
	if f.Direction == "ingress" {
		dir, port = "INGRESS", f.LocalPort
	}
	if ok, rule := s.FirewallDecision(inst, dir, f.Protocol, port, f.RemoteIP); !ok {
		return nil, &world.ComputeError{Kind: world.KindBlocked, Resource: "flow", ID: instanceKey,
			Msg: fmt.Sprintf("firewall rule %s of %s denies %s %s to %s:%d", rule, inst.NICs[0].Network, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	f.Tracked = true
	return f, nil
}

// AddMIG creates a managed instance group and its members (named
// base-xxxx) from spec; zone or region (regional MIGs) must be set.
func (s *State) AddMIG(project, zone, region, name string, size int, spec InstanceSpec) (*MIG, error) {
	regional := region != ""
	loc := zone
	if regional {
		loc = region
	}
	m := &MIG{Key: MIGKey(project, loc, name, regional), Name: name, Project: project, Zone: zone, Region: region,
		ID: s.NumericID(), BaseInstanceName: name, TargetSize: size, Created: s.w.Now(),
		Template: fmt.Sprintf("projects/%s/global/instanceTemplates/%s-template", project, name)}
	s.MIGs.Put(m.Key, m)
	for i := 0; i < size; i++ {
		member := spec
		member.Project = project
		member.Zone = zone
		if regional {
			member.Zone = region + "-" + string(rune('a'+i%3))
		}
		member.Name = fmt.Sprintf("%s-%s", name, s.migSuffix())
		member.MIG = m.Key
		inst, err := s.AddInstance(member)
		if err != nil {
			return nil, fmt.Errorf("MIG %s member %d: %w", name, i, err)
		}
		m.Members = append(m.Members, inst.Key)
	}
	return m, nil
}

func (s *State) migSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	for i := range b {
		b[i] = alphabet[s.w.IDRandLocked().IntN(len(alphabet))]
	}
	return string(b)
}

// Abandon removes instances from a MIG without deleting them: they
// keep running, no longer managed, so autoscaling and autohealing leave them
// alone, and the group's target size shrinks by one per instance.
func (s *State) Abandon(m *MIG, instanceKeys []string) error {
	for _, k := range instanceKeys {
		found := false
		for _, mk := range m.Members {
			if mk == k {
				found = true
			}
		}
		if !found {
			return &Error{Status: 400, Reason: "RESOURCE_NOT_FOUND",
				Msg: fmt.Sprintf("The instance '%s' is not a member of the instance group manager '%s'.", k, m.Key)}
		}
	}
	for _, k := range instanceKeys {
		m.Members = removeString(m.Members, k)
		if m.TargetSize > 0 {
			m.TargetSize--
		}
		if inst := s.Instances.Lookup(k); inst != nil {
			inst.MIG = ""
			delete(inst.Metadata, "created-by")
			inst.MetadataFingerprint = s.Fingerprint()
		}
	}
	return nil
}

// ScheduleResize makes the MIG (its autoscaler) shrink to size at
// the given time: managed members beyond the size are deleted, newest
// first, with their auto-delete disks. Abandoned VMs are no longer members
// and survive; deletion protection cannot be set on members (GCE refuses
// it), so abandoning is the only protection. audit records each deletion.
func (s *State) ScheduleResize(migKey string, at time.Time, size int, audit func(inst *Instance, at time.Time)) error {
	if s.MIGs.Lookup(migKey) == nil {
		return notFound(migKey)
	}
	s.w.ScheduleLocked(at, "mig resize "+migKey, func(now time.Time) {
		m := s.MIGs.Lookup(migKey)
		if m == nil {
			return
		}
		m.TargetSize = size
		for len(m.Members) > size {
			k := m.Members[len(m.Members)-1]
			inst := s.Instances.Lookup(k)
			if inst == nil {
				m.Members = m.Members[:len(m.Members)-1]
				continue
			}
			inst.DeletionProtection = false
			if err := s.Delete(inst, now); err != nil {
				m.Members = m.Members[:len(m.Members)-1]
				continue
			}
			if audit != nil {
				audit(inst, now)
			}
		}
	})
	return nil
}
