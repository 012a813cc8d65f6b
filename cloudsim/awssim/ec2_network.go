package awssim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// ---- security groups --------------------------------------------------------

func ec2SgARN(c *Call, id string) string { return ec2ARN(c, "security-group", id) }

// ec2LookupGroup finds a security group of the caller's account, honouring an
// injected eventual-consistency window.
func ec2LookupGroup(c *Call, id string) (*awsworld.SecurityGroup, error) {
	sg, ok := awsworld.Of(c.World).SecurityGroups.Get(id)
	if !ok || sg.Account != c.Account() || sg.Region != c.Region || c.Hidden(sg.CreatedAt) {
		return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	c.Touch("AWS::EC2::SecurityGroup", id)
	return sg, nil
}

// ec2GroupParam resolves GroupId, or GroupName in the default VPC.
func ec2GroupParam(c *Call) (*awsworld.SecurityGroup, error) {
	if id := c.Form.Get("GroupId"); id != "" {
		return ec2LookupGroup(c, id)
	}
	if name := c.Form.Get("GroupName"); name != "" {
		vpc := awsworld.Of(c.World).DefaultVPC(c.Account(), c.Region)
		sg := awsworld.Of(c.World).GroupByName(vpc.ID, name)
		if sg == nil {
			return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, vpc.ID)
		}
		return ec2LookupGroup(c, sg.ID)
	}
	return nil, Errf(400, "MissingParameter", "The request must contain the parameter groupId or groupName")
}

func ec2CreateSecurityGroup(c *Call) (any, error) {
	name, err := ec2RequireParam(c, "GroupName", "GroupName")
	if err != nil {
		return nil, err
	}
	desc, err := ec2RequireParam(c, "GroupDescription", "GroupDescription")
	if err != nil {
		return nil, err
	}
	vpcID := c.Form.Get("VpcId")
	if vpcID == "" {
		vpcID = awsworld.Of(c.World).DefaultVPC(c.Account(), c.Region).ID
	} else if v := c.World.VPCs.Lookup(vpcID); v == nil || v.Account != c.Account() || v.Region != c.Region {
		return nil, Errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	if strings.EqualFold(name, "default") {
		return nil, Errf(400, "InvalidParameterValue", "Invalid value 'default' for groupName. You may not create a security group named 'default'.")
	}
	sg, err := awsworld.Of(c.World).AddSecurityGroup(c.Account(), c.Region, vpcID, name, desc)
	if err != nil {
		return nil, ec2Error(err)
	}
	for k, v := range ec2TagSpecs(c, "security-group") {
		sg.Tags[k] = v
	}
	c.Touch("AWS::EC2::SecurityGroup", sg.ID)
	c.Param("groupName", name)
	return []*X{T("return", true), T("groupId", sg.ID), T("securityGroupArn", ec2SgARN(c, sg.ID)), ec2TagSetXML(sg.Tags)}, nil
}

// ec2PermissionsXML groups per-peer rules back into EC2's IpPermission shape:
// one item per (protocol, ports), with its CIDRs and referenced groups.
func ec2PermissionsXML(c *Call, name string, rules []awsworld.Rule) *X {
	type key struct {
		proto    string
		from, to int
	}
	var order []key
	byKey := map[key][]awsworld.Rule{}
	for _, r := range rules {
		k := key{r.Protocol, r.FromPort, r.ToPort}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	var items []*X
	for _, k := range order {
		var ranges, groups []*X
		for _, r := range byKey[k] {
			for _, cidr := range r.CIDRs {
				ranges = append(ranges, E("item", T("cidrIp", cidr)))
			}
			for _, g := range r.Groups {
				groups = append(groups, E("item", T("userId", c.Account()), T("groupId", g)))
			}
		}
		var from, to *X
		if k.proto != "-1" {
			from, to = T("fromPort", k.from), T("toPort", k.to)
		}
		items = append(items, E("item", T("ipProtocol", k.proto), from, to,
			L("groups", groups), L("ipRanges", ranges), L("ipv6Ranges", nil), L("prefixListIds", nil)))
	}
	return L(name, items)
}

func ec2GroupFilter(sg *awsworld.SecurityGroup) ec2FilterField {
	return func(name string) ([]string, bool) {
		if v, ok := ec2TagFilter(name, sg.Tags); ok {
			return v, true
		}
		switch name {
		case "group-id":
			return []string{sg.ID}, true
		case "group-name":
			return []string{sg.Name}, true
		case "vpc-id":
			return []string{sg.VPC}, true
		case "description":
			return []string{sg.Description}, true
		case "owner-id":
			return []string{sg.Account}, true
		}
		return nil, false
	}
}

func ec2DescribeSecurityGroups(c *Call) (any, error) {
	ids := c.Form.List("GroupId")
	names := c.Form.List("GroupName")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2GroupFilter(&awsworld.SecurityGroup{})); err != nil {
		return nil, err
	}
	if (len(ids) > 0 || len(names) > 0) && c.Form.Has("MaxResults") {
		return nil, Errf(400, "InvalidParameterCombination", "The parameter groupIds cannot be used with the parameter maxResults")
	}
	for _, id := range ids {
		if _, err := ec2LookupGroup(c, id); err != nil {
			return nil, err
		}
	}
	var matched []*awsworld.SecurityGroup
	found := map[string]bool{}
	for _, id := range awsworld.Of(c.World).SecurityGroups.Keys() {
		sg := awsworld.Of(c.World).SecurityGroups.Lookup(id)
		if sg.Account != c.Account() || sg.Region != c.Region || c.Hidden(sg.CreatedAt) {
			continue
		}
		if len(ids) > 0 && !ec2ContainsString(ids, sg.ID) {
			continue
		}
		if len(names) > 0 && !ec2ContainsString(names, sg.Name) {
			continue
		}
		found[sg.Name] = true
		ok, err := ec2MatchFilters(filters, ec2GroupFilter(sg))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, sg)
		}
	}
	for _, n := range names {
		if !found[n] {
			return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", n)
		}
	}
	return ec2Page(c, "securityGroupInfo", matched, 1000, func(sg *awsworld.SecurityGroup) *X {
		return E("item", T("ownerId", sg.Account), T("groupId", sg.ID), T("groupName", sg.Name),
			T("groupDescription", sg.Description), T("vpcId", sg.VPC), T("securityGroupArn", ec2SgARN(c, sg.ID)),
			ec2PermissionsXML(c, "ipPermissions", sg.Ingress), ec2PermissionsXML(c, "ipPermissionsEgress", sg.Egress),
			ec2TagSetXML(sg.Tags))
	})
}

