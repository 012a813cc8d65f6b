package world

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// GCPError is a GCP-side failure with the HTTP status and googleapi reason
// the Compute API answers with, so the wire front end can render it.
type GCPError struct {
	Status int    // HTTP status
	Reason string // googleapi reason, e.g. "notFound", "conditionNotMet"
	Msg    string
}

func (e *GCPError) Error() string { return e.Msg }

func gcpNotFound(key string) *GCPError {
	return &GCPError{Status: 404, Reason: "notFound", Msg: fmt.Sprintf("The resource '%s' was not found", key)}
}

// AddGCENetworkLocked creates a VPC network.
func (w *World) AddGCENetworkLocked(project, name string) *GCENetwork {
	n := &GCENetwork{Key: GCENetworkKey(project, name), Name: name, Project: project,
		ID: w.GCPNumericIDLocked(), Created: w.clock.Now()}
	w.GCPLocked().Networks[n.Key] = n
	return n
}

// AddGCESubnetLocked creates a subnetwork of a network.
func (w *World) AddGCESubnetLocked(project, region, name, network, cidr string) (*GCESubnet, error) {
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return nil, fmt.Errorf("subnet %s: bad CIDR %q: %w", name, cidr, err)
	}
	g := w.GCPLocked()
	if g.Networks[network] == nil {
		return nil, fmt.Errorf("subnet %s: network %s does not exist", name, network)
	}
	s := &GCESubnet{Key: GCESubnetKey(project, region, name), Name: name, Project: project, Region: region,
		Network: network, CIDR: cidr, ID: w.GCPNumericIDLocked(), next: 2}
	g.Subnets[s.Key] = s
	return s, nil
}

func (w *World) gcpNextIPLocked(s *GCESubnet) string {
	p := netip.MustParsePrefix(s.CIDR)
	a := p.Addr()
	for i := 0; i < s.next; i++ {
		a = a.Next()
	}
	s.next++
	return a.String()
}

