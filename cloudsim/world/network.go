package world

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// AnyIPv4 is the CIDR that makes a rule "open to the world"; together with a
// matching rule in the other direction it makes TCP/UDP flows untracked.
const AnyIPv4 = "0.0.0.0/0"

// AddVPCLocked creates a virtual network and its default security group
// (self-referencing ingress, allow-all egress), as AWS does for every VPC.
func (w *World) AddVPCLocked(account, region, cidr string) *VPC {
	v := &VPC{ID: w.NewIDLocked("vpc"), Account: account, Region: region, CIDR: cidr, Tags: Tags{}}
	w.VPCs[v.ID] = v
	sg, _ := w.AddSecurityGroupLocked(account, region, v.ID, "default", "default VPC security group")
	sg.Ingress = append(sg.Ingress, Rule{Protocol: "-1", FromPort: -1, ToPort: -1,
		Groups: []string{sg.ID}, RuleID: w.NewIDLocked("sgr")})
	return v
}

// AddSubnetLocked creates a subnet of a VPC in one availability zone.
func (w *World) AddSubnetLocked(vpcID, az, cidr string) (*Subnet, error) {
	if _, ok := w.VPCs[vpcID]; !ok {
		return nil, NotFound("vpc", vpcID)
	}
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "subnet", ID: cidr,
			Msg: fmt.Sprintf("the CIDR %q is invalid: %v", cidr, err)}
	}
	s := &Subnet{ID: w.NewIDLocked("subnet"), VPC: vpcID, AZ: az, CIDR: cidr}
	w.Subnets[s.ID] = s
	for _, a := range w.NetworkACLs {
		if a.VPC == vpcID {
			w.defaultACLLocked(vpcID) // the VPC's ACLs are in use: join its default ACL
			break
		}
	}
	return s, nil
}

// defaultSubnetLocked picks the subnet an instance lands in when the caller
// names none: the first subnet (by ID) of the first VPC of the account and
// region, creating a 172.31.0.0/16 default VPC when there is none.
func (w *World) defaultSubnetLocked(account, region string) *Subnet {
	for _, vid := range w.vpcsOfLocked(account, region) {
		for _, sid := range SortedKeys(w.Subnets) {
			if w.Subnets[sid].VPC == vid {
				return w.Subnets[sid]
			}
		}
	}
	v := w.DefaultVPCLocked(account, region)
	s, _ := w.AddSubnetLocked(v.ID, region+"a", "172.31.0.0/20")
	return s
}

// DefaultVPCLocked returns the first VPC (by ID) of the account and region,
// creating a 172.31.0.0/16 default VPC when there is none.
func (w *World) DefaultVPCLocked(account, region string) *VPC {
	if ids := w.vpcsOfLocked(account, region); len(ids) > 0 {
		return w.VPCs[ids[0]]
	}
	return w.AddVPCLocked(account, region, "172.31.0.0/16")
}

func (w *World) vpcsOfLocked(account, region string) []string {
	var out []string
	for _, id := range SortedKeys(w.VPCs) {
		if v := w.VPCs[id]; v.Account == account && v.Region == region {
			out = append(out, id)
		}
	}
	return out
}

// AddSecurityGroupLocked creates a security group with AWS's default
// allow-all egress rule and no ingress. Names are unique per VPC.
func (w *World) AddSecurityGroupLocked(account, region, vpcID, name, description string) (*SecurityGroup, error) {
	if _, ok := w.VPCs[vpcID]; !ok {
		return nil, NotFound("vpc", vpcID)
	}
	if g := w.GroupByNameLocked(vpcID, name); g != nil {
		return nil, &ComputeError{Kind: KindDuplicate, Resource: "security-group", ID: name,
			Msg: fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, vpcID)}
	}
	sg := &SecurityGroup{ID: w.NewIDLocked("sg"), Account: account, Region: region, VPC: vpcID,
		Name: name, Description: description, Tags: Tags{}, CreatedAt: w.clock.Now()}
	sg.Egress = []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []string{AnyIPv4}, RuleID: w.NewIDLocked("sgr")}}
	w.SecurityGroups[sg.ID] = sg
	return sg, nil
}

// GroupByNameLocked finds a security group by name within a VPC.
func (w *World) GroupByNameLocked(vpcID, name string) *SecurityGroup {
	for _, id := range SortedKeys(w.SecurityGroups) {
		if g := w.SecurityGroups[id]; g.VPC == vpcID && g.Name == name {
			return g
		}
	}
	return nil
}