// ec2PermissionsParam reads IpPermissions.N (or the legacy top-level
// IpProtocol/FromPort/ToPort/CidrIp) into world rules.
func ec2PermissionsParam(c *Call) ([]awsworld.Rule, error) {
	var rules []awsworld.Rule
	parse := func(f Form, groupsKey string) error {
		proto := f.Get("IpProtocol")
		if proto == "" {
			return Errf(400, "MissingParameter", "The request must contain the parameter ipProtocol")
		}
		r := awsworld.Rule{Protocol: proto, FromPort: -1, ToPort: -1}
		for _, p := range []struct {
			key string
			dst *int
		}{{"FromPort", &r.FromPort}, {"ToPort", &r.ToPort}} {
			if v := f.Get(p.key); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return Errf(400, "InvalidParameterValue", "Invalid value '%s' for %s", v, p.key)
				}
				*p.dst = n
			}
		}
		norm, err := awsworld.NormalizeProtocol(proto)
		if err != nil {
			return ec2Error(err)
		}
		if (norm == "tcp" || norm == "udp") && (r.FromPort < 0 || r.ToPort > 65535 || r.FromPort > r.ToPort) {
			return Errf(400, "InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		for _, rng := range f.Structs("IpRanges") {
			r.CIDRs = append(r.CIDRs, rng.Get("CidrIp"))
		}
		if cidr := f.Get("CidrIp"); cidr != "" {
			r.CIDRs = append(r.CIDRs, cidr)
		}
		for _, pair := range f.Structs(groupsKey) {
			g := pair.Get("GroupId")
			if g == "" {
				return Errf(400, "MissingParameter", "The request must contain the parameter groupId in UserIdGroupPairs")
			}
			r.Groups = append(r.Groups, g)
		}
		if len(r.CIDRs) == 0 && len(r.Groups) == 0 {
			return Errf(400, "MissingParameter", "The request must contain the parameter ipRanges or groups")
		}
		rules = append(rules, r)
		return nil
	}
	for _, p := range c.Form.Structs("IpPermissions") {
		if err := parse(p, "Groups"); err != nil {
			return nil, err
		}
	}
	if c.Form.Has("IpProtocol") {
		if err := parse(c.Form, "none"); err != nil {
			return nil, err
		}
	}
	return rules, nil
}