// AddGCEFirewallLocked validates and creates a firewall rule.
func (w *World) AddGCEFirewallLocked(fw *GCEFirewall) (*GCEFirewall, error) {
	g := w.GCPLocked()
	fw.Key = GCEFirewallKey(fw.Project, fw.Name)
	if _, ok := g.Firewalls[fw.Key]; ok {
		return nil, &GCPError{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", fw.Key)}
	}
	if err := validateFirewall(fw, g); err != nil {
		return nil, err
	}
	fw.ID = w.GCPNumericIDLocked()
	fw.Created = w.clock.Now()
	g.Firewalls[fw.Key] = fw
	return fw, nil
}

func validateFirewall(fw *GCEFirewall, g *GCP) error {
	bad := func(format string, args ...any) error {
		return &GCPError{Status: 400, Reason: "invalid", Msg: fmt.Sprintf(format, args...)}
	}
	if fw.Name == "" {
		return bad("Invalid value for field 'resource.name': ''. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	if g.Networks[fw.Network] == nil {
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
	for _, r := range append(append([]GCEFirewallRule(nil), fw.Allowed...), fw.Denied...) {
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

// GCEInstanceSpec describes a VM to create.
type GCEInstanceSpec struct {
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
	Processes           []Process
}

// AddGCEInstanceLocked creates a running VM with a boot disk (auto-delete,
// as GCE defaults) and optional data disks, and its world Instance.
func (w *World) AddGCEInstanceLocked(spec GCEInstanceSpec) (*GCEInstance, error) {
	g := w.GCPLocked()
	proj := g.Projects[spec.Project]
	if proj == nil {
		return nil, fmt.Errorf("project %q does not exist", spec.Project)
	}
	key := GCEInstanceKey(spec.Project, spec.Zone, spec.Name)
	if _, ok := g.Instances[key]; ok {
		return nil, &GCPError{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", key)}
	}
	sub := g.Subnets[spec.Subnet]
	if sub == nil {
		return nil, fmt.Errorf("instance %s: subnet %q does not exist", spec.Name, spec.Subnet)
	}
	if spec.ServiceAccount != "" && g.ServiceAccounts[spec.ServiceAccount] == nil {
		return nil, fmt.Errorf("instance %s: service account %s does not exist", spec.Name, spec.ServiceAccount)
	}
	now := w.clock.Now()
	inst := &GCEInstance{Key: key, Name: spec.Name, Project: spec.Project, Zone: spec.Zone,
		ID: w.GCPNumericIDLocked(), MachineType: orDefault(spec.MachineType, "e2-standard-2"), Status: GCERunning,
		Tags: sortedStrings(dedupe(spec.Tags)), TagsFingerprint: w.GCPFingerprintLocked(),
		Labels: copyTags(spec.Labels), LabelFingerprint: w.GCPFingerprintLocked(),
		ServiceAccount: spec.ServiceAccount, Scopes: append([]string(nil), spec.Scopes...),
		Metadata: map[string]string{}, MetadataFingerprint: w.GCPFingerprintLocked(),
		MIG: spec.MIG, Created: now, LastStart: now}
	if spec.ServiceAccount != "" && len(inst.Scopes) == 0 {
		inst.Scopes = []string{"https://www.googleapis.com/auth/cloud-platform"}
	}
	if spec.MIG != "" {
		inst.Metadata["created-by"] = fmt.Sprintf("projects/%d/%s", proj.Number, strings.TrimPrefix(spec.MIG, "projects/"+spec.Project+"/"))
	}
	nic := &GCENIC{Name: "nic0", Network: sub.Network, Subnet: sub.Key, NetworkIP: w.gcpNextIPLocked(sub),
		Fingerprint: w.GCPFingerprintLocked()}
	if spec.ExternalIP {
		nic.AccessConfigs = []*GCEAccessConfig{{Name: "External NAT", Type: "ONE_TO_ONE_NAT",
			NatIP: w.publicIPLocked(), NetworkTier: "PREMIUM"}}
	}
	inst.NICs = []*GCENIC{nic}
	boot := w.addGCEDiskLocked(spec.Project, spec.Zone, spec.Name, orDefaultInt(spec.BootDiskGb, 10),
		"pd-balanced", orDefault(spec.Image, "projects/debian-cloud/global/images/debian-12-bookworm-v20261014"), key)
	inst.Disks = append(inst.Disks, &GCEAttachedDisk{DeviceName: "persistent-disk-0", Disk: boot.Key, Boot: true, AutoDelete: true, Mode: "READ_WRITE"})
	for i, size := range spec.DataDisksGb {
		d := w.addGCEDiskLocked(spec.Project, spec.Zone, fmt.Sprintf("%s-data-%d", spec.Name, i+1), size, "pd-ssd", "", key)
		inst.Disks = append(inst.Disks, &GCEAttachedDisk{DeviceName: fmt.Sprintf("persistent-disk-%d", i+1), Disk: d.Key,
			AutoDelete: spec.DataDiskAutoDelete, Index: i + 1, Mode: "READ_WRITE"})
	}
	g.Instances[key] = inst

	wi := &Instance{ID: key, Account: spec.Project, Region: ZoneRegion(spec.Zone), AZ: spec.Zone,
		Type: inst.MachineType, ImageID: spec.Image, State: StateRunning, LaunchTime: now,
		VPC: sub.Network, Subnet: sub.Key, PrivateIP: nic.NetworkIP, Tags: copyTags(spec.Labels),
		ShutdownBehavior: "stop", Platform: "Linux", MemoryGiB: 8, Processes: append([]Process(nil), spec.Processes...)}
	if spec.ExternalIP {
		wi.PublicIP = nic.AccessConfigs[0].NatIP
	}
	for _, d := range inst.Disks {
		wi.BlockDevices = append(wi.BlockDevices, BlockDevice{Device: d.DeviceName, VolumeID: d.Disk, DeleteOnTermination: d.AutoDelete})
	}
	w.Instances[key] = wi
	return inst, nil
}

func copyTags(in map[string]string) Tags {
	out := Tags{}
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (w *World) addGCEDiskLocked(project, zone, name string, size int, typ, image, user string) *GCEDisk {
	now := w.clock.Now()
	d := &GCEDisk{Key: GCEDiskKey(project, zone, name), Name: name, Project: project, Zone: zone,
		ID: w.GCPNumericIDLocked(), SizeGb: size, Type: typ, SourceImage: image, Labels: map[string]string{},
		LabelFingerprint: w.GCPFingerprintLocked(), Created: now}
	if user != "" {
		d.Users = []string{user}
	}
	w.GCPLocked().Disks[d.Key] = d
	v := &Volume{ID: d.Key, Account: project, Region: ZoneRegion(zone), AZ: zone, SizeGiB: size, Type: typ,
		State: "in-use", Encrypted: true, CreateTime: now, Attached: user, Tags: Tags{}}
	if user == "" {
		v.State = "available"
	}
	w.Volumes[d.Key] = v
	return d
}

// GCEInstanceLocked finds a VM by project, zone and name or numeric id.
func (w *World) GCEInstanceLocked(project, zone, nameOrID string) (*GCEInstance, error) {
	g := w.GCPLocked()
	if inst := g.Instances[GCEInstanceKey(project, zone, nameOrID)]; inst != nil {
		return inst, nil
	}
	if id, err := strconv.ParseUint(nameOrID, 10, 64); err == nil {
		for _, k := range SortedKeys(g.Instances) {
			if i := g.Instances[k]; i.ID == id && i.Project == project && i.Zone == zone {
				return i, nil
			}
		}
	}
	return nil, gcpNotFound(GCEInstanceKey(project, zone, nameOrID))
}

// GCEStopLocked stops a VM: RUNNING -> STOPPING -> TERMINATED after a short
// guest shutdown. Flows end; disks and the instance stay. It returns when
// the VM will be TERMINATED (now if it already is).
func (w *World) GCEStopLocked(inst *GCEInstance) time.Time {
	if inst.Status == GCETerminated || inst.Status == GCEStopping {
		return inst.stopAt
	}
	now := w.clock.Now()
	inst.Status = GCEStopping
	if wi := w.Instances[inst.Key]; wi != nil {
		wi.State = StateStopping
		w.endInstanceFlowsLocked(inst.Key, "instance stopped", nil, now)
	}
	key := inst.Key
	inst.stopAt = now.Add(w.JitterLocked(PurposeDuration, 20*time.Second, 0.3).Round(time.Millisecond))
	w.ScheduleLocked(inst.stopAt, "gce stop "+key, func(at time.Time) {
		i := w.GCPLocked().Instances[key]
		if i == nil || i.Status != GCEStopping {
			return
		}
		i.Status = GCETerminated
		i.LastStop = at
		if wi := w.Instances[key]; wi != nil {
			wi.State = StateStopped
		}
	})
	return inst.stopAt
}

// GCEStartLocked starts a stopped VM (TERMINATED -> STAGING -> RUNNING) and
// returns when it will be RUNNING.
func (w *World) GCEStartLocked(inst *GCEInstance) (time.Time, error) {
	switch inst.Status {
	case GCERunning, GCEStaging, GCEProvisioning:
		return inst.startAt, nil
	case GCEStopping:
		return time.Time{}, &GCPError{Status: 400, Reason: "resourceNotReady",
			Msg: fmt.Sprintf("The resource '%s' is not ready", inst.Key)}
	}
	now := w.clock.Now()
	inst.Status = GCEStaging
	if wi := w.Instances[inst.Key]; wi != nil {
		wi.State = StatePending
	}
	key := inst.Key
	inst.startAt = now.Add(w.JitterLocked(PurposeDuration, 15*time.Second, 0.3).Round(time.Millisecond))
	w.ScheduleLocked(inst.startAt, "gce start "+key, func(at time.Time) {
		i := w.GCPLocked().Instances[key]
		if i == nil || i.Status != GCEStaging {
			return
		}
		i.Status = GCERunning
		i.LastStart = at
		if wi := w.Instances[key]; wi != nil {
			wi.State = StateRunning
		}
	})
	return inst.startAt, nil
}

// GCEDeleteLocked deletes a VM at time at, with its auto-delete disks;
// disks with auto-delete off survive, detached. Deletion protection
// refuses it.
func (w *World) GCEDeleteLocked(inst *GCEInstance, at time.Time) error {
	if inst.DeletionProtection {
		return &GCPError{Status: 400, Reason: "resourceInUseByAnotherResource",
			Msg: "Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'."}
	}
	g := w.GCPLocked()
	w.endInstanceFlowsLocked(inst.Key, "instance deleted", nil, at)
	for _, ad := range inst.Disks {
		d := g.Disks[ad.Disk]
		if d == nil {
			continue
		}
		d.Users = removeString(d.Users, inst.Key)
		v := w.Volumes[d.Key]
		if ad.AutoDelete {
			d.Deleted = true
			delete(g.Disks, d.Key)
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
		if m := g.MIGs[inst.MIG]; m != nil {
			m.Members = removeString(m.Members, inst.Key)
		}
	}
	inst.Status = GCETerminated
	inst.Deleted = at
	delete(g.Instances, inst.Key)
	g.DeletedInstances[inst.Key] = inst
	if wi := w.Instances[inst.Key]; wi != nil {
		wi.State = StateTerminated
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

// GCECreateSnapshotLocked snapshots a disk. The snapshot is READY after a
// time that grows with the disk size (tens of seconds to minutes).
func (w *World) GCECreateSnapshotLocked(diskKey, name, description, createdBy string, labels map[string]string) (*GCESnapshot, error) {
	g := w.GCPLocked()
	d := g.Disks[diskKey]
	if d == nil {
		return nil, gcpNotFound(diskKey)
	}
	key := GCESnapshotKey(d.Project, name)
	if _, ok := g.Snapshots[key]; ok {
		return nil, &GCPError{Status: 409, Reason: "alreadyExists", Msg: fmt.Sprintf("The resource '%s' already exists", key)}
	}
	now := w.clock.Now()
	took := w.JitterLocked(PurposeDuration, 40*time.Second+time.Duration(d.SizeGb)*3*time.Second, 0.3).Round(time.Second)
	s := &GCESnapshot{Key: key, Name: name, Project: d.Project, ID: w.GCPNumericIDLocked(), SourceDisk: d.Key,
		SourceDiskID: d.ID, DiskSizeGb: d.SizeGb, Description: description, Labels: copyTags(labels),
		LabelFingerprint: w.GCPFingerprintLocked(), StorageLocations: []string{multiRegion(d.Zone)},
		Created: now, CompleteAt: now.Add(took), CreatedBy: createdBy}
	g.Snapshots[key] = s
	w.Snapshots[key] = &Snapshot{ID: key, Account: d.Project, Region: ZoneRegion(d.Zone), VolumeID: d.Key,
		VolumeSizeGiB: d.SizeGb, Description: description, StartTime: now, CompleteAt: s.CompleteAt,
		Encrypted: true, Tags: copyTags(labels), CreatedBy: createdBy}
	return s, nil
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

// GCEDeleteAccessConfigLocked removes an external IP from an interface. The
// one-to-one NAT goes away with it, so every established connection through
// the external address breaks: the only API-level way on GCP to cut flows a
// firewall change leaves up (the VPC firewall is stateful).
func (w *World) GCEDeleteAccessConfigLocked(inst *GCEInstance, nicName, acName string) error {
	nic := inst.nic(nicName)
	if nic == nil {
		return &GCPError{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'networkInterface': '%s'.", nicName)}
	}
	idx := -1
	for i, ac := range nic.AccessConfigs {
		if ac.Name == acName {
			idx = i
		}
	}
	if idx < 0 {
		return &GCPError{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'accessConfig': '%s'. Access config not found.", acName)}
	}
	nic.AccessConfigs = append(nic.AccessConfigs[:idx], nic.AccessConfigs[idx+1:]...)
	nic.Fingerprint = w.GCPFingerprintLocked()
	now := w.clock.Now()
	if wi := w.Instances[inst.Key]; wi != nil {
		wi.PublicIP = inst.publicIP()
	}
	w.endInstanceFlowsLocked(inst.Key, "external access config deleted", func(f *Flow) bool { return !isPrivateIP(f.RemoteIP) }, now)
	return nil
}

// GCEAddAccessConfigLocked gives an interface a (new, ephemeral) external IP.
func (w *World) GCEAddAccessConfigLocked(inst *GCEInstance, nicName string, ac GCEAccessConfig) (*GCEAccessConfig, error) {
	nic := inst.nic(nicName)
	if nic == nil {
		return nil, &GCPError{Status: 400, Reason: "invalid", Msg: fmt.Sprintf("Invalid value for field 'networkInterface': '%s'.", nicName)}
	}
	if len(nic.AccessConfigs) > 0 {
		return nil, &GCPError{Status: 400, Reason: "invalid",
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
		ac.NatIP = w.publicIPLocked()
	}
	nic.AccessConfigs = append(nic.AccessConfigs, &ac)
	nic.Fingerprint = w.GCPFingerprintLocked()
	if wi := w.Instances[inst.Key]; wi != nil {
		wi.PublicIP = inst.publicIP()
	}
	return &ac, nil
}

func (inst *GCEInstance) nic(name string) *GCENIC {
	for _, n := range inst.NICs {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (inst *GCEInstance) publicIP() string {
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
func (inst *GCEInstance) PublicIP() string { return inst.publicIP() }

func isPrivateIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast())
}

// GCEFirewallDecisionLocked evaluates the VPC firewall for a packet of a new
// connection: the applicable rules of the VM's network in priority order
// (deny wins a tie), then the implied rules (allow egress, deny ingress). It
// returns whether the packet is allowed and the deciding rule's name.
func (w *World) GCEFirewallDecisionLocked(inst *GCEInstance, direction, proto string, port int, remoteIP string) (bool, string) {
	if len(inst.NICs) == 0 {
		return false, ""
	}
	g := w.GCPLocked()
	network := inst.NICs[0].Network
	best := -1
	bestAllow, bestName := false, ""
	for _, k := range SortedKeys(g.Firewalls) {
		fw := g.Firewalls[k]
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
		if !anyRangeContains(ranges, remoteIP) && !w.sourceTagMatchLocked(fw, remoteIP) {
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

func (fw *GCEFirewall) appliesTo(inst *GCEInstance) bool {
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

func (w *World) sourceTagMatchLocked(fw *GCEFirewall, ip string) bool {
	if len(fw.SourceTags) == 0 {
		return false
	}
	g := w.GCPLocked()
	for _, k := range SortedKeys(g.Instances) {
		inst := g.Instances[k]
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

func firewallEntriesCover(entries []GCEFirewallRule, proto string, port int) bool {
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

// GCEOpenFlowLocked opens a connection of a VM if the VPC firewall lets its
// first packet through. Internet flows need an external access config. The
// flow is tracked: later firewall changes do not cut it (GCP keeps the
// connection-tracking entry while packets flow, at least one per 10 min).
func (w *World) GCEOpenFlowLocked(instanceKey string, spec FlowSpec) (*Flow, error) {
	inst := w.GCPLocked().Instances[instanceKey]
	if inst == nil {
		return nil, gcpNotFound(instanceKey)
	}
	if inst.Status != GCERunning {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceKey,
			Msg: fmt.Sprintf("instance %s is %s, not RUNNING", instanceKey, inst.Status)}
	}
	f := &Flow{Instance: instanceKey, ENI: instanceKey + "/nic0", Direction: spec.Direction, Protocol: spec.Protocol,
		LocalPort: spec.LocalPort, RemoteIP: spec.RemoteIP, RemotePort: spec.RemotePort, Domain: spec.Domain, Actor: spec.Actor}
	if f.Direction == "" {
		f.Direction = "egress"
	}
	if f.Protocol == "" {
		f.Protocol = "tcp"
	}
	if f.Direction != "egress" && f.Direction != "ingress" {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("direction %q: expected egress or ingress", f.Direction)}
	}
	if f.Protocol != "tcp" && f.Protocol != "udp" && f.Protocol != "icmp" {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("protocol %q: expected tcp, udp or icmp", f.Protocol)}
	}
	if _, err := netip.ParseAddr(f.RemoteIP); err != nil {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("remote IP %q is not an IP address", f.RemoteIP)}
	}
	if !isPrivateIP(f.RemoteIP) && inst.publicIP() == "" {
		return nil, &ComputeError{Kind: KindBlocked, Resource: "flow", ID: instanceKey,
			Msg: fmt.Sprintf("instance %s has no external IP (access config) to reach %s", instanceKey, f.RemoteIP)}
	}
	if f.Protocol != "icmp" {
		if f.Direction == "egress" && f.LocalPort == 0 {
			f.LocalPort = 32768 + w.ids.IntN(28232)
		}
		if f.Direction == "ingress" && f.RemotePort == 0 {
			f.RemotePort = 32768 + w.ids.IntN(28232)
		}
	}
	dir, port := "EGRESS", f.RemotePort
	if f.Direction == "ingress" {
		dir, port = "INGRESS", f.LocalPort
	}
	if ok, rule := w.GCEFirewallDecisionLocked(inst, dir, f.Protocol, port, f.RemoteIP); !ok {
		return nil, &ComputeError{Kind: KindBlocked, Resource: "flow", ID: instanceKey,
			Msg: fmt.Sprintf("firewall rule %s of %s denies %s %s to %s:%d", rule, inst.NICs[0].Network, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	now := w.clock.Now()
	f.ID = w.NewIDLocked("flow")
	f.Started = now
	f.Tracked = true
	w.Flows = append(w.Flows, f)
	w.emitLocked(Event{Time: now, Kind: "flow.start", Flow: f, Instance: w.Instances[instanceKey]})
	return f, nil
}

// AddGCEMIGLocked creates a managed instance group and its members (named
// base-xxxx) from spec; zone or region (regional MIGs) must be set.
func (w *World) AddGCEMIGLocked(project, zone, region, name string, size int, spec GCEInstanceSpec) (*GCEMIG, error) {
	regional := region != ""
	loc := zone
	if regional {
		loc = region
	}
	g := w.GCPLocked()
	m := &GCEMIG{Key: GCEMIGKey(project, loc, name, regional), Name: name, Project: project, Zone: zone, Region: region,
		ID: w.GCPNumericIDLocked(), BaseInstanceName: name, TargetSize: size, Created: w.clock.Now(),
		Template: fmt.Sprintf("projects/%s/global/instanceTemplates/%s-template", project, name)}
	g.MIGs[m.Key] = m
	for i := 0; i < size; i++ {
		s := spec
		s.Project = project
		s.Zone = zone
		if regional {
			s.Zone = region + "-" + string(rune('a'+i%3))
		}
		s.Name = fmt.Sprintf("%s-%s", name, w.migSuffixLocked())
		s.MIG = m.Key
		inst, err := w.AddGCEInstanceLocked(s)
		if err != nil {
			return nil, fmt.Errorf("MIG %s member %d: %w", name, i, err)
		}
		m.Members = append(m.Members, inst.Key)
	}
	return m, nil
}

func (w *World) migSuffixLocked() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	for i := range b {
		b[i] = alphabet[w.ids.IntN(len(alphabet))]
	}
	return string(b)
}

// GCEAbandonLocked removes instances from a MIG without deleting them: they
// keep running, no longer managed, so autoscaling and autohealing leave them
// alone, and the group's target size shrinks by one per instance.
func (w *World) GCEAbandonLocked(m *GCEMIG, instanceKeys []string) error {
	g := w.GCPLocked()
	for _, k := range instanceKeys {
		found := false
		for _, mk := range m.Members {
			if mk == k {
				found = true
			}
		}
		if !found {
			return &GCPError{Status: 400, Reason: "RESOURCE_NOT_FOUND",
				Msg: fmt.Sprintf("The instance '%s' is not a member of the instance group manager '%s'.", k, m.Key)}
		}
	}
	for _, k := range instanceKeys {
		m.Members = removeString(m.Members, k)
		if m.TargetSize > 0 {
			m.TargetSize--
		}
		if inst := g.Instances[k]; inst != nil {
			inst.MIG = ""
			delete(inst.Metadata, "created-by")
			inst.MetadataFingerprint = w.GCPFingerprintLocked()
		}
	}
	return nil
}

// GCEScheduleResizeLocked makes the MIG (its autoscaler) shrink to size at
// the given time: managed members beyond the size are deleted, newest
// first, with their auto-delete disks. Abandoned VMs are no longer members
// and survive; deletion protection cannot be set on members (GCE refuses
// it), so abandoning is the only protection. audit records each deletion.
func (w *World) GCEScheduleResizeLocked(migKey string, at time.Time, size int, audit func(inst *GCEInstance, at time.Time)) error {
	if w.GCPLocked().MIGs[migKey] == nil {
		return gcpNotFound(migKey)
	}
	w.ScheduleLocked(at, "mig resize "+migKey, func(now time.Time) {
		g := w.GCPLocked()
		m := g.MIGs[migKey]
		if m == nil {
			return
		}
		m.TargetSize = size
		for len(m.Members) > size {
			k := m.Members[len(m.Members)-1]
			inst := g.Instances[k]
			if inst == nil {
				m.Members = m.Members[:len(m.Members)-1]
				continue
			}
			inst.DeletionProtection = false
			if err := w.GCEDeleteLocked(inst, now); err != nil {
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
