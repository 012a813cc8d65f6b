package awsworld

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// AnyIPv4 is the CIDR that makes a rule "open to the world"; together with a
// matching rule in the other direction it makes TCP/UDP flows untracked.
const AnyIPv4 = "0.0.0.0/0"

// AddVPC creates a virtual network and its default security group
// (self-referencing ingress, allow-all egress), as AWS does for every VPC.
func (s *State) AddVPC(account, region, cidr string) *world.VPC {
	v := &world.VPC{ID: s.w.NewIDLocked("vpc"), Account: account, Region: region, CIDR: cidr, Tags: world.Tags{}}
	s.w.VPCs.Put(v.ID, v)
	sg, _ := s.AddSecurityGroup(account, region, v.ID, "default", "default VPC security group")
	sg.Ingress = append(sg.Ingress, Rule{Protocol: "-1", FromPort: -1, ToPort: -1,
		Groups: []string{sg.ID}, RuleID: s.w.NewIDLocked("sgr")})
	return v
}

// AddSubnet creates a subnet of a VPC in one availability zone.
func (s *State) AddSubnet(vpcID, az, cidr string) (*world.Subnet, error) {
	if _, ok := s.w.VPCs.Get(vpcID); !ok {
		return nil, world.NotFound("vpc", vpcID)
	}
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "subnet", ID: cidr,
			Msg: fmt.Sprintf("the CIDR %q is invalid: %v", cidr, err)}
	}
	sub := &world.Subnet{ID: s.w.NewIDLocked("subnet"), VPC: vpcID, AZ: az, CIDR: cidr}
	s.w.Subnets.Put(sub.ID, sub)
	for _, a := range s.NetworkACLs.All() {
		if a.VPC == vpcID {
			s.defaultACL(vpcID) // the VPC's ACLs are in use: join its default ACL
			break
		}
	}
	return sub, nil
}

// defaultSubnet picks the subnet an instance lands in when the caller
// names none: the first subnet (by ID) of the first VPC of the account and
// region, creating a 172.31.0.0/16 default VPC when there is none.
func (s *State) defaultSubnet(account, region string) *world.Subnet {
	for _, vid := range s.vpcsOf(account, region) {
		for _, sid := range s.w.Subnets.Keys() {
			if s.w.Subnets.Lookup(sid).VPC == vid {
				return s.w.Subnets.Lookup(sid)
			}
		}
	}
	v := s.DefaultVPC(account, region)
	sub, _ := s.AddSubnet(v.ID, region+"a", "172.31.0.0/20")
	return sub
}

// DefaultVPC returns the first VPC (by ID) of the account and region,
// creating a 172.31.0.0/16 default VPC when there is none.
func (s *State) DefaultVPC(account, region string) *world.VPC {
	if ids := s.vpcsOf(account, region); len(ids) > 0 {
		return s.w.VPCs.Lookup(ids[0])
	}
	return s.AddVPC(account, region, "172.31.0.0/16")
}

func (s *State) vpcsOf(account, region string) []string {
	var out []string
	for id, v := range s.w.VPCs.All() {
		if v.Account == account && v.Region == region {
			out = append(out, id)
		}
	}
	return out
}

// AddSecurityGroup creates a security group with AWS's default
// allow-all egress rule and no ingress. Names are unique per VPC.
func (s *State) AddSecurityGroup(account, region, vpcID, name, description string) (*SecurityGroup, error) {
	if _, ok := s.w.VPCs.Get(vpcID); !ok {
		return nil, world.NotFound("vpc", vpcID)
	}
	if g := s.GroupByName(vpcID, name); g != nil {
		return nil, &world.ComputeError{Kind: world.KindDuplicate, Resource: "security-group", ID: name,
			Msg: fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, vpcID)}
	}
	sg := &SecurityGroup{ID: s.w.NewIDLocked("sg"), Account: account, Region: region, VPC: vpcID,
		Name: name, Description: description, Tags: world.Tags{}, CreatedAt: s.w.Now()}
	sg.Egress = []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []string{AnyIPv4}, RuleID: s.w.NewIDLocked("sgr")}}
	s.SecurityGroups.Put(sg.ID, sg)
	return sg, nil
}

