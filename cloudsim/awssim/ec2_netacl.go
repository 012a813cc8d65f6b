package awssim

import (
	"strconv"

	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Network ACLs (world/nacl.go): the stateless subnet firewall that cuts an
// established flow whatever connection tracking does.

// ec2ACLParam resolves the NetworkAclId parameter.
func ec2ACLParam(c *Call) (*awsworld.NetworkACL, error) {
	id, err := ec2RequireParam(c, "NetworkAclId", "NetworkAclId")
	if err != nil {
		return nil, err
	}
	return ec2LookupACL(c, id)
}

// ec2RuleNumberParam reads the required RuleNumber parameter.
func ec2RuleNumberParam(c *Call) (int, error) {
	if _, err := ec2RequireParam(c, "RuleNumber", "RuleNumber"); err != nil {
		return 0, err
	}
	return c.Form.Int("RuleNumber", 0)
}

// ec2LookupACL finds a network ACL of the caller's account and region.
func ec2LookupACL(c *Call, id string) (*awsworld.NetworkACL, error) {
	a, ok := awsworld.Of(c.World).NetworkACLs.Get(id)
	if !ok || a.Account != c.Account() || a.Region != c.Region {
		return nil, Errf(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
	}
	c.Touch("AWS::EC2::NetworkAcl", id)
	return a, nil
}

func ec2ACLXML(c *Call, a *awsworld.NetworkACL) *X {
	var entries, assocs []*X
	for _, e := range awsworld.NACLEntriesWithDefault(a) {
		action := "deny"
		if e.Allow {
			action = "allow"
		}
		var ports *X
		if e.Protocol == "tcp" || e.Protocol == "udp" {
			ports = E("portRange", T("from", e.FromPort), T("to", e.ToPort))
		}
		entries = append(entries, E("item", T("ruleNumber", e.RuleNumber), T("protocol", awsworld.ProtocolNumber(e.Protocol)),
			T("ruleAction", action), T("egress", e.Egress), T("cidrBlock", e.CIDR), ports))
	}
	for _, as := range awsworld.Of(c.World).AssociationsOfACL(a.ID) {
		assocs = append(assocs, E("item", T("networkAclAssociationId", as.ID),
			T("networkAclId", a.ID), T("subnetId", as.Subnet)))
	}
	return E("item", T("networkAclId", a.ID), T("vpcId", a.VPC), T("default", a.Default),
		L("entrySet", entries), L("associationSet", assocs), ec2TagSetXML(a.Tags), T("ownerId", a.Account))
}

func ec2ACLFilter(c *Call, a *awsworld.NetworkACL) ec2FilterField {
	return func(name string) ([]string, bool) {
		if v, ok := ec2TagFilter(name, a.Tags); ok {
			return v, true
		}
		switch name {
		case "network-acl-id":
			return []string{a.ID}, true
		case "vpc-id":
			return []string{a.VPC}, true
		case "default":
			return []string{strconv.FormatBool(a.Default)}, true
		case "owner-id":
			return []string{a.Account}, true
		case "association.subnet-id", "association.association-id", "association.network-acl-id":
			var out []string
			for _, as := range awsworld.Of(c.World).AssociationsOfACL(a.ID) {
				switch name {
				case "association.subnet-id":
					out = append(out, as.Subnet)
				case "association.association-id":
					out = append(out, as.ID)
				default:
					out = append(out, a.ID)
				}
			}
			return out, true
		}
		return nil, false
	}
}

func ec2DescribeNetworkAcls(c *Call) (any, error) {
	ids := c.Form.List("NetworkAclId")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2ACLFilter(c, &awsworld.NetworkACL{})); err != nil {
		return nil, err
	}
	// Every VPC of the account has its default ACL (created on first use).
	for _, vid := range c.World.VPCs.Keys() {
		if v := c.World.VPCs.Lookup(vid); v.Account == c.Account() && v.Region == c.Region {
			awsworld.Of(c.World).NetworkACLsOfVPC(vid)
		}
	}
	for _, id := range ids {
		if _, err := ec2LookupACL(c, id); err != nil {
			return nil, err
		}
	}
	var matched []*awsworld.NetworkACL
	for _, id := range awsworld.Of(c.World).NetworkACLs.Keys() {
		a := awsworld.Of(c.World).NetworkACLs.Lookup(id)
		if a.Account != c.Account() || a.Region != c.Region || (len(ids) > 0 && !ec2ContainsString(ids, id)) {
			continue
		}
		ok, err := ec2MatchFilters(filters, ec2ACLFilter(c, a))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, a)
		}
	}
	return ec2Page(c, "networkAclSet", matched, 1000, func(a *awsworld.NetworkACL) *X { return ec2ACLXML(c, a) })
}