func ec2RuleXML(c *Call, groupID string, egress bool, r awsworld.Rule) *X {
	var from, to *X
	if r.Protocol != "-1" {
		from, to = T("fromPort", r.FromPort), T("toPort", r.ToPort)
	}
	var peer *X
	if len(r.CIDRs) > 0 {
		peer = T("cidrIpv4", r.CIDRs[0])
	} else if len(r.Groups) > 0 {
		peer = E("referencedGroupInfo", T("groupId", r.Groups[0]), T("userId", c.Account()))
	}
	return E("item", T("securityGroupRuleId", r.RuleID), T("groupId", groupID), T("groupOwnerId", c.Account()),
		T("isEgress", egress), T("ipProtocol", r.Protocol), from, to, peer,
		T("securityGroupRuleArn", ec2ARN(c, "security-group-rule", r.RuleID)))
}

func ec2AuthorizeRules(egress bool) func(c *Call) (any, error) {
	return func(c *Call) (any, error) {
		sg, err := ec2GroupParam(c)
		if err != nil {
			return nil, err
		}
		rules, err := ec2PermissionsParam(c)
		if err != nil {
			return nil, err
		}
		if len(rules) == 0 {
			return nil, Errf(400, "MissingParameter", "The request must contain the parameter IpPermissions")
		}
		for _, r := range rules {
			for _, g := range r.Groups {
				if _, err := ec2LookupGroup(c, g); err != nil {
					return nil, err
				}
			}
		}
		added, err := awsworld.Of(c.World).AuthorizeRules(sg.ID, egress, rules)
		if err != nil {
			return nil, ec2Error(err)
		}
		var items []*X
		for _, r := range added {
			items = append(items, ec2RuleXML(c, sg.ID, egress, r))
		}
		c.Param("rules", ec2DescribeRules(added))
		return []*X{T("return", true), L("securityGroupRuleSet", items)}, nil
	}
}

func ec2RevokeRules(egress bool) func(c *Call) (any, error) {
	return func(c *Call) (any, error) {
		sg, err := ec2GroupParam(c)
		if err != nil {
			return nil, err
		}
		var removed, unknown []awsworld.Rule
		if ruleIDs := c.Form.List("SecurityGroupRuleId"); len(ruleIDs) > 0 {
			removed, err = awsworld.Of(c.World).RevokeRuleIDs(sg.ID, egress, ruleIDs)
		} else {
			var rules []awsworld.Rule
			rules, err = ec2PermissionsParam(c)
			if err != nil {
				return nil, err
			}
			if len(rules) == 0 {
				return nil, Errf(400, "MissingParameter", "The request must contain the parameter IpPermissions or SecurityGroupRuleIds")
			}
			removed, unknown, err = awsworld.Of(c.World).RevokeRules(sg.ID, egress, rules)
		}
		if err != nil {
			return nil, ec2Error(err)
		}
		var items []*X
		for _, r := range removed {
			items = append(items, E("item", T("securityGroupRuleId", r.RuleID), T("groupId", sg.ID),
				T("isEgress", egress), T("ipProtocol", r.Protocol), TO("cidrIpv4", ec2First(r.CIDRs)),
				TO("referencedGroupId", ec2First(r.Groups))))
		}
		c.Param("rules", ec2DescribeRules(removed))
		return []*X{T("return", true), L("revokedSecurityGroupRuleSet", items),
			ec2NilIfEmpty(ec2PermissionsXML(c, "unknownIpPermissionSet", unknown))}, nil
	}
}

func ec2NilIfEmpty(x *X) *X {
	if len(x.Kids) == 0 {
		return nil
	}
	return x
}