// NormalizeProtocol maps the spellings EC2 accepts ("tcp", "6", "-1", "all")
// to the canonical "tcp", "udp", "icmp" or "-1".
func NormalizeProtocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "-1", "all":
		return "-1", nil
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return p, nil
	}
	return "", &ComputeError{Kind: KindInvalid, Resource: "rule", ID: p, Msg: fmt.Sprintf("Invalid value '%s' for IP protocol. Unknown protocol.", p)}
}

// ProtocolNumber is the IANA number of a protocol name ("tcp" is "6"), the
// form EC2 answers in network ACL entries; other values are returned as
// they are.
func ProtocolNumber(p string) string {
	switch strings.ToLower(p) {
	case "tcp":
		return "6"
	case "udp":
		return "17"
	case "icmp":
		return "1"
	}
	return p
}

// splitRules turns each permission into one rule per peer (CIDR or group),
// the unit EC2 gives a security-group-rule ID to.
func splitRules(rules []Rule) ([]Rule, error) {
	var out []Rule
	for _, r := range rules {
		p, err := NormalizeProtocol(r.Protocol)
		if err != nil {
			return nil, err
		}
		r.Protocol = p
		if p == "-1" {
			r.FromPort, r.ToPort = -1, -1
		}
		if len(r.CIDRs) == 0 && len(r.Groups) == 0 {
			return nil, &ComputeError{Kind: KindInvalid, Resource: "rule",
				Msg: "a permission needs at least one CIDR range or security group"}
		}
		for _, c := range r.CIDRs {
			if _, err := netip.ParsePrefix(c); err != nil {
				return nil, &ComputeError{Kind: KindInvalid, Resource: "rule", ID: c,
					Msg: fmt.Sprintf("CIDR block %s is malformed", c)}
			}
			out = append(out, Rule{Protocol: p, FromPort: r.FromPort, ToPort: r.ToPort, CIDRs: []string{c}})
		}
		for _, g := range r.Groups {
			out = append(out, Rule{Protocol: p, FromPort: r.FromPort, ToPort: r.ToPort, Groups: []string{g}})
		}
	}
	return out, nil
}

func sameRule(a, b Rule) bool {
	return a.Protocol == b.Protocol && a.FromPort == b.FromPort && a.ToPort == b.ToPort &&
		slices.Equal(a.CIDRs, b.CIDRs) && slices.Equal(a.Groups, b.Groups)
}

