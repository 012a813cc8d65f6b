package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firedrill-ir/firedrill/providers"
)

const (
	allIPv4        = "0.0.0.0/0"
	transitionName = "firedrill-transition-"
	isolationName  = "firedrill-isolation-"
)

// Isolate performs the two-step per-ENI isolation (ir-semantics §1.1, §3.1):
// security groups are stateful, so swapping straight to a no-rule group
// leaves tracked connections (a miner's pool session, a reverse shell) up.
// Every ENI is first moved to an all-open "transition" group, under which
// flows are untracked, and then to the no-rule "isolation" group, which cuts
// the now-untracked flows at once. Groups are per VPC and reused by name.
// Per-ENI calls (not ModifyInstanceAttribute) also work on multi-ENI
// instances, where the instance-level call fails.
func (n *Provider) IsolateInstance(ctx context.Context, instanceID string, opts providers.IsolateOptions) (*providers.IsolationResult, error) {
	p := n
	for _, c := range opts.AllowCIDRs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			return nil, opErr("Isolate", instanceID, providers.ErrInvalid, "", fmt.Sprintf("AllowCIDRs: %q is not a CIDR", c))
		}
	}
	raw, _, err := p.describeRaw(ctx, "Isolate", instanceID)
	if err != nil {
		return nil, err
	}
	vpc := awssdk.ToString(raw.VpcId)
	if vpc == "" {
		return nil, opErr("Isolate", instanceID, providers.ErrUnsupported, "", "the instance is not in a VPC")
	}
	tags := map[string]string{"firedrill:purpose": "isolation"}
	if opts.CaseID != "" {
		tags["firedrill:case"] = opts.CaseID
	}
	transition, err := p.ensureGroup(ctx, transitionName+vpc, vpc,
		"firedrill: all-open transition group; flows under it are untracked so the isolation swap cuts them", tags, transitionRules())
	if err != nil {
		return nil, err
	}
	allow := slices.Sorted(slices.Values(opts.AllowCIDRs))
	isoName := isolationName + vpc
	if len(allow) > 0 {
		h := sha256.Sum256([]byte(strings.Join(allow, ",")))
		isoName += "-" + hex.EncodeToString(h[:4])
	}
	isolation, err := p.ensureGroup(ctx, isoName, vpc,
		"firedrill: isolation group; no traffic except from the examiner CIDRs", tags, isolationRules(allow))
	if err != nil {
		return nil, err
	}

	res := &providers.IsolationResult{ForensicGroup: isolation, TransitionGroup: transition}
	enis := slices.Clone(raw.NetworkInterfaces)
	sort.SliceStable(enis, func(i, j int) bool { return deviceIndex(enis[i]) < deviceIndex(enis[j]) })
	for _, e := range enis {
		id := awssdk.ToString(e.NetworkInterfaceId)
		var prev []string
		for _, g := range e.Groups {
			prev = append(prev, awssdk.ToString(g.GroupId))
		}
		res.NICs = append(res.NICs, providers.NICIsolation{ID: id, PreviousGroups: prev})
		if len(prev) == 1 && prev[0] == isolation {
			continue // already isolated (a resumed playbook)
		}
		for _, g := range []string{transition, isolation} {
			if _, err := p.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: awssdk.String(id), Groups: []string{g}}); err != nil {
				return res, wrapErr("ec2:ModifyNetworkInterfaceAttribute", id+" -> "+g, err)
			}
		}
		p.log.Info("interface isolated", "instance", instanceID, "eni", id, "previous_groups", prev, "group", isolation)
	}

	if opts.DetachPublicIPs {
		out, err := p.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{
			Filters: []ec2types.Filter{{Name: awssdk.String("instance-id"), Values: []string{instanceID}}}})
		if err != nil {
			return res, wrapErr("ec2:DescribeAddresses", instanceID, err)
		}
		for _, a := range out.Addresses {
			if awssdk.ToString(a.InstanceId) != instanceID || a.AssociationId == nil {
				continue
			}
			if _, err := p.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: a.AssociationId}); err != nil {
				return res, wrapErr("ec2:DisassociateAddress", awssdk.ToString(a.PublicIp), err)
			}
			res.DetachedAddresses = append(res.DetachedAddresses, awssdk.ToString(a.PublicIp))
		}
	}
	return res, nil
}

