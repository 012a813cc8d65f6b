package awsworld

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Network ACLs: the stateless, per-subnet firewall of a VPC. Every packet
// is checked against the subnet's ACL in its own direction, rules in
// ascending rule-number order, the first match deciding, and a final "*"
// rule denying what nothing allowed. Being stateless, an ACL also checks a
// flow's return traffic and cuts an established connection as soon as a
// deny applies to it, tracked or not ("Control subnet traffic with network
// access control lists", Amazon VPC User Guide: "NACLs are stateless,
// which means that information about previously sent or received traffic
// is not saved"). That makes an ACL deny the isolation step that works
// whatever the connection-tracking knob says.
//
// The model is minimal: IPv4 CIDRs, protocols -1/tcp/udp/icmp (or a
// number), port ranges; ICMP type/code are accepted and not matched.
// Default ACLs are created lazily, the first time a VPC's ACLs are used,
// so that worlds that never touch them draw no ids for them.

// NACLMaxRule is the highest rule number a caller may use; the "*" rule
// (32767) is the implicit final deny.
const NACLMaxRule = 32766

// naclDefaultRule is the rule number EC2 shows for the final "*" rule.
const naclDefaultRule = 32767

// NetworkACL is a VPC network ACL.
type NetworkACL struct {
	ID, Account, Region, VPC string
	Default                  bool
	Entries                  []NACLEntry // sorted by egress, then rule number
	Tags                     world.Tags
}

// NACLEntry is one numbered rule of a network ACL.
type NACLEntry struct {
	RuleNumber       int
	Egress           bool
	Protocol         string // "-1", "tcp", "udp", "icmp" or a protocol number
	FromPort, ToPort int    // tcp/udp only
	CIDR             string
	Allow            bool // RuleAction "allow"; false is "deny"
}

// NACLAssociation binds a subnet to a network ACL. A subnet has none until
// its VPC's ACLs are first used, which means the default allow-all ACL.
type NACLAssociation struct {
	ID, ACL, Subnet string
}

// NetworkACLsOfVPC returns a VPC's ACLs, by id, creating its default
// ACL (allow everything both ways, rule 100) on first use and associating
// every subnet that has none with it, as EC2 does for every VPC.
func (s *State) NetworkACLsOfVPC(vpcID string) []*NetworkACL {
	s.defaultACL(vpcID)
	var out []*NetworkACL
	for _, a := range s.NetworkACLs.All() {
		if a.VPC == vpcID {
			out = append(out, a)
		}
	}
	return out
}

// defaultACL returns the VPC's default ACL, creating it (and the
// associations of its subnets) on first use.
func (s *State) defaultACL(vpcID string) *NetworkACL {
	v := s.w.VPCs.Lookup(vpcID)
	if v == nil {
		return nil
	}
	var def *NetworkACL
	for _, a := range s.NetworkACLs.All() {
		if a.VPC == vpcID && a.Default {
			def = a
		}
	}
	if def == nil {
		def = &NetworkACL{ID: s.w.NewIDLocked("acl"), Account: v.Account, Region: v.Region, VPC: vpcID,
			Default: true, Tags: world.Tags{}, Entries: []NACLEntry{
				{RuleNumber: 100, Protocol: "-1", CIDR: AnyIPv4, Allow: true},
				{RuleNumber: 100, Egress: true, Protocol: "-1", CIDR: AnyIPv4, Allow: true}}}
		sortEntries(def.Entries)
		s.NetworkACLs.Put(def.ID, def)
	}
	for sid, sub := range s.w.Subnets.All() {
		if sub.VPC == vpcID && s.subnetACLs[sid] == nil {
			s.subnetACLs[sid] = &NACLAssociation{ACL: def.ID, ID: s.w.NewIDLocked("aclassoc"), Subnet: sid}
		}
	}
	return def
}

// CreateNetworkACL creates a non-default ACL: until entries are added
// it denies everything in both directions.
func (s *State) CreateNetworkACL(vpcID string, tags world.Tags) (*NetworkACL, error) {
	v := s.w.VPCs.Lookup(vpcID)
	if v == nil {
		return nil, world.NotFound("vpc", vpcID)
	}
	s.defaultACL(vpcID)
	a := &NetworkACL{ID: s.w.NewIDLocked("acl"), Account: v.Account, Region: v.Region, VPC: vpcID, Tags: world.Tags{}}
	for k, val := range tags {
		a.Tags[k] = val
	}
	s.NetworkACLs.Put(a.ID, a)
	return a, nil
}