func ec2First(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func ec2DescribeRules(rules []awsworld.Rule) string {
	var parts []string
	for _, r := range rules {
		peer := strings.Join(append(append([]string(nil), r.CIDRs...), r.Groups...), ",")
		parts = append(parts, fmt.Sprintf("%s:%d-%d:%s", r.Protocol, r.FromPort, r.ToPort, peer))
	}
	return strings.Join(parts, " ")
}

// ---- network interfaces ---------------------------------------------------

func ec2LookupENI(c *Call, id string) (*world.ENI, error) {
	eni, ok := c.World.ENIs.Get(id)
	if !ok || eni.Account != c.Account() || eni.Region != c.Region {
		return nil, Errf(400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
	}
	c.Touch("AWS::EC2::NetworkInterface", id)
	return eni, nil
}

func ec2EniFilter(eni *world.ENI) ec2FilterField {
	return func(name string) ([]string, bool) {
		if v, ok := ec2TagFilter(name, eni.Tags); ok {
			return v, true
		}
		switch name {
		case "network-interface-id":
			return []string{eni.ID}, true
		case "attachment.instance-id":
			return []string{eni.Instance}, true
		case "attachment.attachment-id":
			return []string{eni.AttachmentID}, true
		case "group-id":
			return eni.Groups, true
		case "vpc-id":
			return []string{eni.VPC}, true
		case "subnet-id":
			return []string{eni.Subnet}, true
		case "status":
			return []string{eni.Status}, true
		case "private-ip-address", "addresses.private-ip-address":
			return []string{eni.PrivateIP}, true
		case "association.public-ip":
			return []string{eni.PublicIP}, true
		}
		return nil, false
	}
}

func ec2EniXML(c *Call, eni *world.ENI) *X {
	var attach *X
	if eni.Instance != "" {
		var at any = c.Now
		if inst := c.World.Instances.Lookup(eni.Instance); inst != nil {
			at = inst.LaunchTime
		}
		attach = E("attachment", T("attachmentId", eni.AttachmentID), T("instanceId", eni.Instance),
			T("instanceOwnerId", eni.Account), T("deviceIndex", eni.DeviceIndex), T("status", "attached"),
			T("attachTime", at), T("deleteOnTermination", eni.DeleteOnTermination))
	}
	return E("item", T("networkInterfaceId", eni.ID), T("subnetId", eni.Subnet), T("vpcId", eni.VPC),
		T("availabilityZone", eni.AZ), T("description", eni.Description), T("ownerId", eni.Account),
		T("requesterManaged", false), T("status", eni.Status), T("macAddress", eni.MAC),
		T("privateIpAddress", eni.PrivateIP), T("privateDnsName", ec2PrivateDNS(eni.PrivateIP)),
		T("sourceDestCheck", true), L("groupSet", ec2GroupSetItems(c.World, eni.Groups)), attach,
		ec2PublicAssocXML(eni.PublicIP, eni.Account), T("interfaceType", "interface"), ec2TagSetXML(eni.Tags))
}

func ec2DescribeNetworkInterfaces(c *Call) (any, error) {
	ids := c.Form.List("NetworkInterfaceId")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2EniFilter(&world.ENI{})); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := ec2LookupENI(c, id); err != nil {
			return nil, err
		}
	}
	var matched []*world.ENI
	for _, id := range c.World.ENIs.Keys() {
		eni := c.World.ENIs.Lookup(id)
		if eni.Account != c.Account() || eni.Region != c.Region {
			continue
		}
		if len(ids) > 0 && !ec2ContainsString(ids, id) {
			continue
		}
		ok, err := ec2MatchFilters(filters, ec2EniFilter(eni))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, eni)
		}
	}
	return ec2Page(c, "networkInterfaceSet", matched, 1000, func(eni *world.ENI) *X {
		return ec2EniXML(c, eni)
	})
}

// ec2ModifyNetworkInterfaceAttribute changes an interface's security groups
// (re-evaluating its flows), its attachment's DeleteOnTermination or its
// description.
func ec2ModifyNetworkInterfaceAttribute(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "NetworkInterfaceId", "NetworkInterfaceId")
	if err != nil {
		return nil, err
	}
	eni, err := ec2LookupENI(c, id)
	if err != nil {
		return nil, err
	}
	changed := false
	if groups := c.Form.List("SecurityGroupId"); len(groups) > 0 {
		for _, g := range groups {
			if _, err := ec2LookupGroup(c, g); err != nil {
				return nil, err
			}
		}
		if err := awsworld.Of(c.World).SetENIGroups(id, groups); err != nil {
			return nil, ec2Error(err)
		}
		c.Param("groups", strings.Join(groups, ","))
		changed = true
	}
	if del, ok := c.Form.Bool("Attachment.DeleteOnTermination"); ok {
		if att := c.Form.Get("Attachment.AttachmentId"); att == "" || att != eni.AttachmentID {
			return nil, Errf(400, "InvalidAttachmentID.NotFound", "The attachment ID '%s' does not exist", att)
		}
		eni.DeleteOnTermination = del
		c.Param("deleteOnTermination", strconv.FormatBool(del))
		changed = true
	}
	if d := c.Form.Get("Description.Value"); c.Form.Has("Description.Value") {
		eni.Description = d
		changed = true
	}
	if _, ok := c.Form.Bool("SourceDestCheck.Value"); ok {
		changed = true
	}
	if !changed {
		return nil, Errf(400, "MissingParameter", "The request must contain exactly one attribute to modify")
	}
	return []*X{T("return", true)}, nil
}