// groupRules is the desired rule set of a group: what must be present and
// whether anything else is removed.
type groupRules struct {
	ingress, egress []ec2types.IpPermission
	// exact: revoke every rule not in the desired set.
	exact bool
}

func allTraffic(cidr string) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: awssdk.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String(cidr)}}}
}

// transitionRules: all traffic both ways from/to anywhere, the condition
// under which EC2 stops tracking TCP/UDP flows.
func transitionRules() groupRules {
	return groupRules{ingress: []ec2types.IpPermission{allTraffic(allIPv4)}, egress: []ec2types.IpPermission{allTraffic(allIPv4)}}
}

// isolationRules: no egress at all (new groups get a default allow-all
// egress that must be revoked), ingress only from the allowed CIDRs.
func isolationRules(allow []string) groupRules {
	r := groupRules{exact: true}
	for _, c := range allow {
		r.ingress = append(r.ingress, allTraffic(c))
	}
	return r
}

// ensureGroup finds the named group in the VPC or creates it, then brings
// its rules to the desired set. Reuse keeps one pair of groups per VPC
// across cases and makes a resumed playbook idempotent.
func (p *Provider) ensureGroup(ctx context.Context, name, vpc, desc string, tags map[string]string, want groupRules) (string, error) {
	sg, err := p.findGroup(ctx, name, vpc)
	if err != nil {
		return "", err
	}
	if sg == nil {
		out, err := p.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: awssdk.String(name), Description: awssdk.String(desc), VpcId: awssdk.String(vpc),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: toEC2Tags(tags)}},
		})
		switch {
		case err == nil:
			// EC2 is eventually consistent, so rather than describing the new
			// group, start from the documented state of a new group: no
			// ingress and one allow-all egress rule.
			sg = &ec2types.SecurityGroup{GroupId: out.GroupId, GroupName: awssdk.String(name), VpcId: awssdk.String(vpc),
				IpPermissionsEgress: []ec2types.IpPermission{allTraffic(allIPv4)}}
			p.log.Info("security group created", "group", awssdk.ToString(out.GroupId), "name", name, "vpc", vpc)
		case isKind(err, providers.ErrConflict):
			// Created concurrently by another worker: use theirs.
			if sg, err = p.findGroup(ctx, name, vpc); err != nil {
				return "", err
			}
			if sg == nil {
				return "", opErr("ec2:CreateSecurityGroup", name, providers.ErrConflict, "", "group exists but cannot be found")
			}
		default:
			return "", wrapErr("ec2:CreateSecurityGroup", name, err)
		}
	}
	id := awssdk.ToString(sg.GroupId)
	if err := p.reconcile(ctx, id, false, sg.IpPermissions, want.ingress, want.exact); err != nil {
		return "", err
	}
	if err := p.reconcile(ctx, id, true, sg.IpPermissionsEgress, want.egress, want.exact); err != nil {
		return "", err
	}
	return id, nil
}

// findGroup looks the group up by name and VPC. The filters are checked
// again locally so a server that ignores them cannot hand back a wrong group.
func (p *Provider) findGroup(ctx context.Context, name, vpc string) (*ec2types.SecurityGroup, error) {
	out, err := p.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("group-name"), Values: []string{name}},
		{Name: awssdk.String("vpc-id"), Values: []string{vpc}},
	}})
	if err != nil {
		return nil, wrapErr("ec2:DescribeSecurityGroups", name, err)
	}
	for i := range out.SecurityGroups {
		g := &out.SecurityGroups[i]
		if awssdk.ToString(g.GroupName) == name && awssdk.ToString(g.VpcId) == vpc {
			return g, nil
		}
	}
	return nil, nil
}