func (s *State) acl(id string) (*NetworkACL, error) {
	a, ok := s.NetworkACLs.Get(id)
	if !ok {
		return nil, world.NotFound("network-acl", id)
	}
	return a, nil
}

// PutNACLEntry adds a numbered rule (replace=false; EC2's
// NetworkAclEntryAlreadyExists when the number is taken in that direction)
// or replaces one (replace=true; it must exist). Flows of the ACL's subnets
// that the ACL no longer permits end at once.
func (s *State) PutNACLEntry(aclID string, e NACLEntry, replace bool) error {
	a, err := s.acl(aclID)
	if err != nil {
		return err
	}
	if e.RuleNumber < 1 || e.RuleNumber > NACLMaxRule {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "network-acl-entry", ID: aclID,
			Msg: fmt.Sprintf("Value (%d) for parameter ruleNumber is invalid. The rule number must be between 1 and %d.", e.RuleNumber, NACLMaxRule)}
	}
	p, err := NormalizeProtocol(e.Protocol)
	if err != nil {
		return err
	}
	e.Protocol = p
	if _, err := netip.ParsePrefix(e.CIDR); err != nil {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "network-acl-entry", ID: e.CIDR,
			Msg: fmt.Sprintf("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", e.CIDR)}
	}
	if (p == "tcp" || p == "udp") && (e.FromPort < 0 || e.ToPort > 65535 || e.FromPort > e.ToPort) {
		return &world.ComputeError{Kind: world.KindInvalid, Resource: "network-acl-entry", ID: aclID,
			Msg: "TCP and UDP entries need a valid port range (PortRange.From <= PortRange.To, 0-65535)."}
	}
	i := slices.IndexFunc(a.Entries, func(x NACLEntry) bool { return x.Egress == e.Egress && x.RuleNumber == e.RuleNumber })
	switch {
	case replace && i < 0:
		return &world.ComputeError{Kind: world.KindNotFound, Resource: "network-acl-entry", ID: aclID,
			Msg: fmt.Sprintf("The network ACL entry identified by %d (%s) does not exist in %s", e.RuleNumber, direction(e.Egress), aclID)}
	case !replace && i >= 0:
		return &world.ComputeError{Kind: world.KindDuplicate, Resource: "network-acl-entry", ID: aclID,
			Msg: fmt.Sprintf("The network acl entry identified by %d already exists.", e.RuleNumber)}
	case replace:
		a.Entries[i] = e
	default:
		a.Entries = append(a.Entries, e)
	}
	sortEntries(a.Entries)
	s.aclChanged(a.ID, fmt.Sprintf("network ACL %s entry %d (%s) changed", a.ID, e.RuleNumber, direction(e.Egress)))
	return nil
}

