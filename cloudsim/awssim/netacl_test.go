package awssim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// TestBehaviourConnTrackKnobAndNetworkACL plays the two-step isolation
// (all-open group, then a no-rule group, per interface) through the SDK
// under every value of the connection-tracking knob, then cuts whatever is
// left with a network ACL: a new ACL (deny-all until entries are added)
// replaces the subnet's association, and the stateless deny ends the flow
// under every value.
func TestBehaviourConnTrackKnobAndNetworkACL(t *testing.T) {
	for _, tc := range []struct {
		mode          string
		twoStepCutsIt bool
	}{
		{world.ConnTrackInstant, true},
		{world.ConnTrackNewFlowsOnly, false},
		{world.ConnTrackNever, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := newEC2Fixture(t)
			ctx := context.Background()
			miner := f.launch(t, awsworld.LaunchSpec{})
			var pool *world.Flow
			f.locked(func(w *world.World) {
				k := w.KnobsLocked()
				k.ConnTrack = tc.mode
				require.NoError(t, w.SetKnobsLocked(k))
				var err error
				pool, err = awsworld.Of(w).OpenFlow(miner.ID, world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333})
				require.NoError(t, err)
			})
			up := func() (b bool) {
				f.locked(func(*world.World) { b = pool.Active() })
				return b
			}
			allOut := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
			mkGroup := func(name string) string {
				out, err := f.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
					Description: aws.String(name), VpcId: aws.String(f.vpc)})
				require.NoError(t, err)
				return aws.ToString(out.GroupId)
			}
			allOpen, noRule := mkGroup("all-open"), mkGroup("no-rule")
			_, err := f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(allOpen), IpPermissions: allOut})
			require.NoError(t, err)
			_, err = f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(noRule), IpPermissions: allOut})
			require.NoError(t, err)
			for _, g := range []string{allOpen, noRule} {
				_, err := f.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
					NetworkInterfaceId: aws.String(miner.ENIs[0]), Groups: []string{g}})
				require.NoError(t, err)
			}
			require.Equal(t, !tc.twoStepCutsIt, up(), "after the two-step isolation")

			// The subnet's default ACL, with its association.
			acls, err := f.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
				ec2Filter("association.subnet-id", f.subnet)}})
			require.NoError(t, err)
			require.Len(t, acls.NetworkAcls, 1)
			def := acls.NetworkAcls[0]
			require.True(t, aws.ToBool(def.IsDefault))
			require.Len(t, def.Entries, 4, "allow-all rule 100 and the * deny, each way")
			require.Equal(t, int32(100), aws.ToInt32(def.Entries[0].RuleNumber))
			require.Equal(t, ec2types.RuleActionAllow, def.Entries[0].RuleAction)
			require.Len(t, def.Associations, 1)

			quarantine, err := f.ec2.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(f.vpc)})
			require.NoError(t, err)
			qid := quarantine.NetworkAcl.NetworkAclId
			require.False(t, aws.ToBool(quarantine.NetworkAcl.IsDefault))
			// Allow the forensics range in, both ways (stateless ACLs need
			// the return traffic too); everything else stays denied.
			for _, egress := range []bool{false, true} {
				_, err = f.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: qid, RuleNumber: aws.Int32(100),
					Protocol: aws.String("6"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(egress),
					CidrBlock: aws.String("10.99.0.0/16"), PortRange: &ec2types.PortRange{From: aws.Int32(0), To: aws.Int32(65535)}})
				require.NoError(t, err)
			}
			_, err = f.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: qid, RuleNumber: aws.Int32(100),
				Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(true), CidrBlock: aws.String("0.0.0.0/0")})
			require.Equal(t, "NetworkAclEntryAlreadyExists", ec2ErrCode(err))
			require.Equal(t, !tc.twoStepCutsIt, up(), "an ACL not yet associated changes nothing")

			rep, err := f.ec2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{
				AssociationId: def.Associations[0].NetworkAclAssociationId, NetworkAclId: qid})
			require.NoError(t, err)
			require.NotEmpty(t, aws.ToString(rep.NewAssociationId))
			require.False(t, up(), "the stateless ACL cuts the flow whatever connection tracking did")

			got, err := f.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{aws.ToString(qid)}})
			require.NoError(t, err)
			require.Len(t, got.NetworkAcls[0].Associations, 1)
			require.Equal(t, f.subnet, aws.ToString(got.NetworkAcls[0].Associations[0].SubnetId))
			require.Equal(t, "6", aws.ToString(got.NetworkAcls[0].Entries[0].Protocol))

			_, err = f.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{"acl-0000000000000000a"}})
			require.Equal(t, "InvalidNetworkAclID.NotFound", ec2ErrCode(err))
		})
	}
}