// ---- addresses ---------------------------------------------------------------

func ec2AddressFilter(a *awsworld.Address) ec2FilterField {
	return func(name string) ([]string, bool) {
		switch name {
		case "instance-id":
			return []string{a.Instance}, true
		case "public-ip":
			return []string{a.PublicIP}, true
		case "allocation-id":
			return []string{a.AllocationID}, true
		case "association-id":
			return []string{a.AssociationID}, true
		case "network-interface-id":
			return []string{a.ENI}, true
		case "private-ip-address":
			return []string{a.PrivateIP}, true
		case "domain":
			return []string{"vpc"}, true
		}
		return nil, false
	}
}

func ec2DescribeAddresses(c *Call) (any, error) {
	ips := c.Form.List("PublicIp")
	allocs := c.Form.List("AllocationId")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2AddressFilter(&awsworld.Address{})); err != nil {
		return nil, err
	}
	var items []*X
	seenIP, seenAlloc := map[string]bool{}, map[string]bool{}
	for _, id := range awsworld.Of(c.World).Addresses.Keys() {
		a := awsworld.Of(c.World).Addresses.Lookup(id)
		if a.Account != c.Account() || a.Region != c.Region {
			continue
		}
		if (len(ips) > 0 && !ec2ContainsString(ips, a.PublicIP)) || (len(allocs) > 0 && !ec2ContainsString(allocs, a.AllocationID)) {
			continue
		}
		seenIP[a.PublicIP], seenAlloc[a.AllocationID] = true, true
		ok, err := ec2MatchFilters(filters, ec2AddressFilter(a))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		items = append(items, E("item", T("publicIp", a.PublicIP), T("allocationId", a.AllocationID), T("domain", "vpc"),
			TO("instanceId", a.Instance), TO("associationId", a.AssociationID), TO("networkInterfaceId", a.ENI),
			TO("networkInterfaceOwnerId", ec2OwnerIf(a.ENI, a.Account)), TO("privateIpAddress", a.PrivateIP),
			T("publicIpv4Pool", "amazon"), T("networkBorderGroup", a.Region)))
	}
	for _, ip := range ips {
		if !seenIP[ip] {
			return nil, Errf(400, "InvalidAddress.NotFound", "Address '%s' not found.", ip)
		}
	}
	for _, al := range allocs {
		if !seenAlloc[al] {
			return nil, Errf(400, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", al)
		}
	}
	return []*X{L("addressesSet", items)}, nil
}

func ec2OwnerIf(eni, account string) string {
	if eni == "" {
		return ""
	}
	return account
}

// ec2DisassociateAddress detaches an Elastic IP; the instance's internet
// connections end with it.
func ec2DisassociateAddress(c *Call) (any, error) {
	key := c.Form.Get("AssociationId")
	if key == "" {
		key = c.Form.Get("PublicIp")
	}
	if key == "" {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter AssociationId or PublicIp")
	}
	var target *awsworld.Address
	for _, id := range awsworld.Of(c.World).Addresses.Keys() {
		a := awsworld.Of(c.World).Addresses.Lookup(id)
		if a.AssociationID != "" && (a.AssociationID == key || a.PublicIP == key) && a.Account == c.Account() && a.Region == c.Region {
			target = a
			break
		}
	}
	if target == nil {
		if strings.HasPrefix(key, "eipassoc-") {
			return nil, Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", key)
		}
		return nil, Errf(400, "InvalidAddress.NotFound", "Address '%s' not found or not associated.", key)
	}
	if target.Instance != "" {
		c.Touch("AWS::EC2::Instance", target.Instance)
	}
	c.Param("publicIp", target.PublicIP)
	if _, err := awsworld.Of(c.World).DisassociateAddress(target.AssociationID); err != nil {
		return nil, ec2Error(err)
	}
	return []*X{T("return", true)}, nil
}