// DeleteNACLEntry removes a numbered rule.
func (s *State) DeleteNACLEntry(aclID string, rule int, egress bool) error {
	a, err := s.acl(aclID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(a.Entries, func(x NACLEntry) bool { return x.Egress == egress && x.RuleNumber == rule })
	if i < 0 {
		return &world.ComputeError{Kind: world.KindNotFound, Resource: "network-acl-entry", ID: aclID,
			Msg: fmt.Sprintf("The network ACL entry identified by %d (%s) does not exist in %s", rule, direction(egress), aclID)}
	}
	a.Entries = slices.Delete(a.Entries, i, i+1)
	s.aclChanged(a.ID, fmt.Sprintf("network ACL %s entry %d (%s) deleted", a.ID, rule, direction(egress)))
	return nil
}

// ReplaceNACLAssociation moves the subnet of an association to
// another ACL of the same VPC and returns the new association id. Flows in
// the subnet the new ACL does not permit end at once.
func (s *State) ReplaceNACLAssociation(associationID, aclID string) (string, error) {
	a, err := s.acl(aclID)
	if err != nil {
		return "", err
	}
	s.defaultACL(a.VPC)
	var subnet *world.Subnet
	for _, sid := range s.w.Subnets.Keys() {
		if as := s.subnetACLs[sid]; as != nil && as.ID == associationID {
			sub := s.w.Subnets.Lookup(sid)
			subnet = sub
		}
	}
	if subnet == nil {
		return "", world.NotFound("network-acl-association", associationID)
	}
	if subnet.VPC != a.VPC {
		return "", &world.ComputeError{Kind: world.KindInvalid, Resource: "network-acl", ID: aclID,
			Msg: fmt.Sprintf("Network ACL %s and subnet %s belong to different networks.", aclID, subnet.ID)}
	}
	as := &NACLAssociation{ACL: a.ID, ID: s.w.NewIDLocked("aclassoc"), Subnet: subnet.ID}
	s.subnetACLs[subnet.ID] = as
	s.aclChanged(a.ID, fmt.Sprintf("subnet %s associated with network ACL %s", subnet.ID, a.ID))
	return as.ID, nil
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

func sortEntries(es []NACLEntry) {
	slices.SortStableFunc(es, func(a, b NACLEntry) int {
		if a.Egress != b.Egress {
			if a.Egress {
				return 1
			}
			return -1
		}
		return a.RuleNumber - b.RuleNumber
	})
}

// NACLEntriesWithDefault lists an ACL's entries as EC2 describes them:
// its numbered rules and the final "*" deny in each direction.
func NACLEntriesWithDefault(a *NetworkACL) []NACLEntry {
	out := append([]NACLEntry(nil), a.Entries...)
	out = append(out, NACLEntry{RuleNumber: naclDefaultRule, Protocol: "-1", CIDR: AnyIPv4},
		NACLEntry{RuleNumber: naclDefaultRule, Egress: true, Protocol: "-1", CIDR: AnyIPv4})
	sortEntries(out)
	return out
}

// aclAllows decides one packet direction: the first entry (by rule number)
// that matches the protocol, port and peer address decides; nothing
// matching is the "*" deny.
func aclAllows(a *NetworkACL, egress bool, proto string, port int, peer netip.Addr) bool {
	for _, e := range a.Entries {
		if e.Egress != egress {
			continue
		}
		if e.Protocol != "-1" && e.Protocol != proto {
			continue
		}
		if (proto == "tcp" || proto == "udp") && e.Protocol != "-1" && (port < e.FromPort || port > e.ToPort) {
			continue
		}
		if p, err := netip.ParsePrefix(e.CIDR); err != nil || !p.Contains(peer) {
			continue
		}
		return e.Allow
	}
	return false
}

// naclPermits reports whether the subnet's ACL lets a flow through in
// both directions (the ACL is stateless: the return traffic is checked like
// any other packet). A subnet whose VPC's ACLs were never used has the
// default ACL, which allows everything.
func (s *State) naclPermits(subnetID string, f *world.Flow) bool {
	sub := s.w.Subnets.Lookup(subnetID)
	as := s.subnetACLs[subnetID]
	if sub == nil || as == nil {
		return true
	}
	a := s.NetworkACLs.Lookup(as.ACL)
	if a == nil {
		return true
	}
	peer, err := netip.ParseAddr(f.RemoteIP)
	if err != nil {
		return false
	}
	// The instance's outbound packets go to the remote port (egress flow)
	// or the remote's ephemeral port (ingress flow); inbound packets come
	// to the local port.
	out := aclAllows(a, true, f.Protocol, f.RemotePort, peer)
	in := aclAllows(a, false, f.Protocol, f.LocalPort, peer)
	return out && in
}

// aclChanged ends the active flows, tracked or not, of every
// interface in a subnet of the ACL that the ACL no longer permits, and
// re-checks the health of scaling-group members there (a load balancer's
// health check crosses the ACL too).
func (s *State) aclChanged(aclID, reason string) {
	now := s.w.Now()
	for _, f := range s.w.Flows {
		if !f.Active() {
			continue
		}
		eni := s.w.ENIs.Lookup(f.ENI)
		if eni == nil {
			continue
		}
		if as := s.subnetACLs[eni.Subnet]; s.w.Subnets.Lookup(eni.Subnet) == nil || as == nil || as.ACL != aclID {
			continue
		}
		if !s.naclPermits(eni.Subnet, f) {
			s.w.EndFlowLocked(f, "stateless network ACL cut the flow: "+reason, now)
		}
	}
	s.checkASGHealth()
}

// AssociationsOfACL lists the subnet associations of an ACL, by subnet id.
func (s *State) AssociationsOfACL(aclID string) []*NACLAssociation {
	var out []*NACLAssociation
	for _, sid := range s.w.Subnets.Keys() {
		if as := s.subnetACLs[sid]; as != nil && as.ACL == aclID {
			out = append(out, as)
		}
	}
	return out
}

// SubnetACL returns the network ACL a subnet is associated with and the
// association's id, both empty while its VPC's ACLs were never used (the
// default ACL, allowing everything, then applies).
func (s *State) SubnetACL(subnetID string) (acl, association string) {
	if as := s.subnetACLs[subnetID]; as != nil {
		return as.ACL, as.ID
	}
	return "", ""
}
