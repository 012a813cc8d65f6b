package responder

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firedrill-ir/firedrill/providers"
)

// sdkConfigured is implemented by providers built on aws-sdk-go-v2.
type sdkConfigured interface{ Config() awssdk.Config }

// swapSecurityGroups is the seed document's isolation, kept on purpose so a
// drill can show why it fails: one ModifyInstanceAttribute(Groups=[no-rule
// group]) for the whole instance. Security groups are stateful, so the
// miner's established (tracked) pool connection survives the swap, and the
// instance-level call fails outright on multi-interface instances. The
// neutral providers.Network deliberately offers no such call, so this action
// talks to EC2 through the AWS provider's own SDK configuration — the same
// endpoint, credentials and transport, never the simulator directly.
func swapSecurityGroups(ctx context.Context, x *StepRun) (map[string]any, error) {
	sc, ok := x.Provider().(sdkConfigured)
	if !ok || x.Provider().Cloud() != providers.CloudAWS {
		return nil, fmt.Errorf("swap_security_groups is an AWS-only demonstration action: %w", providers.ErrUnsupported)
	}
	client := ec2.NewFromConfig(sc.Config())
	vpc := x.FactString("instance", "vpc")
	if vpc == "" {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{x.Resource()}})
		if err != nil {
			return nil, fmt.Errorf("describing %s: %w", x.Resource(), err)
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				vpc = awssdk.ToString(i.VpcId)
			}
		}
		if vpc == "" {
			return nil, fmt.Errorf("%s is not in a VPC: %w", x.Resource(), providers.ErrUnsupported)
		}
	}
	name := x.String("group_name", "quarantine-"+vpc)
	found, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("group-name"), Values: []string{name}}, {Name: awssdk.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return nil, fmt.Errorf("looking up group %s: %w", name, err)
	}
	group := ""
	for _, g := range found.SecurityGroups {
		if awssdk.ToString(g.GroupName) == name && awssdk.ToString(g.VpcId) == vpc {
			group = awssdk.ToString(g.GroupId)
		}
	}
	if group == "" {
		created, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String(name),
			Description: awssdk.String("quarantine: deny all (naive single swap)"), VpcId: awssdk.String(vpc)})
		if err != nil {
			return nil, fmt.Errorf("creating group %s: %w", name, err)
		}
		group = awssdk.ToString(created.GroupId)
		if _, err := client.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: created.GroupId,
			IpPermissions: []ec2types.IpPermission{{IpProtocol: awssdk.String("-1"),
				IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}}); err != nil {
			return nil, fmt.Errorf("removing the default egress of %s: %w", group, err)
		}
	}
	if _, err := client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: awssdk.String(x.Resource()),
		Groups: []string{group}}); err != nil {
		return nil, fmt.Errorf("swapping the groups of %s to %s: %w", x.Resource(), group, err)
	}
	x.SetFact("isolation", map[string]any{"forensic_group": group, "transition_group": ""})
	return map[string]any{"group": group, "note": "single swap: tracked connections survive"}, nil
}