// GroupByName finds a security group by name within a VPC.
func (s *State) GroupByName(vpcID, name string) *SecurityGroup {
	for _, g := range s.SecurityGroups.All() {
		if g.VPC == vpcID && g.Name == name {
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
	return "", &world.ComputeError{Kind: world.KindInvalid, Resource: "rule", ID: p, Msg: fmt.Sprintf("Invalid value '%s' for IP protocol. Unknown protocol.", p)}
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
			return nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "rule",
				Msg: "a permission needs at least one CIDR range or security group"}
		}
		for _, c := range r.CIDRs {
			if _, err := netip.ParsePrefix(c); err != nil {
				return nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "rule", ID: c,
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

// AuthorizeRules adds permissions to a group, one rule per peer. If any
// of them already exists nothing is added (EC2 rejects the whole call).
// Flows of every ENI in the group are re-evaluated.
func (s *State) AuthorizeRules(groupID string, egress bool, rules []Rule) ([]Rule, error) {
	sg, ok := s.SecurityGroups.Get(groupID)
	if !ok {
		return nil, world.NotFound("security-group", groupID)
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
			if _, ok := s.SecurityGroups.Get(g); !ok {
				return nil, world.NotFound("security-group", g)
			}
		}
		for _, old := range *list {
			if sameRule(old, r) {
				return nil, &world.ComputeError{Kind: world.KindDuplicate, Resource: "rule", ID: groupID,
					Msg: fmt.Sprintf("the specified rule %q already exists", describeRule(r))}
			}
		}
		for _, prev := range split[:i] {
			if sameRule(prev, r) {
				return nil, &world.ComputeError{Kind: world.KindDuplicate, Resource: "rule", ID: groupID,
					Msg: fmt.Sprintf("the specified rule %q is given twice", describeRule(r))}
			}
		}
	}
	for i := range split {
		split[i].RuleID = s.w.NewIDLocked("sgr")
	}
	*list = append(*list, split...)
	s.groupChanged(groupID, fmt.Sprintf("rule authorized on %s", groupID))
	return split, nil
}

// RevokeRules removes the permissions that exist and reports the ones
// that did not. If none matched, it fails (EC2's InvalidPermission.NotFound).
// Untracked flows the removed rules carried are cut at once.
func (s *State) RevokeRules(groupID string, egress bool, rules []Rule) (removed, unknown []Rule, err error) {
	sg, ok := s.SecurityGroups.Get(groupID)
	if !ok {
		return nil, nil, world.NotFound("security-group", groupID)
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
		return nil, unknown, &world.ComputeError{Kind: world.KindNotFound, Resource: "rule", ID: groupID,
			Msg: "The specified rule does not exist in this security group."}
	}
	s.groupChanged(groupID, fmt.Sprintf("rule revoked on %s", groupID))
	return removed, unknown, nil
}

// RevokeRuleIDs removes rules by security-group-rule ID.
func (s *State) RevokeRuleIDs(groupID string, egress bool, ids []string) ([]Rule, error) {
	sg, ok := s.SecurityGroups.Get(groupID)
	if !ok {
		return nil, world.NotFound("security-group", groupID)
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	var removed []Rule
	for _, id := range ids {
		idx := slices.IndexFunc(*list, func(r Rule) bool { return r.RuleID == id })
		if idx < 0 {
			return nil, &world.ComputeError{Kind: world.KindNotFound, Resource: "security-group-rule", ID: id,
				Msg: fmt.Sprintf("The security group rule ID '%s' does not exist", id)}
		}
	}
	for _, id := range ids {
		idx := slices.IndexFunc(*list, func(r Rule) bool { return r.RuleID == id })
		removed = append(removed, (*list)[idx])
		*list = slices.Delete(*list, idx, idx+1)
	}
	s.groupChanged(groupID, fmt.Sprintf("rule revoked on %s", groupID))
	return removed, nil
}

func describeRule(r Rule) string {
	peer := strings.Join(append(append([]string(nil), r.CIDRs...), r.Groups...), ",")
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
}

// SetENIGroups replaces the security groups of a network interface and
// re-evaluates its active flows (see reevaluateFlows).
func (s *State) SetENIGroups(eniID string, groups []string) error {
	eni, ok := s.w.ENIs.Get(eniID)
	if !ok {
		return world.NotFound("network-interface", eniID)
	}
	if len(groups) == 0 {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "network-interface", ID: eniID,
			Msg: "at least one security group is required"}
	}
	for _, g := range groups {
		sg, ok := s.SecurityGroups.Get(g)
		if !ok {
			return world.NotFound("security-group", g)
		}
		if sg.VPC != eni.VPC {
			return &world.ComputeError{Kind: world.KindInvalid, Resource: "security-group", ID: g,
				Msg: fmt.Sprintf("You have specified two resources that belong to different networks: %s is in %s, %s is in %s", g, sg.VPC, eniID, eni.VPC)}
		}
	}
	eni.Groups = dedupe(groups)
	s.reevaluateFlows(eni, fmt.Sprintf("security groups of %s changed to %s", eniID, strings.Join(eni.Groups, ",")))
	return nil
}

// AttachNetworkInterface creates a secondary interface in the
// instance's subnet and attaches it at the next device index. Instances
// with several interfaces must be isolated per interface.
func (s *State) AttachNetworkInterface(instanceID string, groups []string) (*world.ENI, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return nil, world.NotFound("instance", instanceID)
	}
	subnet := s.w.Subnets.Lookup(inst.Subnet)
	if subnet == nil {
		return nil, world.NotFound("subnet", inst.Subnet)
	}
	for _, g := range groups {
		if sg, ok := s.SecurityGroups.Get(g); !ok || sg.VPC != inst.VPC {
			return nil, world.NotFound("security-group", g)
		}
	}
	eni := &world.ENI{ID: s.w.NewIDLocked("eni"), Account: inst.Account, Region: inst.Region, AZ: inst.AZ,
		VPC: inst.VPC, Subnet: inst.Subnet, Instance: inst.ID, DeviceIndex: len(inst.ENIs),
		PrivateIP: s.w.PrivateIPLocked(subnet), MAC: s.w.MACLocked(), Groups: dedupe(groups),
		AttachmentID: s.w.NewIDLocked("eni-attach"), Status: "in-use", Tags: world.Tags{}}
	s.w.ENIs.Put(eni.ID, eni)
	inst.ENIs = append(inst.ENIs, eni.ID)
	return eni, nil
}

// SetInstanceGroups changes the groups of an instance with a single
// network interface. Like EC2, it refuses instances with several interfaces:
// callers must then change each interface.
func (s *State) SetInstanceGroups(instanceID string, groups []string) error {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return world.NotFound("instance", instanceID)
	}
	if len(inst.ENIs) > 1 {
		return &world.ComputeError{Kind: world.KindMultipleInterfaces, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", instanceID)}
	}
	if len(inst.ENIs) == 0 {
		return &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' has no network interface.", instanceID)}
	}
	return s.SetENIGroups(inst.ENIs[0], groups)
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

// groupChanged re-evaluates the flows of every ENI using the group.
func (s *State) groupChanged(groupID, reason string) {
	for _, eni := range s.w.ENIs.All() {
		if slices.Contains(eni.Groups, groupID) {
			s.reevaluateFlows(eni, reason)
		}
	}
}

// OpenFlow opens a connection on the instance's primary interface if
// its security groups and its subnet's network ACL permit it. The flow is
// untracked when the interface's groups together allow all traffic of its
// protocol from and to 0.0.0.0/0 (EC2 connection tracking), unless
// Knobs.ConnTrack is ConnTrackNever; otherwise, and always for ICMP, it is
// tracked.
func (s *State) OpenFlow(instanceID string, spec world.FlowSpec) (*world.Flow, error) {
	f, eni, err := s.admitFlow(instanceID, spec, true)
	if err != nil {
		return nil, err
	}
	f.Tracked = s.w.KnobsLocked().ConnTrack == world.ConnTrackNever || !s.allOpen(eni.Groups, f.Protocol)
	s.w.StartFlowLocked(f)
	return f, nil
}

// AdmitFlow says whether OpenFlow would open the connection spec
// describes now, without opening it: nil, or the error OpenFlow would
// return. Nothing is drawn, so the spec gives both ports.
func (s *State) AdmitFlow(instanceID string, spec world.FlowSpec) error {
	_, _, err := s.admitFlow(instanceID, spec, false)
	return err
}

// admitFlow builds the flow spec describes on the running instance's
// primary interface (drawing the ephemeral ports the spec left open when
// draw is set) and checks that its security groups and its subnet's
// network ACL let it open.
func (s *State) admitFlow(instanceID string, spec world.FlowSpec, draw bool) (*world.Flow, *world.ENI, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return nil, nil, world.NotFound("instance", instanceID)
	}
	if inst.State != world.StateRunning {
		return nil, nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("instance %s is %s, not running", instanceID, inst.State)}
	}
	if len(inst.ENIs) == 0 {
		return nil, nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID, Msg: "instance has no network interface"}
	}
	eni := s.w.ENIs.Lookup(inst.ENIs[0])
	f, err := world.NewFlow(instanceID, eni.ID, spec)
	if err != nil {
		return nil, nil, err
	}
	if draw {
		s.w.DrawEphemeralPortsLocked(f)
	}
	if !s.permits(eni.Groups, f, false) {
		return nil, nil, &world.ComputeError{Kind: world.KindBlocked, Resource: "flow", ID: instanceID,
			Msg: fmt.Sprintf("the security groups %s of %s do not permit %s %s to %s:%d", strings.Join(eni.Groups, ","), eni.ID, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	if !s.naclPermits(eni.Subnet, f) {
		acl, _ := s.SubnetACL(eni.Subnet)
		return nil, nil, &world.ComputeError{Kind: world.KindBlocked, Resource: "flow", ID: instanceID,
			Msg: fmt.Sprintf("the network ACL %s of subnet %s does not permit %s %s to %s:%d", acl, eni.Subnet, f.Direction, f.Protocol, f.RemoteIP, f.RemotePort)}
	}
	return f, eni, nil
}

// reevaluateFlows applies EC2 connection-tracking semantics after the
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
func (s *State) reevaluateFlows(eni *world.ENI, reason string) {
	defer s.checkASGHealth()
	for _, f := range s.w.Flows {
		if f.ENI != eni.ID || !f.Active() {
			continue
		}
		open := s.allOpen(eni.Groups, f.Protocol)
		if f.Tracked {
			if open && s.w.KnobsLocked().ConnTrack == world.ConnTrackInstant {
				f.Tracked = false
			}
			continue
		}
		if !s.permits(eni.Groups, f, true) {
			s.w.EndFlowLocked(f, "untracked flow cut: "+reason, s.w.Now())
			continue
		}
		if !open {
			f.Tracked = true
		}
	}
}

// permits reports whether groups allow the flow's opening direction;
// with both set, the return direction too (untracked flows need both).
func (s *State) permits(groups []string, f *world.Flow, both bool) bool {
	egressOut := f.Direction == "egress"
	port := f.RemotePort
	back := f.LocalPort
	if !egressOut {
		port, back = f.LocalPort, f.RemotePort
	}
	if !s.anyRule(groups, egressOut, f.Protocol, port, f.RemoteIP) {
		return false
	}
	return !both || s.anyRule(groups, !egressOut, f.Protocol, back, f.RemoteIP)
}

func (s *State) anyRule(groups []string, egress bool, proto string, port int, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, gid := range groups {
		sg := s.SecurityGroups.Lookup(gid)
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
				if s.ipInGroup(ip, peer) {
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

// ipInGroup reports whether some interface with that private IP is a
// member of the group (rules that reference a group as the peer).
func (s *State) ipInGroup(ip, group string) bool {
	for _, e := range s.w.ENIs.All() {
		if e.PrivateIP == ip && slices.Contains(e.Groups, group) {
			return true
		}
	}
	return false
}

// allOpen reports whether the groups together allow every port of a
// TCP or UDP protocol from 0.0.0.0/0 inbound and to 0.0.0.0/0 outbound,
// the condition under which EC2 does not track the flow. ICMP is always
// tracked.
func (s *State) allOpen(groups []string, proto string) bool {
	if proto != "tcp" && proto != "udp" {
		return false
	}
	in, out := false, false
	for _, gid := range groups {
		sg := s.SecurityGroups.Lookup(gid)
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

// AddAddress allocates an Elastic IP and, if instanceID is set,
// associates it with the instance's primary interface.
func (s *State) AddAddress(account, region, instanceID string) (*Address, error) {
	a := &Address{AllocationID: s.w.NewIDLocked("eipalloc"), Account: account, Region: region,
		PublicIP: s.w.PublicIPLocked()}
	if instanceID != "" {
		inst, ok := s.w.Instances.Get(instanceID)
		if !ok {
			return nil, world.NotFound("instance", instanceID)
		}
		if len(inst.ENIs) == 0 {
			return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID, Msg: "instance has no network interface"}
		}
		eni := s.w.ENIs.Lookup(inst.ENIs[0])
		a.AssociationID = s.w.NewIDLocked("eipassoc")
		a.Instance, a.ENI, a.PrivateIP = instanceID, eni.ID, eni.PrivateIP
		eni.PublicIP, inst.PublicIP = a.PublicIP, a.PublicIP
	}
	s.Addresses.Put(a.AllocationID, a)
	return a, nil
}

// DisassociateAddress detaches an Elastic IP (by association ID or
// public IP). Without a public address the instance's connections to the
// internet cannot continue, so they end.
func (s *State) DisassociateAddress(associationOrIP string) (*Address, error) {
	var a *Address
	for _, x := range s.Addresses.All() {
		if x.AssociationID != "" && (x.AssociationID == associationOrIP || x.PublicIP == associationOrIP) {
			a = x
			break
		}
	}
	if a == nil {
		return nil, world.NotFound("address-association", associationOrIP)
	}
	inst := s.w.Instances.Lookup(a.Instance)
	if eni := s.w.ENIs.Lookup(a.ENI); eni != nil && eni.PublicIP == a.PublicIP {
		eni.PublicIP = ""
	}
	if inst != nil && inst.PublicIP == a.PublicIP {
		inst.PublicIP = ""
		s.w.EndInternetFlowsLocked(inst, fmt.Sprintf("public IP %s disassociated", a.PublicIP))
	}
	a.AssociationID, a.Instance, a.ENI, a.PrivateIP = "", "", "", ""
	return a, nil
}