// AuthorizeRulesLocked adds permissions to a group, one rule per peer. If any
// of them already exists nothing is added (EC2 rejects the whole call).
// Flows of every ENI in the group are re-evaluated.
func (w *World) AuthorizeRulesLocked(groupID string, egress bool, rules []Rule) ([]Rule, error) {
	sg, ok := w.SecurityGroups[groupID]
	if !ok {
		return nil, NotFound("security-group", groupID)
	}
	split, err := splitRules(rules)
	if err != nil {
		return nil, err
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	for i, r := range split {
		for _, g := range r.Groups {
			if _, ok := w.SecurityGroups[g]; !ok {
				return nil, NotFound("security-group", g)
			}
		}
		for _, old := range *list {
			if sameRule(old, r) {
				return nil, &ComputeError{Kind: KindDuplicate, Resource: "rule", ID: groupID,
					Msg: fmt.Sprintf("the specified rule %q already exists", describeRule(r))}
			}
		}
		for _, prev := range split[:i] {
			if sameRule(prev, r) {
				return nil, &ComputeError{Kind: KindDuplicate, Resource: "rule", ID: groupID,
					Msg: fmt.Sprintf("the specified rule %q is given twice", describeRule(r))}
			}
		}
	}
	for i := range split {
		split[i].RuleID = w.NewIDLocked("sgr")
	}
	*list = append(*list, split...)
	w.groupChangedLocked(groupID, fmt.Sprintf("rule authorized on %s", groupID))
	return split, nil
}

// RevokeRulesLocked removes the permissions that exist and reports the ones
// that did not. If none matched, it fails (EC2's InvalidPermission.NotFound).
// Untracked flows the removed rules carried are cut at once.
func (w *World) RevokeRulesLocked(groupID string, egress bool, rules []Rule) (removed, unknown []Rule, err error) {
	sg, ok := w.SecurityGroups[groupID]
	if !ok {
		return nil, nil, NotFound("security-group", groupID)
	}
	split, err := splitRules(rules)
	if err != nil {
		return nil, nil, err
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	for _, r := range split {
		idx := slices.IndexFunc(*list, func(old Rule) bool { return sameRule(old, r) })
		if idx < 0 {
			unknown = append(unknown, r)
			continue
		}
		removed = append(removed, (*list)[idx])
		*list = slices.Delete(*list, idx, idx+1)
	}
	if len(removed) == 0 {
		return nil, unknown, &ComputeError{Kind: KindNotFound, Resource: "rule", ID: groupID,
			Msg: "The specified rule does not exist in this security group."}
	}
	w.groupChangedLocked(groupID, fmt.Sprintf("rule revoked on %s", groupID))
	return removed, unknown, nil
}

// RevokeRuleIDsLocked removes rules by security-group-rule ID.
func (w *World) RevokeRuleIDsLocked(groupID string, egress bool, ids []string) ([]Rule, error) {
	sg, ok := w.SecurityGroups[groupID]
	if !ok {
		return nil, NotFound("security-group", groupID)
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	var removed []Rule
	for _, id := range ids {
		idx := slices.IndexFunc(*list, func(r Rule) bool { return r.RuleID == id })
		if idx < 0 {
			return nil, &ComputeError{Kind: KindNotFound, Resource: "security-group-rule", ID: id,
				Msg: fmt.Sprintf("The security group rule ID '%s' does not exist", id)}
		}
	}
	for _, id := range ids {
		idx := slices.IndexFunc(*list, func(r Rule) bool { return r.RuleID == id })
		removed = append(removed, (*list)[idx])
		*list = slices.Delete(*list, idx, idx+1)
	}
	w.groupChangedLocked(groupID, fmt.Sprintf("rule revoked on %s", groupID))
	return removed, nil
}

func describeRule(r Rule) string {
	peer := strings.Join(append(append([]string(nil), r.CIDRs...), r.Groups...), ",")
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
}

// SetENIGroupsLocked replaces the security groups of a network interface and
// re-evaluates its active flows (see reevaluateFlowsLocked).
func (w *World) SetENIGroupsLocked(eniID string, groups []string) error {
	eni, ok := w.ENIs[eniID]
	if !ok {
		return NotFound("network-interface", eniID)
	}
	if len(groups) == 0 {
		return &ComputeError{Kind: KindInvalid, Resource: "network-interface", ID: eniID,
			Msg: "at least one security group is required"}
	}
	for _, g := range groups {
		sg, ok := w.SecurityGroups[g]
		if !ok {
			return NotFound("security-group", g)
		}
		if sg.VPC != eni.VPC {
			return &ComputeError{Kind: KindInvalid, Resource: "security-group", ID: g,
				Msg: fmt.Sprintf("You have specified two resources that belong to different networks: %s is in %s, %s is in %s", g, sg.VPC, eniID, eni.VPC)}
		}
	}
	eni.Groups = dedupe(groups)
	w.reevaluateFlowsLocked(eni, fmt.Sprintf("security groups of %s changed to %s", eniID, strings.Join(eni.Groups, ",")))
	return nil
}

// AttachNetworkInterfaceLocked creates a secondary interface in the
// instance's subnet and attaches it at the next device index. Instances
// with several interfaces must be isolated per interface.
func (w *World) AttachNetworkInterfaceLocked(instanceID string, groups []string) (*ENI, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return nil, NotFound("instance", instanceID)
	}
	subnet := w.Subnets[inst.Subnet]
	if subnet == nil {
		return nil, NotFound("subnet", inst.Subnet)
	}
	for _, g := range groups {
		if sg, ok := w.SecurityGroups[g]; !ok || sg.VPC != inst.VPC {
			return nil, NotFound("security-group", g)
		}
	}
	eni := &ENI{ID: w.NewIDLocked("eni"), Account: inst.Account, Region: inst.Region, AZ: inst.AZ,
		VPC: inst.VPC, Subnet: inst.Subnet, Instance: inst.ID, DeviceIndex: len(inst.ENIs),
		PrivateIP: w.PrivateIPLocked(subnet), MAC: w.MACLocked(), Groups: dedupe(groups),
		AttachmentID: w.NewIDLocked("eni-attach"), Status: "in-use", Tags: Tags{}}
	w.ENIs[eni.ID] = eni
	inst.ENIs = append(inst.ENIs, eni.ID)
	return eni, nil
}

// SetInstanceGroupsLocked changes the groups of an instance with a single
// network interface. Like EC2, it refuses instances with several interfaces:
// callers must then change each interface.
func (w *World) SetInstanceGroupsLocked(instanceID string, groups []string) error {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return NotFound("instance", instanceID)
	}
	if len(inst.ENIs) > 1 {
		return &ComputeError{Kind: KindMultipleInterfaces, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", instanceID)}
	}
	if len(inst.ENIs) == 0 {
		return &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' has no network interface.", instanceID)}
	}
	return w.SetENIGroupsLocked(inst.ENIs[0], groups)
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// groupChangedLocked re-evaluates the flows of every ENI using the group.
func (w *World) groupChangedLocked(groupID, reason string) {
	for _, id := range SortedKeys(w.ENIs) {
		if eni := w.ENIs[id]; slices.Contains(eni.Groups, groupID) {
			w.reevaluateFlowsLocked(eni, reason)
		}
	}
}

// OpenFlowLocked opens a connection on the instance's primary interface if
// its security groups and its subnet's network ACL permit it. The flow is
// untracked when the interface's groups together allow all traffic of its
// protocol from and to 0.0.0.0/0 (EC2 connection tracking), unless
// Knobs.ConnTrack is ConnTrackNever; otherwise, and always for ICMP, it is
// tracked.
func (w *World) OpenFlowLocked(instanceID string, spec FlowSpec) (*Flow, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return nil, NotFound("instance", instanceID)
	}
	if inst.State != StateRunning {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("instance %s is %s, not running", instanceID, inst.State)}
	}
	if len(inst.ENIs) == 0 {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID, Msg: "instance has no network interface"}
	}
	eni := w.ENIs[inst.ENIs[0]]
	f, err := NewFlow(instanceID, eni.ID, spec)
	if err != nil {
		return nil, err
	}
	w.DrawEphemeralPortsLocked(f)
	if !w.permitsLocked(eni.Groups, f, false) {
		return nil, &ComputeError{Kind: KindBlocked, Resource: "flow", ID: instanceID,
			Msg: fmt.Sprintf("the security groups %s of %s do not permit %s %s to %s:%d", strings.Join(eni.Groups, ","), eni.ID, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	if !w.naclPermitsLocked(eni.Subnet, f) {
		return nil, &ComputeError{Kind: KindBlocked, Resource: "flow", ID: instanceID,
			Msg: fmt.Sprintf("the network ACL %s of subnet %s does not permit %s %s to %s:%d", w.Subnets[eni.Subnet].ACL, eni.Subnet, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	f.Tracked = w.knobs.ConnTrack == ConnTrackNever || !w.allOpenLocked(eni.Groups, f.Protocol)
	w.StartFlowLocked(f)
	return f, nil
}

// reevaluateFlowsLocked applies EC2 connection-tracking semantics after the
// groups of an interface, or a rule in one of them, changed:
//   - a tracked flow survives whatever the new rules say (security groups are
//     stateful "Tracked connections are not immediately interrupted", EC2
//     User Guide, security-group connection tracking); if the groups are now
//     all-open it becomes untracked at once under Knobs.ConnTrack
//     ConnTrackInstant (the default), and stays tracked under
//     ConnTrackNewFlowsOnly and ConnTrackNever (AWS does not document which);
//   - an untracked flow the new rules no longer permit, in either direction,
//     is cut immediately ("an untracked flow is immediately interrupted if
//     the rule that enables the flow is removed");
//   - a permitted untracked flow under groups that are no longer all-open
//     becomes tracked.
//
// This is why a direct swap to a no-rule group leaves a miner's established
// pool connection up, while all-open first and no-rule second cuts it under
// the default knob. A network ACL deny (nacl.go) or stopping the instance
// cuts it under every value. Health checks of scaling-group members behind
// a load balancer are re-checked too (asg_health.go).
func (w *World) reevaluateFlowsLocked(eni *ENI, reason string) {
	defer w.checkASGHealthLocked()
	for _, f := range w.Flows {
		if f.ENI != eni.ID || !f.Active() {
			continue
		}
		open := w.allOpenLocked(eni.Groups, f.Protocol)
		if f.Tracked {
			if open && w.knobs.ConnTrack == ConnTrackInstant {
				f.Tracked = false
			}
			continue
		}
		if !w.permitsLocked(eni.Groups, f, true) {
			w.EndFlowLocked(f, "untracked flow cut: "+reason, w.clock.Now())
			continue
		}
		if !open {
			f.Tracked = true
		}
	}
}

// permitsLocked reports whether groups allow the flow's opening direction;
// with both set, the return direction too (untracked flows need both).
func (w *World) permitsLocked(groups []string, f *Flow, both bool) bool {
	egressOut := f.Direction == "egress"
	port := f.RemotePort
	back := f.LocalPort
	if !egressOut {
		port, back = f.LocalPort, f.RemotePort
	}
	if !w.anyRuleLocked(groups, egressOut, f.Protocol, port, f.RemoteIP) {
		return false
	}
	return !both || w.anyRuleLocked(groups, !egressOut, f.Protocol, back, f.RemoteIP)
}

func (w *World) anyRuleLocked(groups []string, egress bool, proto string, port int, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, gid := range groups {
		sg := w.SecurityGroups[gid]
		if sg == nil {
			continue
		}
		rules := sg.Ingress
		if egress {
			rules = sg.Egress
		}
		for _, r := range rules {
			if !ruleCoversPort(r, proto, port) {
				continue
			}
			for _, c := range r.CIDRs {
				if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
					return true
				}
			}
			for _, peer := range r.Groups {
				if w.ipInGroupLocked(ip, peer) {
					return true
				}
			}
		}
	}
	return false
}

func ruleCoversPort(r Rule, proto string, port int) bool {
	if r.Protocol == "-1" {
		return true
	}
	if r.Protocol != proto {
		return false
	}
	if proto == "icmp" {
		return r.FromPort == -1 || r.FromPort == port
	}
	return r.FromPort <= port && port <= r.ToPort
}

func ruleCoversAll(r Rule, proto string) bool {
	if r.Protocol == "-1" {
		return true
	}
	return r.Protocol == proto && r.FromPort <= 0 && r.ToPort >= 65535
}

// ipInGroupLocked reports whether some interface with that private IP is a
// member of the group (rules that reference a group as the peer).
func (w *World) ipInGroupLocked(ip, group string) bool {
	for _, id := range SortedKeys(w.ENIs) {
		if e := w.ENIs[id]; e.PrivateIP == ip && slices.Contains(e.Groups, group) {
			return true
		}
	}
	return false
}

// allOpenLocked reports whether the groups together allow every port of a
// TCP or UDP protocol from 0.0.0.0/0 inbound and to 0.0.0.0/0 outbound,
// the condition under which EC2 does not track the flow. ICMP is always
// tracked.
func (w *World) allOpenLocked(groups []string, proto string) bool {
	if proto != "tcp" && proto != "udp" {
		return false
	}
	in, out := false, false
	for _, gid := range groups {
		sg := w.SecurityGroups[gid]
		if sg == nil {
			continue
		}
		for _, r := range sg.Ingress {
			if ruleCoversAll(r, proto) && slices.Contains(r.CIDRs, AnyIPv4) {
				in = true
			}
		}
		for _, r := range sg.Egress {
			if ruleCoversAll(r, proto) && slices.Contains(r.CIDRs, AnyIPv4) {
				out = true
			}
		}
	}
	return in && out
}

// ---- addresses ---------------------------------------------------------

// AddAddressLocked allocates an Elastic IP and, if instanceID is set,
// associates it with the instance's primary interface.
func (w *World) AddAddressLocked(account, region, instanceID string) (*Address, error) {
	a := &Address{AllocationID: w.NewIDLocked("eipalloc"), Account: account, Region: region,
		PublicIP: w.PublicIPLocked()}
	if instanceID != "" {
		inst, ok := w.Instances[instanceID]
		if !ok {
			return nil, NotFound("instance", instanceID)
		}
		if len(inst.ENIs) == 0 {
			return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID, Msg: "instance has no network interface"}
		}
		eni := w.ENIs[inst.ENIs[0]]
		a.AssociationID = w.NewIDLocked("eipassoc")
		a.Instance, a.ENI, a.PrivateIP = instanceID, eni.ID, eni.PrivateIP
		eni.PublicIP, inst.PublicIP = a.PublicIP, a.PublicIP
	}
	w.Addresses[a.AllocationID] = a
	return a, nil
}

// DisassociateAddressLocked detaches an Elastic IP (by association ID or
// public IP). Without a public address the instance's connections to the
// internet cannot continue, so they end.
func (w *World) DisassociateAddressLocked(associationOrIP string) (*Address, error) {
	var a *Address
	for _, id := range SortedKeys(w.Addresses) {
		if x := w.Addresses[id]; x.AssociationID != "" && (x.AssociationID == associationOrIP || x.PublicIP == associationOrIP) {
			a = x
			break
		}
	}
	if a == nil {
		return nil, NotFound("address-association", associationOrIP)
	}
	inst := w.Instances[a.Instance]
	if eni := w.ENIs[a.ENI]; eni != nil && eni.PublicIP == a.PublicIP {
		eni.PublicIP = ""
	}
	if inst != nil && inst.PublicIP == a.PublicIP {
		inst.PublicIP = ""
		w.EndInternetFlowsLocked(inst, fmt.Sprintf("public IP %s disassociated", a.PublicIP))
	}
	a.AssociationID, a.Instance, a.ENI, a.PrivateIP = "", "", "", ""
	return a, nil
}
