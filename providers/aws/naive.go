package aws

import (
	"context"
	"encoding/json"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/firedrill-ir/firedrill/providers"
)

// IsolateNaively is the seed document's isolation, kept on purpose so a
// drill can show why it fails: one ModifyInstanceAttribute(Groups=[no-rule
// group]) for the whole instance. Security groups are stateful, so an
// established (tracked) connection survives the swap, and the
// instance-level call fails outright on multi-interface instances.
// groupName defaults to quarantine-<vpc>.
func (p *Provider) IsolateNaively(ctx context.Context, instanceID, groupName string) (*providers.IsolationResult, error) {
	inst, _, err := p.describeRaw(ctx, "IsolateNaively", instanceID)
	if err != nil {
		return nil, err
	}
	vpc := awssdk.ToString(inst.VpcId)
	if vpc == "" {
		return nil, opErr("IsolateNaively", instanceID, providers.ErrUnsupported, "", "the instance is not in a VPC")
	}
	if groupName == "" {
		groupName = "quarantine-" + vpc
	}
	found, err := p.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("group-name"), Values: []string{groupName}}, {Name: awssdk.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return nil, wrapErr("ec2:DescribeSecurityGroups", groupName, err)
	}
	group := ""
	for _, g := range found.SecurityGroups {
		if awssdk.ToString(g.GroupName) == groupName && awssdk.ToString(g.VpcId) == vpc {
			group = awssdk.ToString(g.GroupId)
		}
	}
	if group == "" {
		created, err := p.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String(groupName),
			Description: awssdk.String("quarantine: deny all (naive single swap)"), VpcId: awssdk.String(vpc)})
		if err != nil {
			return nil, wrapErr("ec2:CreateSecurityGroup", groupName, err)
		}
		group = awssdk.ToString(created.GroupId)
		if _, err := p.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: created.GroupId,
			IpPermissions: []ec2types.IpPermission{{IpProtocol: awssdk.String("-1"),
				IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}}); err != nil {
			return nil, wrapErr("ec2:RevokeSecurityGroupEgress", group, err)
		}
	}
	res := &providers.IsolationResult{ForensicGroup: group}
	for _, n := range inst.NetworkInterfaces {
		var prev []string
		for _, g := range n.Groups {
			prev = append(prev, awssdk.ToString(g.GroupId))
		}
		res.NICs = append(res.NICs, providers.NICIsolation{ID: awssdk.ToString(n.NetworkInterfaceId), PreviousGroups: prev})
	}
	if _, err := p.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: awssdk.String(instanceID),
		Groups: []string{group}}); err != nil {
		return nil, wrapErr("ec2:ModifyInstanceAttribute", instanceID, err)
	}
	p.log.Info("instance isolated naively (single swap: tracked flows survive)", "instance", instanceID, "group", group)
	return res, nil
}

// RemoveInstanceIdentity disassociates the instance profile and nothing
// else: credentials already issued from it keep working for hours.
func (p *Provider) RemoveInstanceIdentity(ctx context.Context, instanceID string) (*providers.IdentityDetachment, error) {
	return p.DetachInstanceIdentity(ctx, instanceID, providers.DetachRemove, "")
}

// NaiveDenyPolicyName is the inline policy DenyOperations writes.
const NaiveDenyPolicyName = "firedrill-deny-observed"

// DenyOperations puts an inline policy on the role denying exactly the
// operations given, for every session: what a team writes after reading
// the finding. Whatever else the role may do (iam:CreateAccessKey through
// a forgotten policy, s3:*) still works for the stolen session.
func (p *Provider) DenyOperations(ctx context.Context, principal string, operations []string) error {
	role := principal
	if i := strings.LastIndex(role, "/"); i >= 0 {
		role = role[i+1:]
	}
	if role == "" || len(operations) == 0 {
		return opErr("DenyOperations", principal, providers.ErrInvalid, "", "a role and at least one operation are needed")
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Deny", "Action": operations, "Resource": "*"}}})
	if err != nil {
		return opErr("DenyOperations", principal, providers.ErrInvalid, "", err.Error())
	}
	if _, err := p.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(role),
		PolicyName: awssdk.String(NaiveDenyPolicyName), PolicyDocument: awssdk.String(string(doc))}); err != nil {
		return wrapErr("iam:PutRolePolicy", role, err)
	}
	p.log.Info("naive deny of the observed operations (everything else the role may do still works)", "role", role,
		"operations", operations)
	return nil
}