func ec2CreateNetworkAcl(c *Call) (any, error) {
	vpcID, err := ec2RequireParam(c, "VpcId", "VpcId")
	if err != nil {
		return nil, err
	}
	if v := c.World.VPCs.Lookup(vpcID); v == nil || v.Account != c.Account() || v.Region != c.Region {
		return nil, Errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	a, err := awsworld.Of(c.World).CreateNetworkACL(vpcID, ec2TagSpecs(c, "network-acl"))
	if err != nil {
		return nil, ec2Error(err)
	}
	c.Touch("AWS::EC2::NetworkAcl", a.ID)
	x := ec2ACLXML(c, a)
	x.Name = "networkAcl"
	return []*X{x}, nil
}

// ec2ACLEntryParam reads the entry of Create/ReplaceNetworkAclEntry.
func ec2ACLEntryParam(c *Call) (awsworld.NACLEntry, error) {
	var e awsworld.NACLEntry
	var err error
	if e.RuleNumber, err = ec2RuleNumberParam(c); err != nil {
		return e, err
	}
	if e.Protocol, err = ec2RequireParam(c, "Protocol", "Protocol"); err != nil {
		return e, err
	}
	action, err := ec2RequireParam(c, "RuleAction", "RuleAction")
	if err != nil {
		return e, err
	}
	switch action {
	case "allow", "deny":
		e.Allow = action == "allow"
	default:
		return e, Errf(400, "InvalidParameterValue", "Value (%s) for parameter ruleAction is invalid. Valid values: allow, deny.", action)
	}
	e.Egress, _ = c.Form.Bool("Egress")
	if e.CIDR, err = ec2RequireParam(c, "CidrBlock", "CidrBlock"); err != nil {
		return e, err
	}
	if e.FromPort, err = c.Form.Int("PortRange.From", 0); err != nil {
		return e, err
	}
	if e.ToPort, err = c.Form.Int("PortRange.To", 65535); err != nil {
		return e, err
	}
	return e, nil
}

func ec2PutNetworkAclEntry(replace bool) func(c *Call) (any, error) {
	return func(c *Call) (any, error) {
		a, err := ec2ACLParam(c)
		if err != nil {
			return nil, err
		}
		e, err := ec2ACLEntryParam(c)
		if err != nil {
			return nil, err
		}
		if err := awsworld.Of(c.World).PutNACLEntry(a.ID, e, replace); err != nil {
			return nil, ec2Error(err)
		}
		c.Param("ruleNumber", strconv.Itoa(e.RuleNumber))
		return []*X{T("return", true)}, nil
	}
}

func ec2DeleteNetworkAclEntry(c *Call) (any, error) {
	a, err := ec2ACLParam(c)
	if err != nil {
		return nil, err
	}
	n, err := ec2RuleNumberParam(c)
	if err != nil {
		return nil, err
	}
	egress, _ := c.Form.Bool("Egress")
	if err := awsworld.Of(c.World).DeleteNACLEntry(a.ID, n, egress); err != nil {
		return nil, ec2Error(err)
	}
	return []*X{T("return", true)}, nil
}

func ec2ReplaceNetworkAclAssociation(c *Call) (any, error) {
	assoc, err := ec2RequireParam(c, "AssociationId", "AssociationId")
	if err != nil {
		return nil, err
	}
	a, err := ec2ACLParam(c)
	if err != nil {
		return nil, err
	}
	newID, err := awsworld.Of(c.World).ReplaceNACLAssociation(assoc, a.ID)
	if err != nil {
		return nil, ec2Error(err)
	}
	c.Param("associationId", assoc)
	return []*X{T("newAssociationId", newID)}, nil
}