// ruleKeys flattens permissions to "proto|from|to|cidr" keys, one per range.
func ruleKeys(perms []ec2types.IpPermission) map[string]ec2types.IpPermission {
	m := map[string]ec2types.IpPermission{}
	for _, perm := range perms {
		proto := awssdk.ToString(perm.IpProtocol)
		from, to := awssdk.ToInt32(perm.FromPort), awssdk.ToInt32(perm.ToPort)
		if proto == "-1" {
			from, to = 0, 0
		}
		single := func(extra func(*ec2types.IpPermission)) ec2types.IpPermission {
			q := ec2types.IpPermission{IpProtocol: perm.IpProtocol, FromPort: perm.FromPort, ToPort: perm.ToPort}
			extra(&q)
			return q
		}
		for _, r := range perm.IpRanges {
			m[fmt.Sprintf("%s|%d|%d|%s", proto, from, to, awssdk.ToString(r.CidrIp))] =
				single(func(q *ec2types.IpPermission) { q.IpRanges = []ec2types.IpRange{{CidrIp: r.CidrIp}} })
		}
		for _, r := range perm.Ipv6Ranges {
			m[fmt.Sprintf("%s|%d|%d|%s", proto, from, to, awssdk.ToString(r.CidrIpv6))] =
				single(func(q *ec2types.IpPermission) { q.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: r.CidrIpv6}} })
		}
		for _, g := range perm.UserIdGroupPairs {
			m[fmt.Sprintf("%s|%d|%d|sg:%s", proto, from, to, awssdk.ToString(g.GroupId))] =
				single(func(q *ec2types.IpPermission) { q.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: g.GroupId}} })
		}
		for _, pl := range perm.PrefixListIds {
			m[fmt.Sprintf("%s|%d|%d|pl:%s", proto, from, to, awssdk.ToString(pl.PrefixListId))] =
				single(func(q *ec2types.IpPermission) {
					q.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: pl.PrefixListId}}
				})
		}
	}
	return m
}

// reconcile authorizes missing rules and, when exact, revokes extra ones, in
// a deterministic order.
func (p *Provider) reconcile(ctx context.Context, groupID string, egress bool, have, want []ec2types.IpPermission, exact bool) error {
	haveK, wantK := ruleKeys(have), ruleKeys(want)
	var add, drop []ec2types.IpPermission
	for _, k := range slices.Sorted(maps.Keys(wantK)) {
		if _, ok := haveK[k]; !ok {
			add = append(add, wantK[k])
		}
	}
	if exact {
		for _, k := range slices.Sorted(maps.Keys(haveK)) {
			if _, ok := wantK[k]; !ok {
				drop = append(drop, haveK[k])
			}
		}
	}
	dir := "Ingress"
	if egress {
		dir = "Egress"
	}
	if len(drop) > 0 {
		var err error
		if egress {
			_, err = p.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: awssdk.String(groupID), IpPermissions: drop})
		} else {
			_, err = p.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(groupID), IpPermissions: drop})
		}
		if err != nil && !isKind(err, providers.ErrNotFound) {
			return wrapErr("ec2:RevokeSecurityGroup"+dir, groupID, err)
		}
	}
	if len(add) > 0 {
		var err error
		if egress {
			_, err = p.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: awssdk.String(groupID), IpPermissions: add})
		} else {
			_, err = p.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(groupID), IpPermissions: add})
		}
		// A duplicate means the rule is already there (a concurrent worker).
		if err != nil && providers.Code(wrapErr("", "", err)) != "InvalidPermission.Duplicate" {
			return wrapErr("ec2:AuthorizeSecurityGroup"+dir, groupID, err)
		}
	}
	return nil
}

// DeleteNetworkRule revokes one security-group rule, named
// "<group id>/<rule id>" (sg-…/sgr-…).
func (p *Provider) DeleteNetworkRule(ctx context.Context, id string) error {
	group, rule, ok := strings.Cut(id, "/")
	if !ok || !strings.HasPrefix(group, "sg-") || !strings.HasPrefix(rule, "sgr-") {
		return opErr("DeleteNetworkRule", id, providers.ErrInvalid, "", "expected <security group id>/<rule id> (sg-…/sgr-…)")
	}
	if _, err := p.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(group),
		SecurityGroupRuleIds: []string{rule}}); err != nil {
		return wrapErr("ec2:RevokeSecurityGroupIngress", id, err)
	}
	p.log.Info("security group rule revoked", "group", group, "rule", rule)
	return nil
}
